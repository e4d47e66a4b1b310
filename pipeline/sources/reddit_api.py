"""Reddit through PRAW: credentials from the environment, listings, search, fetch by id.

PRAW and prawcore already pace requests by Reddit's ``x-ratelimit-*`` headers and retry
5xx and dropped connections twice. What they do not do is survive a 429, a 5xx storm that
outlasts their two retries, or a truncated JSON body; this module wraps every page fetch in
a retry loop with backoff that honours ``retry-after`` / ``x-ratelimit-reset``, so a fault
costs time but never loses a post or stops a run.

Submissions come back as plain dicts shaped like Reddit's JSON (what dumps hold), so the
collect stage maps API and dump records with one function.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

import praw
import prawcore
from pydantic import BaseModel, ConfigDict, Field

ENV_CLIENT_ID = "REDDIT_CLIENT_ID"
ENV_CLIENT_SECRET = "REDDIT_CLIENT_SECRET"
ENV_USER_AGENT = "REDDIT_USER_AGENT"
INFO_BATCH = 100  # Reddit's /api/info accepts at most 100 fullnames per request

T = TypeVar("T")
_END = object()


class RedditCredentialsError(Exception):
    """Reddit credentials are missing; the message names every missing variable."""


class RedditUnavailableError(Exception):
    """Reddit kept failing after every retry; nothing fetched so far is lost."""


@dataclass(frozen=True)
class RedditCredentials:
    """A Reddit app's credentials. The secret never appears in repr or logs."""

    client_id: str
    client_secret: str = field(repr=False)
    user_agent: str

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RedditCredentials:
        """Read the three variables (``.env`` is loaded by the config); name any that are missing."""
        env = os.environ if environ is None else environ
        names = (ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_USER_AGENT)
        missing = [name for name in names if not env.get(name, "").strip()]
        if missing:
            raise RedditCredentialsError(
                f"Reddit API credentials missing: set {', '.join(missing)} in the environment or .env "
                "(create a 'script' app at https://www.reddit.com/prefs/apps; the user agent should "
                "read like 'valact/0.1 by u/yourname')"
            )
        return cls(env[ENV_CLIENT_ID].strip(), env[ENV_CLIENT_SECRET].strip(), env[ENV_USER_AGENT].strip())


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a page: attempts, exponential backoff, cap on any one wait."""

    max_attempts: int = 8
    backoff_s: float = 2.0
    max_wait_s: float = 120.0


@dataclass
class FetchStats:
    """What the API source did: submissions received, retries and why."""

    items: int = 0
    retries: int = 0
    retry_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {"items": self.items, "retries": self.retries, "retry_reasons": dict(self.retry_reasons)}


def _header(exc: prawcore.ResponseException, name: str) -> float | None:
    value = exc.response.headers.get(name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def retry_wait(exc: Exception, attempt: int, policy: RetryPolicy) -> float:
    """Seconds to wait before retrying after ``exc`` (attempt counts from 1)."""
    if isinstance(exc, prawcore.TooManyRequests):
        hinted = _header(exc, "retry-after") or _header(exc, "x-ratelimit-reset")
        if hinted is not None:
            return min(max(hinted, 0.0), policy.max_wait_s)
    base = policy.backoff_s * 2 ** (attempt - 1)
    return float(min(base + random.uniform(0, policy.backoff_s), policy.max_wait_s))


RETRYABLE = (prawcore.TooManyRequests, prawcore.ServerError, prawcore.RequestException, prawcore.BadJSON)


def submission_data(submission: Any) -> dict[str, Any]:
    """A PRAW Submission as the dict Reddit sent, read without triggering a lazy fetch."""
    attrs = vars(submission)
    data = {k: v for k, v in attrs.items() if not k.startswith("_")}
    author = attrs.get("author")
    data["author"] = getattr(author, "name", None) if author is not None else None
    subreddit = attrs.get("subreddit")
    data["subreddit"] = getattr(subreddit, "display_name", None) or str(subreddit)
    return data


class RedditSource:
    """Listings, search and fetch-by-id over PRAW, each page retried until it arrives."""

    def __init__(
        self,
        reddit: praw.Reddit,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reddit = reddit
        self.policy = policy or RetryPolicy()
        self.stats = FetchStats()
        self._sleep = sleep

    @classmethod
    def connect(
        cls,
        credentials: RedditCredentials,
        oauth_url: str | None = None,
        reddit_url: str | None = None,
        timeout_s: float = 30.0,
        policy: RetryPolicy | None = None,
    ) -> RedditSource:
        """A read-only (application-only OAuth) PRAW client; URLs can point at a stand-in server."""
        settings: dict[str, Any] = {"check_for_updates": False, "timeout": int(max(timeout_s, 1))}
        if oauth_url:
            settings["oauth_url"] = oauth_url.rstrip("/")
        if reddit_url:
            settings["reddit_url"] = reddit_url.rstrip("/")
        reddit = praw.Reddit(
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            user_agent=credentials.user_agent,
            **settings,
        )
        reddit.read_only = True
        return cls(reddit, policy)

    def _retry(self, call: Callable[[], T], what: str) -> T:
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                return call()
            except RETRYABLE as exc:
                if attempt == self.policy.max_attempts:
                    raise RedditUnavailableError(
                        f"{what}: still failing after {attempt} attempts ({type(exc).__name__}: {exc})"
                    ) from exc
                reason = type(exc).__name__
                self.stats.retries += 1
                self.stats.retry_reasons[reason] = self.stats.retry_reasons.get(reason, 0) + 1
                self._sleep(retry_wait(exc, attempt, self.policy))
        raise AssertionError("unreachable")  # pragma: no cover

    def _drain(self, generator: Iterator[Any], what: str) -> Iterator[dict[str, Any]]:
        """Iterate a PRAW ListingGenerator, retrying the page fetch behind any ``next``.

        A failed page leaves the generator's cursor untouched, so calling ``next`` again
        asks for the same page.
        """
        while True:
            item = self._retry(lambda: next(generator, _END), what)
            if item is _END:
                return
            self.stats.items += 1
            yield submission_data(item)

    def listing(self, subreddit: str, kind: str, time_filter: str | None = None) -> Iterator[dict[str, Any]]:
        """Every submission of ``/r/sub/new|top|controversial``, following ``after`` to the end."""
        sub = self.reddit.subreddit(subreddit)
        if kind == "new":
            generator = sub.new(limit=None)
        elif kind in ("top", "controversial"):
            generator = getattr(sub, kind)(time_filter=time_filter or "all", limit=None)
        else:
            raise ValueError(f"unknown listing {kind!r}; use new, top or controversial")
        return self._drain(generator, f"r/{subreddit}/{kind}")

    def search(
        self, subreddit: str, query: str, sort: str = "new", time_filter: str = "all"
    ) -> Iterator[dict[str, Any]]:
        """Search results within one subreddit, newest first by default."""
        generator = self.reddit.subreddit(subreddit).search(
            query, sort=sort, time_filter=time_filter, syntax="lucene", limit=None
        )
        return self._drain(generator, f"r/{subreddit}/search")

    def info(
        self, post_ids: Iterable[str], batch: int = INFO_BATCH
    ) -> Iterator[tuple[list[str], list[dict[str, Any]]]]:
        """Fetch posts by id, ``batch`` fullnames per request; yields (asked ids, found posts)."""
        ids = iter(post_ids)
        while chunk := list(islice(ids, batch)):
            fullnames = [f"t3_{pid.removeprefix('t3_')}" for pid in chunk]
            found = self._retry(
                lambda names=fullnames: list(self.reddit.info(fullnames=names)),  # type: ignore[misc]
                f"/api/info ({len(chunk)} ids)",
            )
            posts = [submission_data(s) for s in found if type(s).__name__ == "Submission"]
            self.stats.items += len(posts)
            yield chunk, posts


class RedditOptions(BaseModel):
    """How to reach Reddit: endpoints, timeout and retry policy; credentials stay in the environment.

    One model for every command and flow that talks to Reddit (collect from listings or the
    index, rehydrate a release), so they take the same options and connect the same way. A
    plain value without secrets, so it can be a flow parameter.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    oauth_url: str | None = Field(default=None, description="API base URL (None = https://oauth.reddit.com)")
    reddit_url: str | None = Field(default=None, description="token endpoint base (None = https://www.reddit.com)")
    timeout_s: float = Field(default=30.0, ge=1, description="seconds to wait for one API response")
    max_attempts: int = Field(default=8, ge=1, description="tries per API page before giving up")
    backoff_s: float = Field(default=2.0, ge=0, description="first retry wait in seconds (doubles)")

    def connect(self) -> RedditSource:
        """A read-only source with credentials from the environment (``.env`` loaded by the caller)."""
        return RedditSource.connect(
            RedditCredentials.from_env(), self.oauth_url, self.reddit_url, self.timeout_s,
            RetryPolicy(self.max_attempts, self.backoff_s),
        )
