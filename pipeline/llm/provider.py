"""The one interface every model provider implements."""

from __future__ import annotations

from typing import Protocol

from pipeline.llm.types import ChatRequest, ChatResponse


class Provider(Protocol):
    """Sends one chat request; raises RetryableError or FatalError, never returns junk silently."""

    name: str

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Send the request and return the model's answer with token counts."""
        ...
