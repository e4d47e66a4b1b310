"""Provider-neutral request/response types and the two error classes every provider raises."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

StructuredMode = Literal["json_schema", "json_object_schema", "json_object"]


class ChatRequest(BaseModel):
    """One chat completion request, in terms every provider understands."""

    model_config = ConfigDict(frozen=True)

    model: str
    messages: list[dict[str, str]]
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int | None = None
    schema_name: str | None = None
    response_schema: dict[str, Any] | None = None
    structured_mode: StructuredMode = "json_schema"
    # The versioned prompt file this request was rendered from: part of the cache key, so a
    # version bump re-asks even when the rendered text happens to be unchanged.
    prompt_hash: str | None = None

    def params(self) -> dict[str, object]:
        """The sampling parameters, as recorded with every call."""
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}


class ChatResponse(BaseModel):
    """What came back, plus the accounting curator-style call records need."""

    text: str
    finish_reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    served_model: str = ""
    latency_s: float = 0.0


class ProviderError(Exception):
    """Base class for failures talking to a provider."""


class RetryableError(ProviderError):
    """Worth trying again later: 429, 5xx, timeouts, dropped connections."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class FatalError(ProviderError):
    """Retrying will not help and no request can succeed (bad key, exhausted quota): stop the run."""


class RequestRejectedError(ProviderError):
    """The provider refused this one request (context length, content policy, invalid input).

    It concerns the item, not the run: the stage drops the item with ``reason`` and goes on.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
