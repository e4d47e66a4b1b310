"""Structured LLM calls that never fail silently, many at a time on one event loop.

One call = cache lookup, else a provider request with retries and backoff; then parse and
check the answer. Errors found by the checks trigger a repair turn that shows the model what
was wrong; if the answer is still invalid after the allowed repairs the caller gets
``InvalidOutputError`` (and records the item as failed): never an empty row. A request the
provider refuses for this item alone (context length, content policy) raises
``RequestRejectedError`` for the stage to drop the item; only errors that concern every
request (bad key, quota, budget) are fatal. Every request, paid or served from cache,
becomes an ``LLMCall`` record (built in ``call_records``).

The methods are coroutines (``astructured``, ``atext``): the streaming engine keeps hundreds
of them in flight. ``structured`` and ``text`` are the same calls for synchronous callers
(corrections, evaluations, tests); they run on the registry's event loop.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pipeline.llm.cache import ResponseCache, request_key
from pipeline.llm.call_records import CallOrigin, answered_call, failed_request_call
from pipeline.llm.errors import RateLimitedError
from pipeline.llm.pricing import call_cost
from pipeline.llm.registry import ModelRegistry
from pipeline.llm.types import ChatRequest, ChatResponse, RequestRejectedError, RetryableError
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


def _settle(answer: asyncio.Future[ChatResponse]) -> None:
    """Mark a failed shared answer's error as seen: the item that sent it raises it itself."""
    if not answer.cancelled():
        answer.exception()


class LLMClient:
    """Makes structured calls for one stage of one run."""

    def __init__(
        self, registry: ModelRegistry, cache: ResponseCache, store: Store, run_id: str, stage: str
    ) -> None:
        self.registry = registry
        self.cache = cache
        self.store = store
        self.run_id = run_id
        self.stage = stage

    # ---- synchronous callers -------------------------------------------------------------
    def structured(
        self, alias: str, prompt: Prompt, variables: dict[str, str], spec: OutputSpec[T], item_id: str,
        repair_attempts: int = 1,
    ) -> StructuredResult[T]:
        """``astructured`` for code that is not a coroutine (runs on the registry's loop)."""
        return self.registry.run_sync(
            self.astructured(alias, prompt, variables, spec, item_id, repair_attempts)
        )

    def text(self, alias: str, prompt: Prompt, variables: dict[str, str], item_id: str
             ) -> tuple[ChatResponse, str]:
        """``atext`` for code that is not a coroutine (runs on the registry's loop)."""
        return self.registry.run_sync(self.atext(alias, prompt, variables, item_id))

    # ---- coroutines ---------------------------------------------------------------------------
    async def astructured(
        self, alias: str, prompt: Prompt, variables: dict[str, str], spec: OutputSpec[T], item_id: str,
        repair_attempts: int = 1,
    ) -> StructuredResult[T]:
        """Ask ``alias`` for an answer matching ``spec``; repair invalid answers up to N times."""
        model = self.registry.model(alias)
        messages = prompt.messages(**variables)
        repairs_left = repair_attempts
        # Truncated, filtered or non-JSON answers are the provider's hiccup more than the
        # model misreading the task: they get their own allowance (max_retries) so that a
        # run under injected faults still completes every item.
        format_left = model.max_retries
        while True:
            request = self._request(model, prompt, messages, spec)
            response, origin = await self._send(alias, model, prompt, request, item_id)
            value, issues = validate_answer(response, spec)
            errors = [i for i in issues if i.severity == "error"]
            if errors:
                self._mark_invalid(model, origin, response, errors)
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

    async def atext(
        self, alias: str, prompt: Prompt, variables: dict[str, str], item_id: str
    ) -> tuple[ChatResponse, str]:
        """One free-text answer and its request hash, cached and recorded but never repaired or
        retried for content.

        Evaluations count an unusable answer (an "X", prose, an out-of-range score) as a
        finding about the model, so they take the raw text and parse it themselves; the hash
        names the cached response and every ``LLMCall`` of the request.
        """
        model = self.registry.model(alias)
        request = self._request(model, prompt, prompt.messages(**variables), None)
        response, origin = await self._send(alias, model, prompt, request, item_id)
        return response, origin.request_hash

    @staticmethod
    def _request(
        model: ModelConfig, prompt: Prompt, messages: list[dict[str, str]], spec: OutputSpec[Any] | None
    ) -> ChatRequest:
        return ChatRequest(
            model=model.model, messages=messages, temperature=model.temperature, max_tokens=model.max_tokens,
            seed=model.seed, schema_name=spec.name if spec else None,
            response_schema=spec.schema if spec else None, structured_mode=model.structured_output,
            prompt_hash=prompt.hash,
        )

    async def _send(
        self, alias: str, model: ModelConfig, prompt: Prompt, request: ChatRequest, item_id: str
    ) -> tuple[ChatResponse, CallOrigin]:
        key = request_key(model.provider, request)
        origin = CallOrigin(
            run_id=self.run_id, stage=self.stage, item_id=item_id, provider=model.provider, alias=alias,
            prompt_name=prompt.name, prompt_hash=prompt.hash, params=request.params(), request_hash=key,
        )
        cached = self.cache.get(key)
        if cached is None and key in self.registry.in_flight:
            # The same request is on its way for another item: share its answer, pay once.
            cached = await asyncio.shield(self.registry.in_flight[key])
        if cached is not None:
            self._put_call(answered_call(origin, cached, cached=True, cost_usd=0.0))
            return cached, origin
        answer: asyncio.Future[ChatResponse] = asyncio.get_running_loop().create_future()
        answer.add_done_callback(_settle)
        self.registry.in_flight[key] = answer
        try:
            response = await self._fetch(alias, model, prompt, request, origin)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                answer.cancel()
            else:
                answer.set_exception(exc)
            raise
        else:
            answer.set_result(response)
        finally:
            del self.registry.in_flight[key]
        return response, origin

    async def _fetch(
        self, alias: str, model: ModelConfig, prompt: Prompt, request: ChatRequest, origin: CallOrigin
    ) -> ChatResponse:
        """Ask the provider (directly or in a batch job), cache the answer and record the call."""
        tokens_in = self.registry.estimate_tokens(model, request)
        if model.batch:
            return await self._send_batch(alias, model, prompt, request, origin, tokens_in)
        response = await self._send_direct(alias, model, request, origin, tokens_in)
        self.cache.put(origin.request_hash, model.provider, model.model, prompt.hash, response, prompt.name)
        cost = call_cost(model, response.tokens_in, response.tokens_out)
        self._put_call(answered_call(origin, response, cached=False, cost_usd=cost))
        return response

    async def _send_batch(
        self, alias: str, model: ModelConfig, prompt: Prompt, request: ChatRequest, origin: CallOrigin,
        tokens_in: int,
    ) -> ChatResponse:
        budget = self.registry.budget
        held = budget.reserve(call_cost(model, tokens_in, request.max_tokens, batch=True),
                              f"a batch request to {alias}")
        try:
            meta = {"item_id": origin.item_id, "stage": self.stage, "prompt_name": prompt.name,
                    "prompt_hash": prompt.hash, "run_id": self.run_id}
            runner = self.registry.batcher(alias, self.store, self.cache)
            response = await runner.submit_async(origin.request_hash, request, meta)
        except BaseException:
            budget.settle(held, 0.0)
            raise
        budget.settle(held, call_cost(model, response.tokens_in, response.tokens_out, batch=True))
        return response  # the runner has cached and recorded it

    async def _send_direct(
        self, alias: str, model: ModelConfig, request: ChatRequest, origin: CallOrigin, tokens_in: int
    ) -> ChatResponse:
        """Send until answered: 429s pause the alias, transient errors back off, rejections drop."""
        budget = self.registry.budget
        provider = self.registry.provider(alias)
        limiter = self.registry.limiters[alias]
        gate = self.registry.gates[alias]
        delay = 1.0
        failures = throttles = attempt = 0
        while True:
            attempt += 1
            held = budget.reserve(call_cost(model, tokens_in, request.max_tokens), f"a request to {alias}")
            latency: float | None = None
            await gate.enter()
            try:
                permit = await limiter.acquire_async(tokens_in)
                started = time.monotonic()
                try:
                    response = await provider.acomplete(request)
                except BaseException:
                    permit.release(None)
                    raise
                latency = time.monotonic() - started
                permit.release(response.tokens_out)
            except RateLimitedError as exc:
                # Not the item's fault: pause the whole alias and try again, without
                # spending one of the item's retries (bounded so a dead endpoint still stops).
                budget.settle(held, 0.0)
                self._put_call(failed_request_call(origin, attempt, str(exc)))
                limiter.on_rate_limited(exc.retry_after_s)
                throttles += 1
                if throttles > MAX_THROTTLES:
                    raise
                continue
            except RetryableError as exc:
                budget.settle(held, 0.0)
                self._put_call(failed_request_call(origin, attempt, str(exc)))
                failures += 1
                if failures > model.max_retries:
                    raise
                wait = exc.retry_after_s if exc.retry_after_s is not None else delay
                await asyncio.sleep(min(wait, 120.0) + random.uniform(0, 0.25 * delay))
                delay = min(delay * 2, 60.0)
                continue
            except RequestRejectedError as exc:
                budget.settle(held, 0.0)
                self._put_call(failed_request_call(origin, attempt, f"rejected ({exc.reason}): {exc}")
                               .model_copy(update={"outcome": "rejected"}))
                self.registry.on_rejected(alias, exc)
                raise
            except BaseException:
                budget.settle(held, 0.0)
                raise
            finally:
                gate.leave(latency)
            budget.settle(held, call_cost(model, response.tokens_in, response.tokens_out))
            self.registry.on_answered(alias)
            return response

    def _put_call(self, call: LLMCall) -> None:
        self.store.put([call])
        self.registry.notify(call)

    def _mark_invalid(
        self, model: ModelConfig, origin: CallOrigin, response: ChatResponse, errors: list[Issue]
    ) -> None:
        """The answer of this request failed the checks: its record says so (kept, not deleted)."""
        error = "; ".join(f"{i.rule}: {i.message}" for i in errors)[:500]
        existing = self.store.get(LLMCall, origin.answered_id)
        if existing is not None:
            self._put_call(existing.model_copy(update={"outcome": "invalid_output", "error": error}))
            return
        # A batch answer is recorded by the runner under its own run; mark it in this run.
        self._put_call(answered_call(origin, response, cached=True, cost_usd=0.0,
                                     outcome="invalid_output", error=error))


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
