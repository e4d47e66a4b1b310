"""DashScope native provider helpers: URLs and JSON-mode messages."""

from __future__ import annotations

from pipeline.llm.dashscope_provider import compatible_url, parse_generation, schema_hint
from pipeline.llm.types import ChatRequest


def test_compatible_url_for_batches() -> None:
    assert compatible_url("https://dashscope-intl.aliyuncs.com/api/v1") == (
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    )
    assert compatible_url("http://127.0.0.1:9/api/v1/") == "http://127.0.0.1:9/compatible-mode/v1"
    assert compatible_url(None) == "https://dashscope.aliyuncs.com/compatible-mode/v1"


def test_schema_travels_in_the_system_turn_only_when_asked() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    schema = {"type": "object", "properties": {"decision": {"type": "string"}}}
    strict = ChatRequest(model="q", messages=messages, response_schema=schema, structured_mode="json_schema")
    hinted = schema_hint(strict)
    assert '"decision"' in hinted[0]["content"] and hinted[1] == messages[1]
    assert messages[0]["content"] == "Be brief."  # the request is not mutated
    plain = strict.model_copy(update={"structured_mode": "json_object"})
    assert schema_hint(plain) == messages


def test_parse_message_result_format() -> None:
    output = {"choices": [{"finish_reason": "length", "message": {"role": "assistant", "content": "{\"a\""}}]}
    answer = parse_generation(output, {"input_tokens": 12, "output_tokens": 3}, "qwen", 0.1)
    got = (answer.text, answer.finish_reason, answer.tokens_in, answer.tokens_out)
    assert got == ('{"a"', "length", 12, 3)
