"""One place that decides whether a provider failure is worth retrying.

Both providers (the OpenAI SDK and DashScope's native SDK) report HTTP status codes and a
vendor error code; the same rules apply to both, so a 429 from either is a pause and a bad
key from either stops the run with a message that says what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.llm.types import FatalError, RequestRejectedError, RetryableError

# Vendor codes that mean "your account cannot pay", which no amount of waiting fixes.
QUOTA_CODES = ("insufficient_quota", "arrearage", "allocationquota", "billing_hard_limit", "quota")
AUTH_CODES = ("invalid_api_key", "invalidapikey", "unauthorized", "accessdenied")
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
# Answers about one request's content: the item is dropped with the provider's reason.
ITEM_STATUS = frozenset({400, 413, 422})
# ...unless the code says the request could never have worked for any item (wrong model id).
RUN_LEVEL_CODES = ("model_not_found", "invalid_model", "unsupported_model", "modelnotfound")
# Vendor codes worth keeping as the drop reason, most specific first.
ITEM_REASONS = (
    ("context_length", "context_length_exceeded"), ("maximum context", "context_length_exceeded"),
    ("too_long", "context_length_exceeded"), ("input_length", "context_length_exceeded"),
    ("content_filter", "content_filter"),
    ("content_policy", "content_filter"), ("datainspection", "content_filter"),
    ("invalid_prompt", "invalid_prompt"), ("response_format", "invalid_schema"),
    ("json_schema", "invalid_schema"),
)


class RateLimitedError(RetryableError):
    """HTTP 429 (or the vendor's throttling code): the limiter cools down, then retries."""


class BudgetExceededError(FatalError):
    """The next request could push spending over ``--budget``: stop cleanly, resume later."""


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (numeric form), if sent."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = lowered.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            return None
    return None


def rejection_reason(code: str, message: str) -> str:
    """A short, stable drop reason for a rejected request (``rejected`` if nothing specific)."""
    low = f"{code} {message}".lower().replace(" ", "_")
    for needle, reason in ITEM_REASONS:
        if needle in low:
            return reason
    return "rejected"


def classify_status(
    status: int, code: str, message: str, model: str, headers: Mapping[str, str] | None = None
) -> RetryableError | FatalError | RequestRejectedError:
    """The exception to raise for an HTTP error answer from a provider."""
    low = f"{code} {message}".lower().replace(".", "").replace(" ", "_")
    wait = retry_after(headers)
    if any(c in low for c in QUOTA_CODES) and "ratequota" not in low:
        return FatalError(f"{model}: quota or billing exhausted ({code or status}): {message}")
    if status in (401, 403) or any(c in low for c in AUTH_CODES):
        return FatalError(f"{model}: the API key was refused (HTTP {status}, {code}); check the key in env")
    if status == 429 or "throttling" in low:
        return RateLimitedError(f"{model}: rate limited (HTTP {status}, {code})", wait)
    if status in RETRYABLE_STATUS or status >= 500:
        return RetryableError(f"{model}: HTTP {status} ({code}): {message}"[:300], wait)
    if status in ITEM_STATUS and not any(c in low for c in RUN_LEVEL_CODES):
        return RequestRejectedError(
            f"{model}: request rejected (HTTP {status}, {code}): {message}"[:500],
            rejection_reason(code, message),
        )
    return FatalError(f"{model}: request rejected (HTTP {status}, {code}): {message}"[:500])
