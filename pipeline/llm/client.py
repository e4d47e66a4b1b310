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
from pipeline.llm.registry import ModelRegistry
from pipeline.llm.types import ChatRequest, ChatResponse, FatalError, RetryableError
from pipeline.prompts import Prompt
from pipeline.store import Store
from schemas.config import ModelConfig, Severity
from schemas.records import LLMCall

T = TypeVar("T")
V = TypeVar("V")


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
        for _attempt in range(repair_attempts + 1):
            request = ChatRequest(
                model=model.model,
                messages=messages,
                temperature=model.temperature,
                max_tokens=model.max_tokens,
                seed=model.seed,
                schema_name=spec.name,
                response_schema=spec.schema,
                structured_mode=model.structured_output,
            )
            response, key = self._send(alias, model, prompt, request, item_id)
            outcome = validate_answer(response, spec)
            value, issues = outcome
            errors = [i for i in issues if i.severity == "error"]
            self._mark_outcome(alias, model, prompt, request, key, response, item_id, errors)
            if value is not None and not errors:
                warnings = [i for i in issues if i.severity == "warning"]
                return StructuredResult(value=value, served_model=response.served_model, warnings=warnings)
            messages = [
                *messages,
                {"role": "assistant", "content": response.text},
                {"role": "user", "content": repair_message(errors)},
            ]
        raise InvalidOutputError(alias, [i for i in issues if i.severity == "error"])

    def _send(
        self, alias: str, model: ModelConfig, prompt: Prompt, request: ChatRequest, item_id: str
    ) -> tuple[ChatResponse, str]:
        provider_name = model.provider
        key = request_key(provider_name, request)
        cached = self.cache.get(key)
        if cached is not None:
            self._record(alias, model, prompt, request, key, cached, item_id, cached=True)
            return cached, key
        provider = self.registry.provider(alias)
        delay = 1.0
        for attempt in range(model.max_retries + 1):
            try:
                with self.registry.semaphores[alias]:
                    response = provider.complete(request)
            except RetryableError as exc:
                self._record_error(alias, model, prompt, request, key, item_id, attempt, str(exc))
                if attempt == model.max_retries:
                    raise
                wait = exc.retry_after_s if exc.retry_after_s is not None else delay
                self._sleep(min(wait, 120.0) + random.uniform(0, 0.25 * delay))
                delay = min(delay * 2, 60.0)
                continue
            self.cache.put(key, provider_name, model.model, prompt.hash, response)
            self._record(alias, model, prompt, request, key, response, item_id, cached=False)
            return response, key
        raise FatalError("unreachable: retry loop ended without result")

    def _cost(self, model: ModelConfig, response: ChatResponse) -> float:
        return (
            response.tokens_in * model.price_in_per_mtok + response.tokens_out * model.price_out_per_mtok
        ) / 1_000_000

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
    ) -> None:
        self.store.put(
            [
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
                    cost_usd=0.0 if cached else self._cost(model, response),
                    finish_reason=response.finish_reason,
                    outcome=outcome,  # type: ignore[arg-type]
                    error=error,
                    created_at=datetime.now(UTC),
                )
            ]
        )

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
        existing = self.store.get(LLMCall, content_id("call", self.run_id, key))
        self._record(
            alias, model, prompt, request, key, response, item_id,
            cached=existing.cached if existing else True,
            outcome="invalid_output",
            error="; ".join(i.message for i in errors)[:500],
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
        self.store.put(
            [
                LLMCall(
                    id=content_id("call", self.run_id, key, attempt, "error"),
                    run_id=self.run_id,
                    stage=self.stage,
                    item_id=item_id,
                    provider=model.provider,
                    model_alias=alias,
                    served_model="",
                    prompt_name=prompt.name,
                    prompt_hash=prompt.hash,
                    params=request.params(),
                    request_hash=key,
                    cached=False,
                    outcome="error",
                    error=message[:500],
                    created_at=datetime.now(UTC),
                )
            ]
        )


def repair_message(errors: list[Issue]) -> str:
    """The follow-up turn that tells the model what to fix."""
    problems = "\n".join(f"- {issue.message}" for issue in errors)
    return (
        "Your answer could not be used:\n"
        f"{problems}\n"
        "Answer again with the corrected JSON object only."
    )


def validate_answer(response: ChatResponse, spec: OutputSpec[V]) -> tuple[V | None, list[Issue]]:
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
