"""Reddit API helpers: credential errors, retry waits, listing specs."""

from __future__ import annotations

import prawcore
import pytest
import requests

from pipeline.sources.reddit_api import (
    RedditCredentials,
    RedditCredentialsError,
    RedditOptions,
    RetryPolicy,
    retry_wait,
)
from pipeline.stages.collect import ListingSpec


def test_missing_credentials_are_named() -> None:
    with pytest.raises(RedditCredentialsError) as err:
        RedditCredentials.from_env({"REDDIT_CLIENT_ID": "abc", "REDDIT_USER_AGENT": " "})
    assert "REDDIT_CLIENT_SECRET" in str(err.value) and "REDDIT_USER_AGENT" in str(err.value)
    assert "REDDIT_CLIENT_ID" not in str(err.value)


def test_secret_not_in_repr() -> None:
    creds = RedditCredentials.from_env({"REDDIT_CLIENT_ID": "id", "REDDIT_CLIENT_SECRET": "hunter2",
                                        "REDDIT_USER_AGENT": "valact/test"})
    assert "hunter2" not in repr(creds)


def _response(status: int, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


def test_429_waits_as_long_as_reddit_says() -> None:
    exc = prawcore.TooManyRequests(_response(429, {"x-ratelimit-reset": "7", "x-ratelimit-remaining": "0"}))
    assert retry_wait(exc, 1, RetryPolicy()) == 7
    assert retry_wait(exc, 1, RetryPolicy(max_wait_s=3)) == 3


def test_server_errors_back_off_exponentially() -> None:
    exc = prawcore.ServerError(_response(500, {}))
    policy = RetryPolicy(backoff_s=1.0, max_wait_s=100)
    assert 1 <= retry_wait(exc, 1, policy) <= 2
    assert 8 <= retry_wait(exc, 4, policy) <= 9


def test_listing_specs() -> None:
    assert ListingSpec.parse("new") == ListingSpec("new")
    assert ListingSpec.parse("top:year") == ListingSpec("top", "year")
    assert ListingSpec.parse("search:should I quit") == ListingSpec("search", "all", "should I quit")
    with pytest.raises(ValueError, match="time filter"):
        ListingSpec.parse("controversial:decade")
    with pytest.raises(ValueError):
        ListingSpec.parse("hot")


def test_reddit_options_connect_with_environment_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDDIT_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("REDDIT_CLIENT_ID", "id")
    monkeypatch.setenv("REDDIT_USER_AGENT", "valact/test")
    options = RedditOptions(oauth_url="http://127.0.0.1:9/", timeout_s=5, max_attempts=2, backoff_s=0)
    with pytest.raises(RedditCredentialsError, match="REDDIT_CLIENT_SECRET"):
        options.connect()
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "s")
    source = options.connect()
    assert source.policy == RetryPolicy(max_attempts=2, backoff_s=0)
    assert source.reddit.config.oauth_url == "http://127.0.0.1:9" and source.reddit.config.timeout == 5
    assert RedditOptions.model_validate(options.model_dump()) == options  # a plain flow parameter
