"""Stage 6, publish: the release folder of the configured version, built by ``pipeline.release``.

The stage only says where the release goes and hands the store to the release package;
``data/<table>.parquet``, figures, the dataset card and ``manifest.json`` are all made
there, the same way for a build's release and for a declared, versioned one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.context import StageContext
from pipeline.stage import Outcome, Stage, StageStats
from schemas.records import Question, Scenario

if TYPE_CHECKING:  # type only: the release package pulls in pyarrow and matplotlib
    from pipeline.release.content import ValidationSource
    from pipeline.release.folder import PublishResult


def release_dir(ctx: StageContext) -> Path:
    """``<workspace>/releases/<name>/<version>``."""
    pub = ctx.config.publish
    return ctx.workspace / "releases" / pub.name / pub.version


def publish_local(
    ctx: StageContext, overwrite: bool = False, validation: ValidationSource | None = None
) -> PublishResult:
    """Write (or confirm unchanged) the release folder for the configured version."""
    # deferred: pyarrow and matplotlib load only when a release is written, not with the stage list
    from pipeline.release.content import ReleaseOptions, build_release_files
    from pipeline.release.folder import remember_release, write_release

    content = build_release_files(ctx.store, ctx.config, ReleaseOptions(validation=validation))
    result = write_release(release_dir(ctx), content, ctx.config, overwrite)
    remember_release(ctx.store, result.path, ctx.config.publish.name, ctx.config.publish.version)
    return result


class PublishStage(Stage[None]):
    """Write the release folder: one unit, the release."""

    name = "publish"
    reads = (Question, Scenario)
    writes = ()

    def __init__(self, overwrite: bool = False, validation: ValidationSource | None = None) -> None:
        self.overwrite = overwrite
        self.validation = validation
        self.facts: dict[str, Any] = {}

    def total(self, ctx: StageContext) -> int:
        """One release."""
        return 1

    def plan(self, ctx: StageContext) -> list[None]:
        """The release is the only unit."""
        return [None]

    def run(self, ctx: StageContext, unit: None) -> Outcome:
        """Build and write the release (or confirm it is unchanged)."""
        result = publish_local(ctx, overwrite=self.overwrite, validation=self.validation)
        self.facts = {"path": str(result.path), "changed": result.changed, "counts": result.manifest.counts}
        return Outcome.done() if result.changed else Outcome("skipped")

    def finish(self, ctx: StageContext, stats: StageStats) -> None:
        """Where the release is."""
        stats.facts.update(self.facts)
