"""Structured LLM calls that never fail silently.

One call = cache lookup, else a provider request with retries and backoff; then parse and
check the answer. Errors found by the checks trigger a repair turn that shows the model what
was wrong; if the answer is still invalid after the allowed repairs the caller gets
``InvalidOutputError`` (and records the item as failed): never an empty row. Every request,
paid or served from cache, becomes an ``LLMCall`` record.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pipeline.hashing import content_id
from pipeline.llm.cache import ResponseCache, request_key
from pipeline.llm.call_records import failed_request_call
from pipeline.llm.errors import RateLimitedError
from pipeline.llm.pricing import call_cost, estimate_tokens
from pipeline.llm.registry import ModelRegistry
from pipeline.llm.types import ChatRequest, ChatResponse, RetryableError
from pipeline.prompts import Prompt
from pipeline.store import Store
from schemas.config import ModelConfig, Severity
from schemas.records import LLMCall

T = TypeVar("T")
V = TypeVar("V")

# Issues that say the answer is unusable as text (cut off, blocked, not JSON) rather than wrong.
FORMAT_RULES = frozenset({"truncated", "content_filter", "invalid_json"})
# 429s for one request before giving up on it (the item is kept for the next run).
MAX_THROTTLES = 60


@dataclass(frozen=True)
class Issue:
    """One problem found in a model's answer."""

    rule: str
    message: str
    severity: Severity = "error"


@dataclass(frozen=True)
class OutputSpec(Generic[T]):
    """What a task expects back: the JSON schema, how to parse it, how to check it."""

    name: str
    schema: dict[str, Any]
    parse: Callable[[Any], T]
    check: Callable[[T], list[Issue]] = field(default=lambda _value: [])


@dataclass(frozen=True)
class StructuredResult(Generic[T]):
    """A validated answer with the warnings that did not block it."""

    value: T
    served_model: str
    warnings: list[Issue]


class InvalidOutputError(Exception):
    """The model's answer stayed invalid after every allowed repair."""

    def __init__(self, alias: str, issues: list[Issue]) -> None:
        super().__init__(f"{alias}: invalid output: " + "; ".join(i.message for i in issues))
        self.issues = issues


class LLMClient:
    """Makes structured calls for one stage of one run."""

    def __init__(
        self,
        registry: ModelRegistry,
        cache: ResponseCache,
        store: Store,
        run_id: str,
        stage: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.registry = registry
        self.cache = cache
        self.store = store
        self.run_id = run_id
        self.stage = stage
        self._sleep = sleep

    def structured(
        self,
        alias: str,
        prompt: Prompt,
        variables: dict[str, str],
        spec: OutputSpec[T],
        item_id: str,
        repair_attempts: int = 1,
    ) -> StructuredResult[T]:
        """Ask ``alias`` for an answer matching ``spec``; repair invalid answers up to N times."""
        model = self.registry.model(alias)
        messages = prompt.messages(**variables)
        issues: list[Issue] = []
        repairs_left = repair_attempts
        # Truncated, filtered or non-JSON answers are the provider's hiccup more than the
        # model misreading the task: they get their own allowance (max_retries) so that a
        # run under injected faults still completes every item.
        format_left = model.max_retries
        while True:
            request = ChatRequest(
                model=model.model,
                messages=messages,
                temperature=model.temperature,
                max_tokens=model.max_tokens,
                seed=model.seed,
                schema_name=spec.name,
                response_schema=spec.schema,
                structured_mode=model.structured_output,
                prompt_hash=prompt.hash,
            )
            response, key = self._send(alias, model, prompt, request, item_id)
            value, issues = validate_answer(response, spec)
            errors = [i for i in issues if i.severity == "error"]
            self._mark_outcome(alias, model, prompt, request, key, response, item_id, errors)
            if value is not None and not errors:
                warnings = [i for i in issues if i.severity == "warning"]
                return StructuredResult(value=value, served_model=response.served_model, warnings=warnings)
            if all(i.rule in FORMAT_RULES for i in errors) and format_left > 0:
                format_left -= 1
            elif repairs_left > 0:
                repairs_left -= 1
            else:
                raise InvalidOutputError(alias, errors)
            messages = [
                *messages,
                {"role": "assistant", "content": response.text},
                {"role": "user", "content": repair_message(errors)},
            ]

    def text(self, alias: str, prompt: Prompt, variables: dict[str, str], item_id: str) -> ChatResponse:
        """One free-text answer, cached and recorded but never repaired or retried for content.

        Evaluations count an unusable answer (an "X", prose, an out-of-range score) as a
        finding about the model, so they take the raw text and parse it themselves.
        """
        model = self.registry.model(alias)
        request = ChatRequest(
            model=model.model,
            messages=prompt.messages(**variables),
            temperature=model.temperature,
            max_tokens=model.max_tokens,
            seed=model.seed,
            prompt_hash=prompt.hash,
        )
        response, _key = self._send(alias, model, prompt, request, item_id)
        return response

    def _send(
        self, alias: str, model: ModelConfig, prompt: Prompt, request: ChatRequest, item_id: str
    ) -> tuple[ChatResponse, str]:
        provider_name = model.provider
        key = request_key(provider_name, request)
        cached = self.cache.get(key)
        if cached is not None:
            self._record(alias, model, prompt, request, key, cached, item_id, cached=True)
            return cached, key
        budget = self.registry.budget
        tokens_in = estimate_tokens("".join(m["content"] for m in request.messages))
        if model.batch:
            worst = call_cost(model, tokens_in, request.max_tokens, batch=True)
            held = budget.reserve(worst, f"a batch request to {alias}")
            try:
                meta = {"item_id": item_id, "stage": self.stage, "prompt_name": prompt.name,
                        "prompt_hash": prompt.hash, "run_id": self.run_id}
                runner = self.registry.batcher(alias, self.store, self.cache)
                response = runner.submit(key, request, meta)
            except BaseException:
                budget.settle(held, 0.0)
                raise
            budget.settle(held, call_cost(model, response.tokens_in, response.tokens_out, batch=True))
            return response, key  # the runner has cached and recorded it
        provider = self.registry.provider(alias)
        limiter = self.registry.limiters[alias]
        delay = 1.0
        failures = 0
        throttles = 0
        attempt = 0
        while True:
            attempt += 1
            held = budget.reserve(call_cost(model, tokens_in, request.max_tokens), f"a request to {alias}")
            try:
                with self.registry.semaphores[alias]:
                    permit = limiter.acquire(tokens_in)
                    try:
                        response = provider.complete(request)
                    except BaseException:
                        permit.release(None)
                        raise
                    permit.release(response.tokens_out)
            except RateLimitedError as exc:
                # Not the item's fault: pause the whole alias and try again, without
                # spending one of the item's retries (bounded so a dead endpoint still stops).
                budget.settle(held, 0.0)
                self._record_error(alias, model, prompt, request, key, item_id, attempt, str(exc))
                limiter.on_rate_limited(exc.retry_after_s)
                throttles += 1
                if throttles > MAX_THROTTLES:
                    raise
                continue
            except RetryableError as exc:
                budget.settle(held, 0.0)
                self._record_error(alias, model, prompt, request, key, item_id, attempt, str(exc))
                failures += 1
                if failures > model.max_retries:
                    raise
                wait = exc.retry_after_s if exc.retry_after_s is not None else delay
                self._sleep(min(wait, 120.0) + random.uniform(0, 0.25 * delay))
                delay = min(delay * 2, 60.0)
                continue
            except BaseException:
                budget.settle(held, 0.0)
                raise
            budget.settle(held, call_cost(model, response.tokens_in, response.tokens_out))
            self.cache.put(key, provider_name, model.model, prompt.hash, response, prompt.name)
            self._record(alias, model, prompt, request, key, response, item_id, cached=False)
            return response, key

    def _record(
        self,
        alias: str,
        model: ModelConfig,
        prompt: Prompt,
        request: ChatRequest,
        key: str,
        response: ChatResponse,
        item_id: str,
        cached: bool,
        outcome: str = "ok",
        error: str | None = None,
        batch: bool = False,
    ) -> None:
        self._put_call(
            LLMCall(
                id=content_id("call", self.run_id, key),
                run_id=self.run_id,
                stage=self.stage,
                item_id=item_id,
                provider=model.provider,
                model_alias=alias,
                served_model=response.served_model,
                prompt_name=prompt.name,
                prompt_hash=prompt.hash,
                params=request.params(),
                request_hash=key,
                cached=cached,
                tokens_in=response.tokens_in,
                tokens_out=response.tokens_out,
                latency_s=0.0 if cached else response.latency_s,
                cost_usd=0.0 if cached else call_cost(
                    model, response.tokens_in, response.tokens_out, batch
                ),
                finish_reason=response.finish_reason,
                outcome=outcome,  # type: ignore[arg-type]
                error=error,
                created_at=datetime.now(UTC),
            )
        )

    def _put_call(self, call: LLMCall) -> None:
        self.store.put([call])
        self.registry.notify(call)

    def _mark_outcome(
        self,
        alias: str,
        model: ModelConfig,
        prompt: Prompt,
        request: ChatRequest,
        key: str,
        response: ChatResponse,
        item_id: str,
        errors: list[Issue],
    ) -> None:
        if not errors:
            return
        error = "; ".join(f"{i.rule}: {i.message}" for i in errors)[:500]
        existing = self.store.get(LLMCall, content_id("call", self.run_id, key))
        if existing is not None:
            self._put_call(existing.model_copy(update={"outcome": "invalid_output", "error": error}))
            return
        self._record(
            alias, model, prompt, request, key, response, item_id,
            cached=True, outcome="invalid_output", error=error,
        )

    def _record_error(
        self,
        alias: str,
        model: ModelConfig,
        prompt: Prompt,
        request: ChatRequest,
        key: str,
        item_id: str,
        attempt: int,
        message: str,
    ) -> None:
        self._put_call(failed_request_call(
            run_id=self.run_id, stage=self.stage, item_id=item_id, provider=model.provider, alias=alias,
            prompt_name=prompt.name, prompt_hash=prompt.hash, params=request.params(),
            request_hash=key, attempt=attempt, message=message,
        ))


def repair_message(errors: list[Issue]) -> str:
    """The follow-up turn that tells the model what to fix."""
    problems = "\n".join(f"- {issue.message}" for issue in errors)
    return (
        "Your answer could not be used:\n"
        f"{problems}\n"
        "Answer again with the corrected JSON object only."
    )


def validate_answer(
    response: ChatResponse, spec: OutputSpec[V]
) -> tuple[V, list[Issue]] | tuple[None, list[Issue]]:
    """Parse and check one answer; returns the value (None if unusable) and every issue found."""
    if response.finish_reason == "length":
        return None, [Issue("truncated", "the answer was cut off by the token limit; answer shorter")]
    if response.finish_reason == "content_filter":
        return None, [Issue("content_filter", "the provider's content filter blocked the answer")]
    try:
        data = json.loads(response.text)
    except json.JSONDecodeError as exc:
        return None, [Issue("invalid_json", f"the answer is not valid JSON ({exc.msg})")]
    try:
        value = spec.parse(data)
    except (ValueError, TypeError, KeyError) as exc:
        return None, [Issue("schema", f"the JSON does not match the expected shape: {exc}")]
    return value, spec.check(value)
