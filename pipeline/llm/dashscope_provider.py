"""Qwen through DashScope's native Generation API (the ``dashscope`` SDK).

Requests ask for ``result_format='message'`` (OpenAI-like choices with a message and a
finish reason) and ``response_format={'type': 'json_object'}`` (JSON mode; DashScope has no
strict schema mode, so the schema travels in the prompt and valact validates the answer).
The SDK reports failures as a response object with ``status_code``/``code``/``message``
instead of raising, so every non-200 answer is classified here by the shared rules.
"""

from __future__ import annotations

import json
import time
from typing import Any

import dashscope
import requests

from pipeline.llm.errors import classify_status
from pipeline.llm.types import ChatRequest, ChatResponse, RetryableError

NATIVE_PATH = "/api/v1"
COMPATIBLE_PATH = "/compatible-mode/v1"
DEFAULT_NATIVE = "https://dashscope.aliyuncs.com/api/v1"


def compatible_url(native_url: str | None) -> str:
    """DashScope's OpenAI-compatible base URL (batches live there) for a native base URL."""
    base = (native_url or DEFAULT_NATIVE).rstrip("/")
    if base.endswith(NATIVE_PATH):
        base = base[: -len(NATIVE_PATH)]
    return base + COMPATIBLE_PATH


def schema_hint(request: ChatRequest) -> list[dict[str, str]]:
    """Messages with the JSON schema appended to the system turn (JSON mode needs the word JSON)."""
    if request.response_schema is None or request.structured_mode == "json_object":
        return request.messages
    hint = "Answer with one JSON object matching this JSON schema:\n" + json.dumps(request.response_schema)
    messages = [dict(m) for m in request.messages]
    if messages and messages[0]["role"] == "system":
        messages[0]["content"] = messages[0]["content"] + "\n\n" + hint
    else:
        messages.insert(0, {"role": "system", "content": hint})
    return messages


class DashScopeProvider:
    """Chat requests through ``dashscope.Generation.call``."""

    name = "dashscope"

    def __init__(self, base_url: str | None, api_key: str | None, timeout_s: float) -> None:
        # ``base_address`` is per call, so two aliases with different regions never clash
        # through the SDK's module-level ``dashscope.base_http_api_url``.
        self.base_url = base_url.rstrip("/") if base_url else None
        self._api_key = api_key
        self.timeout_s = timeout_s

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one generation request; classify failures as retryable or fatal."""
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": schema_hint(request),
            "result_format": "message",
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "api_key": self._api_key,
            "request_timeout": self.timeout_s,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.response_schema is not None:
            kwargs["response_format"] = {"type": "json_object"}
        if self.base_url:
            kwargs["base_address"] = self.base_url
        started = time.monotonic()
        try:
            result = dashscope.Generation.call(**kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise RetryableError(f"{request.model}: {type(exc).__name__}") from exc
        except (ValueError, requests.RequestException) as exc:
            raise RetryableError(f"{request.model}: unreadable response: {type(exc).__name__}") from exc
        latency = time.monotonic() - started
        status = int(getattr(result, "status_code", 0) or 0)
        code = str(getattr(result, "code", "") or "")
        if status == 400 and code == "DataInspectionFailed":
            # DashScope's moderation answers 400 instead of a finish reason: same handling.
            return ChatResponse(text="", finish_reason="content_filter", served_model=request.model,
                                latency_s=latency)
        if status != 200:
            headers = getattr(result, "headers", None) or {}
            raise classify_status(
                status, code, str(getattr(result, "message", "") or ""),
                request.model, headers,
            )
        return parse_generation(
            getattr(result, "output", None) or {}, getattr(result, "usage", None) or {},
            request.model, latency,
        )


def parse_generation(output: Any, usage: Any, model: str, latency_s: float) -> ChatResponse:
    """The ``output``/``usage`` of a native answer (message result format) as a ChatResponse."""
    choices = output.get("choices") or []
    if not choices:
        raise RetryableError(f"{model}: DashScope answer without choices")
    choice = choices[0]
    message = choice.get("message") or {}
    content = message.get("content")
    if isinstance(content, list):  # multimodal-style content parts
        content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ChatResponse(
        text=str(content or ""),
        finish_reason=choice.get("finish_reason"),
        tokens_in=int(usage.get("input_tokens") or 0),
        tokens_out=int(usage.get("output_tokens") or 0),
        served_model=model,
        latency_s=latency_s,
    )
