"""Any OpenAI-compatible endpoint through the official ``openai`` SDK.

Serves OpenAI itself, DashScope's compatible mode, vLLM, Ollama, Together and the local
llama.cpp server. The SDK's own retries are off: valact's client retries with its own
policy so that every attempt is visible and counted.
"""

from __future__ import annotations

import time
from typing import Any

import openai

from pipeline.llm.types import ChatRequest, ChatResponse, FatalError, RetryableError

STRICT_UNSUPPORTED = ("maxLength", "minLength", "pattern", "format")


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop keywords OpenAI's strict structured output rejects, recursively."""
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key in STRICT_UNSUPPORTED:
            continue
        if isinstance(value, dict):
            cleaned[key] = strict_schema(value)
        elif isinstance(value, list):
            cleaned[key] = [strict_schema(v) if isinstance(v, dict) else v for v in value]
        else:
            cleaned[key] = value
    return cleaned


def response_format(request: ChatRequest) -> dict[str, Any] | None:
    """The ``response_format`` body for the request's structured-output mode."""
    if request.response_schema is None:
        return None
    if request.structured_mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {
                "name": request.schema_name or "answer",
                "schema": strict_schema(request.response_schema),
                "strict": True,
            },
        }
    if request.structured_mode == "json_object_schema":
        return {"type": "json_object", "schema": request.response_schema}
    return {"type": "json_object"}


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    if "retry-after-ms" in headers:
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            return None
    if "retry-after" in headers:
        try:
            return float(headers["retry-after"])
        except ValueError:
            return None
    return None


class OpenAIProvider:
    """Chat completions against one OpenAI-compatible base URL."""

    name = "openai"

    def __init__(self, base_url: str | None, api_key: str | None, timeout_s: float) -> None:
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "no-key-needed", max_retries=0, timeout=timeout_s
        )

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one chat completion; map SDK errors to retryable or fatal."""
        body: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        fmt = response_format(request)
        if fmt is not None:
            body["response_format"] = fmt
        started = time.monotonic()
        try:
            completion = self._client.chat.completions.create(**body)
        except openai.RateLimitError as exc:
            if "insufficient_quota" in str(exc):
                raise FatalError(f"quota exhausted: {exc.message}") from exc
            raise RetryableError(f"rate limited: {exc.message}", _retry_after(exc)) from exc
        except openai.InternalServerError as exc:
            raise RetryableError(f"server error {exc.status_code}: {exc.message}", _retry_after(exc)) from exc
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
        except openai.APIStatusError as exc:
            if exc.status_code in (408, 409) or exc.status_code >= 500:
                raise RetryableError(f"HTTP {exc.status_code}: {exc.message}", _retry_after(exc)) from exc
            raise FatalError(f"HTTP {exc.status_code} from {request.model}: {exc.message}") from exc
        latency = time.monotonic() - started
        if not completion.choices:
            raise RetryableError("response had no choices")
        choice = completion.choices[0]
        usage = completion.usage
        return ChatResponse(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            served_model=completion.model or request.model,
            latency_s=latency,
        )
