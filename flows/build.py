"""The ``build`` flow: every stage in catalog order, one run id, one local model server."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunRef, context
from flows.stages import FLOWS, streamed_flow
from pipeline.stages.catalog import STAGE_ORDER, STREAMED_TOGETHER, streams_together


@flow(name="build")
def build_flow(ref: RunRef, overwrite: bool = False) -> dict[str, Any]:
    """Run the stages in order; screen and generate stream into each other unless batching."""
    results: dict[str, Any] = {}
    together = streams_together(context(ref))
    for name in STAGE_ORDER:
        if name in results:
            continue
        if together and name == STREAMED_TOGETHER[0]:
            results.update(streamed_flow(ref))
        elif name == "publish":
            results[name] = FLOWS[name](ref, overwrite)
        else:
            results[name] = FLOWS[name](ref)
    return results
