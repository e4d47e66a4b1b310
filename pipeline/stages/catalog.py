"""The pipeline's stages, in order: the one place that order is written down.

Flows, ``valact build``, the CLI and the tests read it from here (a test checks that no
other module spells the order out again). ``STREAMED_TOGETHER`` names the model stages a
build runs side by side, so each scenario goes to generation the moment screening confirms
it (not in batch mode, where each stage is one round of batch jobs).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.context import StageContext
from pipeline.stage import Stage
from pipeline.stages.assemble import AssembleStage
from pipeline.stages.generate import GenerateStage
from pipeline.stages.publish import PublishStage
from pipeline.stages.screen import ScreenStage
from schemas.records import Scenario

if TYPE_CHECKING:  # type only: the release package pulls in pyarrow and matplotlib
    from pipeline.release.content import ValidationSource

STAGE_ORDER: tuple[str, ...] = ("collect", "screen", "generate", "assemble", "publish")
STREAMED_TOGETHER: tuple[str, ...] = ("screen", "generate")


@dataclass
class StageOptions:
    """Options a stage command passes to its stage."""

    overwrite: bool = False
    # Expert judgements for the release (the flows pass annotation's; see ReleaseOptions).
    validation: ValidationSource | None = None


def make_stage(name: str, options: StageOptions | None = None) -> Stage[Any]:
    """A fresh stage object for one run (collect has its own flow: see flows.collect)."""
    opts = options or StageOptions()
    if name == "screen":
        return ScreenStage()
    if name == "generate":
        return GenerateStage()
    if name == "assemble":
        return AssembleStage()
    if name == "publish":
        return PublishStage(opts.overwrite, opts.validation)
    raise ValueError(f"no stage object for {name!r}; stages are {', '.join(STAGE_ORDER)}")


def streamed_pair() -> tuple[ScreenStage, GenerateStage]:
    """Screening wired to generation: confirmed scenarios flow straight into generation."""
    feed: asyncio.Queue[Scenario | None] = asyncio.Queue()
    screen = ScreenStage(on_selected=feed.put_nowait)
    screen.on_finished = lambda: feed.put_nowait(None)
    return screen, GenerateStage(feed)


def streams_together(ctx: StageContext) -> bool:
    """Screen and generate run side by side unless a model of either uses the batch API."""
    aliases = [*ScreenStage().aliases(ctx), *GenerateStage().aliases(ctx)]
    return not any(ctx.config.models[a].batch for a in aliases)
