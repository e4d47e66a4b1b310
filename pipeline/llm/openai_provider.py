"""Any OpenAI-compatible endpoint through the official ``openai`` SDK.

Serves OpenAI itself, DashScope's compatible mode, vLLM, Ollama, Together and the local
llama.cpp server. The SDK's own retries are off: valact's client retries with its own
policy so that every attempt is visible and counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2 as sdk_httpx  # the HTTP library this openai version is built on (its pool limits)
import openai

from pipeline.llm.errors import classify_status
from pipeline.llm.types import ChatRequest, ChatResponse, FatalError, RequestRejectedError, RetryableError

STRICT_UNSUPPORTED = ("maxLength", "minLength", "pattern", "format")
POOL_SIZE = 32  # connections per SDK client (see OpenAIProvider)


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


def classify_openai(
    exc: openai.APIStatusError, model: str
) -> RetryableError | FatalError | RequestRejectedError:
    """Map an SDK status error to valact's retryable / fatal classes."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
    code = str(error.get("code") or error.get("type") or exc.code or "")
    return classify_status(exc.status_code, code, exc.message, model, dict(exc.response.headers))


def chat_body(request: ChatRequest) -> dict[str, Any]:
    """The chat-completions JSON body of a request (also one line of a batch file)."""
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
    return body


def parse_completion(data: dict[str, Any], model: str, latency_s: float) -> ChatResponse:
    """A chat-completion JSON object (sync answer or batch output line) as a ChatResponse."""
    choices = data.get("choices") or []
    if not choices:
        raise RetryableError(f"{model}: response had no choices")
    choice = choices[0]
    usage = data.get("usage") or {}
    return ChatResponse(
        text=(choice.get("message") or {}).get("content") or "",
        finish_reason=choice.get("finish_reason"),
        tokens_in=int(usage.get("prompt_tokens") or 0),
        tokens_out=int(usage.get("completion_tokens") or 0),
        served_model=data.get("model") or model,
        latency_s=latency_s,
    )


class OpenAIProvider:
    """Chat completions against one OpenAI-compatible base URL, synchronous or asynchronous.

    The async client (``acomplete``) is what the streaming engine uses: hundreds of requests
    in flight cost one event loop, not one thread each. The connections are spread over
    several SDK clients of ``POOL_SIZE`` each (``max_connections`` in all, so the pool never
    becomes a hidden concurrency cap): the HTTP library scans every connection of a pool for
    each request it places, which with 600 open connections in one pool cost more CPU than
    the rest of valact's work on the answer.
    """

    name = "openai"

    def __init__(
        self, base_url: str | None, api_key: str | None, timeout_s: float, max_connections: int = 1000
    ) -> None:
        self._settings = {"base_url": base_url, "api_key": api_key or "no-key-needed",
                          "max_retries": 0, "timeout": timeout_s}
        self._max_connections = max_connections
        self._client = openai.OpenAI(**self._settings)  # type: ignore[arg-type]
        self._async: list[openai.AsyncOpenAI] = []
        self._turn = 0

    @property
    def sdk(self) -> openai.OpenAI:
        """The underlying SDK client (the batch runner uploads files and creates batches with it)."""
        return self._client

    def _async_client(self) -> openai.AsyncOpenAI:
        if not self._async:
            size = min(POOL_SIZE, self._max_connections)
            limits = sdk_httpx.Limits(max_connections=size, max_keepalive_connections=size)
            # One TLS context for every pool: each client would otherwise parse the CA bundle
            # into its own (~0.9 MB each, 29 MB for the 32 pools of one alias).
            tls = sdk_httpx.create_ssl_context()
            self._async = [
                openai.AsyncOpenAI(
                    **self._settings,  # type: ignore[arg-type]
                    http_client=openai.DefaultAsyncHttpxClient(limits=limits, verify=tls),
                )
                for _ in range(max(1, -(-self._max_connections // size)))
            ]
        self._turn = (self._turn + 1) % len(self._async)
        return self._async[self._turn]

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Send one chat completion; map SDK errors to retryable, rejected or fatal."""
        started = time.monotonic()
        with sdk_errors(request.model):
            completion = self._client.chat.completions.create(**chat_body(request))
        return completion_response(completion, request.model, time.monotonic() - started)

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        """The same request without blocking the event loop."""
        started = time.monotonic()
        with sdk_errors(request.model):
            completion = await self._async_client().chat.completions.create(**chat_body(request))
        return completion_response(completion, request.model, time.monotonic() - started)

    async def aclose(self) -> None:
        """Close the async connection pool (inside the loop that used it)."""
        for client in self._async:
            await client.close()
        self._async = []


@contextmanager
def sdk_errors(model: str) -> Iterator[None]:
    """Translate the SDK's exceptions into valact's error classes (same for sync and async)."""
    try:
        yield
    except openai.APIStatusError as exc:
        raise classify_openai(exc, model) from exc
    except (openai.APITimeoutError, openai.APIConnectionError) as exc:
        raise RetryableError(f"{model}: {type(exc).__name__}: {exc}") from exc
    except (openai.APIResponseValidationError, ValueError) as exc:
        # An unreadable response body (broken JSON from a proxy or a flaky server).
        raise RetryableError(f"{model}: unreadable response: {exc}"[:300]) from exc


def completion_response(completion: Any, model: str, latency_s: float) -> ChatResponse:
    """An SDK ``ChatCompletion`` as a ChatResponse."""
    if not completion.choices:
        raise RetryableError(f"{model}: response had no choices")
    choice = completion.choices[0]
    usage = completion.usage
    return ChatResponse(
        text=choice.message.content or "",
        finish_reason=choice.finish_reason,
        tokens_in=usage.prompt_tokens if usage else 0,
        tokens_out=usage.completion_tokens if usage else 0,
        served_model=completion.model or model,
        latency_s=latency_s,
    )
