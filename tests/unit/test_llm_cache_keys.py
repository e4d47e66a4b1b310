"""Cache keys: equal requests share a key, any change to what shapes the answer changes it."""

from __future__ import annotations

from pathlib import Path

from pipeline.llm.cache import ResponseCache, request_key
from pipeline.llm.types import ChatRequest, ChatResponse

BASE = ChatRequest(
    model="m", messages=[{"role": "user", "content": "hi"}], temperature=0.0, max_tokens=10,
    response_schema={"type": "object"}, schema_name="s",
)


def test_same_request_same_key() -> None:
    again = ChatRequest(**BASE.model_dump())
    assert request_key("openai", BASE) == request_key("openai", again)


def test_every_part_of_the_request_is_in_the_key() -> None:
    variants = [
        ("dashscope", BASE),
        ("openai", BASE.model_copy(update={"model": "m2"})),
        ("openai", BASE.model_copy(update={"messages": [{"role": "user", "content": "hi!"}]})),
        ("openai", BASE.model_copy(update={"temperature": 0.5})),
        ("openai", BASE.model_copy(update={"max_tokens": 11})),
        ("openai", BASE.model_copy(update={"seed": 1})),
        ("openai", BASE.model_copy(update={"response_schema": {"type": "array"}})),
        ("openai", BASE.model_copy(update={"structured_mode": "json_object"})),
    ]
    keys = {request_key(provider, request) for provider, request in variants}
    assert len(keys) == len(variants)
    assert request_key("openai", BASE) not in keys


def test_cache_round_trip_and_first_write_wins(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    key = request_key("openai", BASE)
    assert cache.get(key) is None
    cache.put(key, "openai", "m", "p1", ChatResponse(text="first", tokens_in=3))
    cache.put(key, "openai", "m", "p1", ChatResponse(text="second"))
    hit = cache.get(key)
    assert hit is not None and hit.text == "first" and hit.tokens_in == 3
    cache.close()
    reopened = ResponseCache(tmp_path / "c.sqlite")
    assert reopened.get(key) is not None
