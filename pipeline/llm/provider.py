"""The one interface every model provider implements."""

from __future__ import annotations

from typing import Protocol

from pipeline.llm.types import ChatRequest, ChatResponse


class Provider(Protocol):
    """Sends one chat request; raises RetryableError, RequestRejectedError or FatalError, never junk."""

    name: str

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Send the request and return the model's answer with token counts."""
        ...

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        """The same, awaited: the streaming engine keeps many of these in flight on one loop."""
        ...

    async def aclose(self) -> None:
        """Release connections opened by ``acomplete`` (called inside the loop that used them)."""
        ...
