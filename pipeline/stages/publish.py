"""Stage 6, publish: write a release folder shaped like a Hub dataset repository.

``data/<table>.parquet`` per table (questions, scenarios, candidates, validation), PNG
figures, a ``README.md`` dataset card whose ``configs`` make
``datasets.load_dataset(folder, "questions")`` work, and ``manifest.json`` with the sha256
of every file. Versioned releases built from a declaration (``pipeline.release``) reuse
``build_release_files`` and ``write_release`` and add a diff and ``CHANGELOG.md``.
The folder is written beside its final place and renamed in, so a crash never
leaves half a release; rebuilding identical content leaves the existing release untouched.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pipeline.card import CardInputs, render_card
from pipeline.config import config_hash
from pipeline.context import StageContext
from pipeline.hashing import sha256_hex
from pipeline.invariants import as_warnings, invariant_breaks
from pipeline.prompts import load_prompt
from pipeline.release.diff import (
    CHANGELOG,
    changelog_entry,
    diff_releases,
    load_release_tables,
    updated_changelog,
)
from pipeline.release.figures import CONFUSION_FIGURE, VALUE_FIGURE, confusion_png, value_distribution_png
from pipeline.store import Store
from pipeline.tables import (
    candidates_table,
    parquet_bytes,
    questions_table,
    scenarios_table,
    validation_table,
)
from schemas.config import ProjectConfig
from schemas.manifest import FileEntry, ReleaseManifest
from schemas.records import ActionCandidate, LLMCall, Question, Scenario
from schemas.release import ReleaseDiff

MANIFEST = "manifest.json"


class ReleaseExistsError(Exception):
    """A release with this version exists and holds different content."""


class EmptyReleaseError(ValueError):
    """The workspace holds no assembled question: a release of it would be an empty dataset."""


@dataclass
class PublishResult:
    """Where the release is and whether this run changed it."""

    path: Path
    changed: bool
    manifest: ReleaseManifest


def code_version() -> str:
    """The installed valact version."""
    try:
        return version("valact")
    except PackageNotFoundError:
        return "unknown"


def release_dir(ctx: StageContext) -> Path:
    """``<workspace>/releases/<name>/<version>``."""
    pub = ctx.config.publish
    return ctx.workspace / "releases" / pub.name / pub.version


@dataclass(frozen=True)
class ReleaseOptions:
    """What a release adds beyond the config: origin, prose, and the version to diff against."""

    origin: str = "workspace"
    notes: str = ""
    correction_policy: str = ""
    previous: Path | None = None
    previous_version: str | None = None
    changelog: bool = False
    # Expert judgements (table rows, card summary), handed in by the flows: ``pipeline``
    # does not import ``annotation``. None = a release without a validation table.
    validation: ValidationSource | None = None


@dataclass
class ReleaseContent:
    """Every file of a release as bytes, plus what the manifest says about them."""

    files: dict[str, bytes]
    rows: dict[str, int]
    counts: dict[str, int]
    models: dict[str, str]
    prompts: dict[str, str]
    warnings: dict[str, int]
    diff: ReleaseDiff | None = None


ValidationSource = Callable[[Store], tuple[list[dict[str, Any]], dict[str, Any]]]


def _validation(store: Store, options: ReleaseOptions) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Expert judgements from the source the flow handed in, else none."""
    if options.validation is None:
        return [], {}
    return options.validation(store)


def _models(calls: list[LLMCall], candidates: list[ActionCandidate]) -> dict[str, str]:
    models: dict[str, str] = {}
    for call in calls:
        if call.served_model:
            models.setdefault(call.model_alias, call.served_model)
    for cand in candidates:
        models.setdefault(cand.generator, cand.served_model)
    return models


def _prompts(origin: str, candidates: list[ActionCandidate]) -> dict[str, str]:
    if origin == "workspace":
        return {name: load_prompt(name).hash for name in ("screen", "generate")}
    return {f"{origin}:{h}": h for h in sorted({c.prompt_hash for c in candidates})}


def build_release_files(store: Store, config: ProjectConfig, options: ReleaseOptions) -> ReleaseContent:
    """All files of a release from the store: tables, figures, card, changelog (no manifest)."""
    scenarios_all = {s.id: s for s in store.all(Scenario)}
    questions = store.all(Question)
    if not questions:
        raise EmptyReleaseError(
            f"nothing to release: {store.path.parent} holds no assembled questions "
            f"({len(scenarios_all)} scenarios); run `valact build` or `valact assemble` first"
        )
    scenarios = [scenarios_all[sid] for sid in sorted({q.scenario_id for q in questions})]
    used_candidates = {o.candidate_id for q in questions for o in q.options}
    candidates = [c for c in store.all(ActionCandidate) if c.id in used_candidates]
    calls = store.all(LLMCall)
    warnings = Counter(w for c in candidates for w in c.warnings)
    scrubbed: Counter[str] = Counter()
    validation_rows, validation_summary = _validation(store, options)
    region = config.publish.phone_region
    tables = {
        "questions": questions_table(questions, scenarios_all, region=region),
        "scenarios": scenarios_table(scenarios, config.publish.text_policy, scrubbed, region),
        "candidates": candidates_table(candidates, scrubbed, region),
        "validation": validation_table(validation_rows),
    }
    breaks = invariant_breaks(tables["questions"].to_pylist(), set(scenarios_all), used_candidates)
    warnings.update(as_warnings(breaks))
    files = {f"data/{name}.parquet": parquet_bytes(table) for name, table in tables.items()}
    rows = {f"data/{name}.parquet": table.num_rows for name, table in tables.items()}
    files[VALUE_FIGURE] = value_distribution_png(questions)
    files[CONFUSION_FIGURE] = confusion_png(validation_rows)
    diff = None
    if options.changelog:
        old = load_release_tables(options.previous) if options.previous is not None else {}
        diff = diff_releases(old, tables, options.previous_version, config.publish.version)
        previous_log = options.previous / CHANGELOG if options.previous is not None else None
        files[CHANGELOG] = updated_changelog(
            previous_log.read_text(encoding="utf-8") if previous_log and previous_log.is_file() else None,
            changelog_entry(diff, options.notes),
        ).encode("utf-8")
    models = _models(calls, candidates)
    prompts = _prompts(options.origin, candidates)
    card = render_card(
        CardInputs(
            config=config, questions=questions, scenarios=scenarios, candidates=candidates,
            models=models, prompts=prompts, warnings=dict(Counter(w for c in candidates for w in c.warnings)),
            scrubbed=dict(scrubbed), cost_usd=sum(c.cost_usd for c in calls), origin=options.origin,
            notes=options.notes, correction_policy=options.correction_policy,
            validation_rows=len(validation_rows), validation_summary=validation_summary, diff=diff,
            invariant_breaks={k: v for k, v in breaks.items() if v}, figures=[VALUE_FIGURE, CONFUSION_FIGURE],
        )
    )
    files["README.md"] = card.encode("utf-8")
    counts = {"scenarios": len(scenarios), "questions": len(questions), "candidates": len(candidates),
              "validation": len(validation_rows)}
    counts.update({f"scrubbed.{kind}": n for kind, n in sorted(scrubbed.items())})
    return ReleaseContent(files=files, rows=rows, counts=counts, models=models, prompts=prompts,
                          warnings=dict(sorted(warnings.items())), diff=diff)


def file_entries(files: dict[str, bytes], rows: dict[str, int]) -> list[FileEntry]:
    """Manifest entries (path, sha256, size, rows) in path order."""
    return [
        FileEntry(path=path, sha256=sha256_hex(data), bytes=len(data), rows=rows.get(path))
        for path, data in sorted(files.items())
    ]


def write_release(
    target: Path, content: ReleaseContent, config: ProjectConfig, overwrite: bool = False
) -> PublishResult:
    """Write the folder atomically, or leave it alone when it already holds the same files."""
    entries = file_entries(content.files, content.rows)
    existing = read_manifest(target)
    pub = config.publish
    if existing is not None and existing.files == entries:
        return PublishResult(target, changed=False, manifest=existing)
    if existing is not None and not overwrite:
        raise ReleaseExistsError(
            f"release {pub.name} {pub.version} already exists at {target} "
            "with different content; bump the version or pass --overwrite"
        )
    manifest = ReleaseManifest(
        name=pub.name, version=pub.version, text_policy=pub.text_policy,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"), code_version=code_version(),
        config_hash=config_hash(config), profile=config.profile,
        counts=content.counts, models=content.models, prompts=content.prompts,
        files=entries, warnings=content.warnings,
    )
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for path, data in content.files.items():
        out = staging / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return PublishResult(target, changed=True, manifest=manifest)


def publish_local(
    ctx: StageContext, overwrite: bool = False, validation: ValidationSource | None = None
) -> PublishResult:
    """Write (or confirm unchanged) the release folder for the configured version."""
    content = build_release_files(ctx.store, ctx.config, ReleaseOptions(validation=validation))
    result = write_release(release_dir(ctx), content, ctx.config, overwrite)
    _remember(ctx, result.path)
    return result


def _remember(ctx: StageContext, target: Path) -> None:
    pub = ctx.config.publish
    ctx.store.set_meta("last_release", {"path": str(target), "version": pub.version, "name": pub.name})


def read_manifest(folder: Path) -> ReleaseManifest | None:
    """The manifest of a release folder, or None when there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    return ReleaseManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
