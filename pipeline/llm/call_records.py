"""The ``LLMCall`` record of a request that got no usable answer.

Direct requests and batch lines fail in different places (an exception in the client, an
error line in a batch's output file) but must leave the same trace: ``valact status``
counts failures per stage and model from these records, whatever path the request took.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.hashing import content_id
from schemas.records import LLMCall


def failed_request_call(
    *,
    run_id: str,
    stage: str,
    item_id: str,
    provider: str,
    alias: str,
    prompt_name: str,
    prompt_hash: str,
    params: dict[str, Any],
    request_hash: str,
    attempt: int | str,
    message: str,
) -> LLMCall:
    """One error record per (run, request, attempt): a re-run adds its own, never overwrites.

    ``attempt`` is the retry number of a direct request or the batch id of a batch line.
    """
    return LLMCall(
        id=content_id("call", run_id, request_hash, attempt, "error"),
        run_id=run_id,
        stage=stage,
        item_id=item_id,
        provider=provider,
        model_alias=alias,
        served_model="",
        prompt_name=prompt_name,
        prompt_hash=prompt_hash,
        params=params,
        request_hash=request_hash,
        cached=False,
        outcome="error",
        error=message[:500],
        created_at=datetime.now(UTC),
    )
