"""The ``build`` flow: every stage in order, one run id, one local model server."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import RunRef
from flows.stages import assemble_flow, collect_flow, generate_flow, publish_flow, screen_flow


@flow(name="build")
def build_flow(ref: RunRef, overwrite: bool = False) -> dict[str, Any]:
    """collect -> screen -> generate -> assemble -> publish."""
    return {
        "collect": collect_flow(ref),
        "screen": screen_flow(ref),
        "generate": generate_flow(ref),
        "assemble": assemble_flow(ref),
        "publish": publish_flow(ref, overwrite),
    }
