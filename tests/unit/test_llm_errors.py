"""Retryable, rejected-for-this-item, or fatal, for both providers' error vocabularies."""

from __future__ import annotations

import pytest

from pipeline.llm.errors import RateLimitedError, classify_status, retry_after
from pipeline.llm.types import FatalError, RequestRejectedError, RetryableError


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "rate_limit_exceeded", RateLimitedError),
        (429, "Throttling.RateQuota", RateLimitedError),
        (429, "insufficient_quota", FatalError),
        (400, "Arrearage", FatalError),
        (401, "invalid_api_key", FatalError),
        (401, "InvalidApiKey", FatalError),
        (403, "AccessDenied", FatalError),
        (400, "invalid_request_error", RequestRejectedError),
        (400, "context_length_exceeded", RequestRejectedError),
        (400, "DataInspectionFailed", RequestRejectedError),
        (404, "model_not_found", FatalError),
        (400, "model_not_found", FatalError),
        (500, "InternalError", RetryableError),
        (503, "", RetryableError),
        (408, "", RetryableError),
    ],
)
def test_classification(status: int, code: str, kind: type[Exception]) -> None:
    error = classify_status(status, code, "message", "gpt-4o")
    assert type(error) is kind


def test_fatal_messages_say_what_to_fix_without_the_key() -> None:
    error = classify_status(401, "invalid_api_key", "Incorrect API key provided: sk-abc***", "gpt-4o")
    assert "API key was refused" in str(error)
    assert "sk-abc" not in str(error)


def test_retry_after_headers() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after(None) is None
    error = classify_status(429, "rate_limit_exceeded", "slow down", "m", {"retry-after": "2"})
    assert isinstance(error, RetryableError) and error.retry_after_s == 2.0


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        ("context_length_exceeded", "This model's maximum context length is 128000 tokens",
         "context_length_exceeded"),
        ("invalid_request_error", "This model's maximum context length is 4096 tokens",
         "context_length_exceeded"),
        ("invalid_prompt", "Invalid prompt: flagged as potentially violating our usage policy",
         "invalid_prompt"),
        ("InvalidParameter", "Range of input length should be [1, 129024]", "context_length_exceeded"),
        ("invalid_request_error", "'messages' must contain the word 'json'", "rejected"),
        ("invalid_request_error", "Invalid schema for response_format 'x'", "invalid_schema"),
    ],
)
def test_rejections_carry_the_providers_reason(code: str, message: str, reason: str) -> None:
    error = classify_status(400, code, message, "gpt-4o")
    assert isinstance(error, RequestRejectedError)
    assert error.reason == reason
    assert message[:40] in str(error)
