"""The one place an ``LLMCall`` record is built.

Direct requests, cache hits, invalid answers and batch lines all end up here, so
``valact status``, the cost meter and the run artifacts read one shape whatever path a
request took. ``CallOrigin`` carries what is the same for every record of one request (who
asked, with which prompt); the functions add what the outcome says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.hashing import content_id
from pipeline.llm.types import ChatResponse
from schemas.records import LLMCall


@dataclass(frozen=True)
class CallOrigin:
    """Who sent a request and what it was: shared by all of that request's records."""

    run_id: str
    stage: str
    item_id: str
    provider: str
    alias: str
    prompt_name: str
    prompt_hash: str
    params: dict[str, Any]
    request_hash: str

    @classmethod
    def from_meta(cls, meta: dict[str, str], *, provider: str, alias: str, params: dict[str, Any],
                  request_hash: str) -> CallOrigin:
        """The origin of a batch line, from the metadata stored with its job."""
        return cls(
            run_id=meta.get("run_id", ""), stage=meta.get("stage", ""), item_id=meta.get("item_id", ""),
            provider=provider, alias=alias, prompt_name=meta.get("prompt_name", ""),
            prompt_hash=meta.get("prompt_hash", ""), params=params, request_hash=request_hash,
        )

    @property
    def answered_id(self) -> str:
        """The id of this request's answered record for this item in this run (a re-run gets its
        own). Per item: two items asking the identical question (reposts of one text) each get
        a record, so the one that paid is never overwritten by the one served its answer."""
        return content_id("call", self.run_id, self.request_hash, self.item_id)


def answered_call(
    origin: CallOrigin,
    response: ChatResponse,
    *,
    cached: bool,
    cost_usd: float,
    outcome: str = "ok",
    error: str | None = None,
) -> LLMCall:
    """The record of a request that got an answer (paid, or served from the cache)."""
    return _record(
        origin, origin.answered_id, served_model=response.served_model, cached=cached,
        tokens_in=response.tokens_in, tokens_out=response.tokens_out,
        latency_s=0.0 if cached else response.latency_s, cost_usd=0.0 if cached else cost_usd,
        finish_reason=response.finish_reason, outcome=outcome, error=error,
    )


def failed_request_call(origin: CallOrigin, attempt: int | str, message: str) -> LLMCall:
    """One error record per (run, request, attempt): a re-run adds its own, never overwrites.

    ``attempt`` is the retry number of a direct request or the batch id of a batch line.
    """
    return _record(
        origin, content_id("call", origin.run_id, origin.request_hash, attempt, "error"),
        served_model="", cached=False, outcome="error", error=message,
    )


def _record(origin: CallOrigin, record_id: str, *, served_model: str, cached: bool, outcome: str,
            error: str | None, tokens_in: int = 0, tokens_out: int = 0, latency_s: float = 0.0,
            cost_usd: float = 0.0, finish_reason: str | None = None) -> LLMCall:
    return LLMCall(
        id=record_id, run_id=origin.run_id, stage=origin.stage, item_id=origin.item_id,
        provider=origin.provider, model_alias=origin.alias, served_model=served_model,
        prompt_name=origin.prompt_name, prompt_hash=origin.prompt_hash, params=origin.params,
        request_hash=origin.request_hash, cached=cached, tokens_in=tokens_in, tokens_out=tokens_out,
        latency_s=latency_s, cost_usd=cost_usd, finish_reason=finish_reason,
        outcome=outcome,  # type: ignore[arg-type]
        error=error[:500] if error is not None else None, created_at=datetime.now(UTC),
    )
