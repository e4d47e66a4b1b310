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

import aiohttp
import dashscope
import requests

from pipeline.llm.errors import classify_status
from pipeline.llm.types import ChatRequest, ChatResponse, RequestRejectedError, RetryableError

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

    def __init__(
        self, base_url: str | None, api_key: str | None, timeout_s: float, max_connections: int = 1000
    ) -> None:
        # ``base_address`` is per call, so two aliases with different regions never clash
        # through the SDK's module-level ``dashscope.base_http_api_url``.
        self.base_url = base_url.rstrip("/") if base_url else None
        self._api_key = api_key
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _kwargs(self, request: ChatRequest) -> dict[str, Any]:
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
        return kwargs

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one generation request; classify failures as retryable, rejected or fatal."""
        started = time.monotonic()
        try:
            result = dashscope.Generation.call(**self._kwargs(request))
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise RetryableError(f"{request.model}: {type(exc).__name__}") from exc
        except (ValueError, requests.RequestException) as exc:
            raise RetryableError(f"{request.model}: unreadable response: {type(exc).__name__}") from exc
        return interpret(result, request.model, time.monotonic() - started)

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        """The same request through the SDK's asyncio client (``AioGeneration``).

        On valact's own session: the SDK's shared one caps connections at aiohttp's default
        of 100, which at provider speed (a 5 s answer, 1,200 RPM) would cap the alias at 20
        requests per second whatever its tier allows.
        """
        started = time.monotonic()
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=self.max_connections)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=True)
        try:
            result = await dashscope.AioGeneration.call(**self._kwargs(request), session=self._session)
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ServerTimeoutError) as exc:
            raise RetryableError(f"{request.model}: {type(exc).__name__}") from exc
        except (ValueError, aiohttp.ClientError) as exc:
            raise RetryableError(f"{request.model}: unreadable response: {type(exc).__name__}") from exc
        return interpret(result, request.model, time.monotonic() - started)

    async def aclose(self) -> None:
        """Close valact's connection pool (inside the loop that used it)."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def interpret(result: Any, model: str, latency: float) -> ChatResponse:
    """A native SDK result (sync or async) as a ChatResponse, or the error it stands for.

    The SDK reports failures as a response with ``status_code``/``code``/``message``
    instead of raising; the shared rules decide what they mean.
    """
    status = int(getattr(result, "status_code", 0) or 0)
    code = str(getattr(result, "code", "") or "")
    message = str(getattr(result, "message", "") or "")
    if status == 400 and code == "DataInspectionFailed":
        if "input" in message.lower():
            # The prompt itself (this item's post) was refused: drop the item, do not retry.
            raise RequestRejectedError(f"{model}: request rejected ({code}): {message}", "content_filter")
        # DashScope's moderation of the answer comes as a 400 instead of a finish reason.
        return ChatResponse(text="", finish_reason="content_filter", served_model=model, latency_s=latency)
    if status != 200:
        headers = getattr(result, "headers", None) or {}
        raise classify_status(status, code, message, model, headers)
    return parse_generation(
        getattr(result, "output", None) or {}, getattr(result, "usage", None) or {}, model, latency,
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
