"""A loopback HTTP server that speaks the part of Reddit's JSON API valact uses.

Reddit cannot be reached from the test machines, so PRAW runs unchanged against this
server (``oauth_url``/``reddit_url`` point here). It implements what PRAW sends and parses:

- ``POST /api/v1/access_token`` (application-only OAuth: HTTP Basic client id/secret,
  ``grant_type=client_credentials``) returning a bearer token;
- ``GET /r/{sub}/new|top|controversial`` listings with ``limit``/``after`` cursors, ``t=``
  time filters and Reddit's cap of about 1,000 reachable items;
- ``GET /r/{sub}/search`` (``q``, ``sort``, ``t``, ``restrict_sr``);
- ``GET /api/info?id=t3_a,t3_b`` (at most 100 fullnames; unknown ids are simply absent);
- ``x-ratelimit-remaining/used/reset`` headers on every API response.

Faults can be queued: 429 with rate-limit headers, 500, slow responses and truncated JSON
bodies, each for the next N matching requests. Every request is logged for assertions.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WINDOWS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400, "year": 366 * 86400}
RATE_WINDOW_S = 600
RATE_BUDGET = 1000
LISTING_RE = re.compile(r"^/r/([^/]+)/(new|top|controversial|search)/?$")


def make_post(
    post_id: str, subreddit: str, created_utc: float, title: str, selftext: str,
    author: str | None = "someone", score: int = 1, num_comments: int = 0, over_18: bool = False,
) -> dict[str, Any]:
    """A submission as Reddit's API returns it (the fields PRAW and valact read, plus a few)."""
    permalink = f"/r/{subreddit}/comments/{post_id}/{re.sub(r'[^a-z0-9]+', '_', title.lower())[:40]}/"
    return {
        "id": post_id, "name": f"t3_{post_id}", "subreddit": subreddit,
        "subreddit_name_prefixed": f"r/{subreddit}", "subreddit_id": "t5_2qh1i",
        "title": title, "selftext": selftext, "author": author or "[deleted]",
        "author_fullname": f"t2_{abs(hash(author)) % 10**8:x}" if author else None,
        "created_utc": float(created_utc), "created": float(created_utc), "score": score, "ups": score,
        "upvote_ratio": 0.9, "num_comments": num_comments, "over_18": over_18, "permalink": permalink,
        "url": f"https://www.reddit.com{permalink}", "is_self": True, "edited": False,
        "removed_by_category": None, "stickied": False, "locked": False,
    }


@dataclass
class Fault:
    """Misbehave on the next ``times`` requests whose path contains ``path_contains``."""

    kind: str  # "429" | "500" | "slow" | "truncated"
    times: int = 1
    path_contains: str = ""
    delay_s: float = 0.0
    reset_s: int = 1


@dataclass
class LoggedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    fault: str | None = None


@dataclass
class _State:
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    log: list[LoggedRequest] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    used: int = 0
    window_start: float = field(default_factory=time.monotonic)


class RedditServer:
    """Start with ``with RedditServer() as server:``; PRAW talks to ``server.url``."""

    def __init__(
        self, client_id: str = "valact-test-client", client_secret: str = "valact-test-secret",
        now: float | None = None, listing_cap: int = 1000,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.now = now if now is not None else time.time()
        self.listing_cap = listing_cap
        self.state = _State()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- data -------------------------------------------------------------------------------

    def add_posts(self, posts: Iterable[dict[str, Any]]) -> None:
        """Publish submissions (dicts as made by ``make_post``)."""
        with self._lock:
            for post in posts:
                self.state.posts[post["id"]] = dict(post)

    def delete(self, post_id: str) -> None:
        """The author deleted the post: text and author gone, as Reddit shows it."""
        with self._lock:
            post = self.state.posts[post_id]
            post.update(selftext="[deleted]", author="[deleted]", author_fullname=None,
                        removed_by_category="deleted")

    def remove(self, post_id: str) -> None:
        """A moderator removed the post: text gone, author still shown."""
        with self._lock:
            self.state.posts[post_id].update(selftext="[removed]", removed_by_category="moderator")

    def edit(self, post_id: str, selftext: str) -> None:
        """The author edited the post's text."""
        with self._lock:
            self.state.posts[post_id].update(selftext=selftext, edited=time.time())

    def inject(self, kind: str, times: int = 1, path_contains: str = "", delay_s: float = 0.0,
               reset_s: int = 1) -> None:
        """Queue a fault for the next ``times`` matching API requests."""
        if kind not in ("429", "500", "slow", "truncated"):
            raise ValueError(f"unknown fault {kind}")
        with self._lock:
            self.state.faults.append(Fault(kind, times, path_contains, delay_s, reset_s))

    def requests(self, path_contains: str = "", status: int | None = None) -> list[LoggedRequest]:
        """Logged requests, optionally only those on a path and with a status."""
        with self._lock:
            return [r for r in self.state.log
                    if path_contains in r.path and (status is None or r.status == status)]

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, for both PRAW's ``oauth_url`` and ``reddit_url``."""
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RedditServer:
        """Listen on 127.0.0.1 on a free port, in a daemon thread."""
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and join the thread."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> RedditServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- behaviour (called from handler threads) -----------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.state.faults:
                if fault.times > 0 and fault.path_contains in path:
                    fault.times -= 1
                    return Fault(fault.kind, 1, fault.path_contains, fault.delay_s, fault.reset_s)
            return None

    def _rate_headers(self) -> dict[str, str]:
        with self._lock:
            elapsed = time.monotonic() - self.state.window_start
            if elapsed >= RATE_WINDOW_S:
                self.state.window_start, self.state.used, elapsed = time.monotonic(), 0, 0.0
            self.state.used += 1
            return {
                "x-ratelimit-remaining": f"{max(RATE_BUDGET - self.state.used, 0):.1f}",
                "x-ratelimit-used": str(self.state.used),
                "x-ratelimit-reset": str(int(RATE_WINDOW_S - elapsed)),
            }

    def _sorted(self, sub: str, sort: str, t: str | None) -> list[dict[str, Any]]:
        with self._lock:
            posts = [p for p in self.state.posts.values() if p["subreddit"].lower() == sub.lower()]
        if t in WINDOWS:
            posts = [p for p in posts if p["created_utc"] >= self.now - WINDOWS[t]]
        if sort == "new":
            return sorted(posts, key=lambda p: (-p["created_utc"], p["id"]))
        if sort == "top":
            return sorted(posts, key=lambda p: (-p["score"], -p["created_utc"], p["id"]))
        if sort == "controversial":
            return sorted(posts, key=lambda p: (-p["num_comments"] / (abs(p["score"]) + 1), p["id"]))
        return sorted(posts, key=lambda p: (-p["score"] - p["num_comments"], p["id"]))  # relevance

    def listing_page(self, sub: str, kind: str, query: dict[str, str]) -> dict[str, Any]:
        """One page of a listing or search, as Reddit's ``Listing`` JSON."""
        if kind == "search":
            terms = [w.lower() for w in query.get("q", "").split() if w != "*"]
            sort = query.get("sort", "relevance")
            posts = [p for p in self._sorted(sub, sort, query.get("t"))
                     if all(w in (p["title"] + " " + p["selftext"]).lower() for w in terms)]
        else:
            posts = self._sorted(sub, kind, query.get("t") if kind != "new" else None)
        posts = posts[: self.listing_cap]
        limit = max(1, min(int(query.get("limit", "25")), 100))
        start = 0
        if after := query.get("after"):
            names = [p["name"] for p in posts]
            start = names.index(after) + 1 if after in names else len(posts)
        page = posts[start:start + limit]
        more = start + limit < len(posts)
        return _listing(page, page[-1]["name"] if page and more else None)

    def info(self, ids: list[str]) -> dict[str, Any]:
        """``/api/info``: the known submissions among the fullnames, in the order asked."""
        with self._lock:
            posts = self.state.posts
            found = [dict(posts[i[3:]]) for i in ids if i.startswith("t3_") and i[3:] in posts]
        return _listing(found, None)


def _listing(posts: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    return {"kind": "Listing", "data": {
        "after": after, "dist": len(posts), "modhash": None, "geo_filter": "",
        "children": [{"kind": "t3", "data": p} for p in posts], "before": None,
    }}


class _Handler(BaseHTTPRequestHandler):
    owner: RedditServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the server keeps its own request log."""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
              query: dict[str, str] | None = None, fault: str | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=UTF-8")
        self.send_header("content-length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        with self.owner._lock:
            self.owner.state.log.append(
                LoggedRequest(self.command, urlsplit(self.path).path, query or {}, status, fault)
            )

    def _json(self, status: int, payload: Any, **kw: Any) -> None:
        self._send(status, json.dumps(payload).encode(), **kw)

    def do_POST(self) -> None:
        """Only the token endpoint."""
        length = int(self.headers.get("content-length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path.rstrip("/") != "/api/v1/access_token":
            self._json(404, {"message": "Not Found", "error": 404})
            return
        expected = base64.b64encode(f"{self.owner.client_id}:{self.owner.client_secret}".encode()).decode()
        if self.headers.get("authorization", "") != f"Basic {expected}":
            self._json(401, {"message": "Unauthorized", "error": 401})
            return
        if form.get("grant_type") != "client_credentials":
            self._json(200, {"error": "unsupported_grant_type"})
            return
        token = secrets.token_urlsafe(16)
        with self.owner._lock:
            self.owner.state.tokens.add(token)
        self._json(200, {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"})

    def do_GET(self) -> None:
        """Listings, search and /api/info, behind the bearer token and any queued fault."""
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        token = self.headers.get("authorization", "").removeprefix("bearer ").strip()
        with self.owner._lock:
            authorised = token in self.owner.state.tokens
        if not authorised:
            self._send(401, b'{"message": "Unauthorized", "error": 401}', query=query)
            return
        rate = self.owner._rate_headers()
        fault = self.owner._take_fault(path)
        if fault is not None and fault.kind == "429":
            headers = {**rate, "x-ratelimit-remaining": "0.0", "x-ratelimit-reset": str(fault.reset_s)}
            self._json(429, {"message": "Too Many Requests", "error": 429}, headers=headers, query=query,
                       fault="429")
            return
        if fault is not None and fault.kind == "500":
            self._json(500, {"message": "Internal Server Error", "error": 500}, headers=rate, query=query,
                       fault="500")
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay_s)
        match = LISTING_RE.match(path)
        if match:
            payload: Any = self.owner.listing_page(match.group(1), match.group(2), query)
        elif path.rstrip("/") == "/api/info":
            ids = [i for i in query.get("id", "").split(",") if i]
            if len(ids) > 100:
                self._json(400, {"message": "Bad Request", "error": 400}, headers=rate, query=query)
                return
            payload = self.owner.info(ids)
        else:
            self._json(404, {"message": "Not Found", "error": 404}, headers=rate, query=query)
            return
        body = json.dumps(payload).encode()
        if fault is not None and fault.kind == "truncated":
            self._send(200, body[: len(body) // 2], headers=rate, query=query, fault="truncated")
            return
        self._send(200, body, headers=rate, query=query, fault=fault.kind if fault else None)


def posts_from_index_csv(path: str, deleted_every: int = 0, removed_every: int = 0) -> tuple[
    list[dict[str, Any]], set[str], set[str]
]:
    """Submissions for every row of a VALACT index CSV, with synthetic text and authors.

    Returns (posts, ids to delete, ids to remove): every ``deleted_every``-th row is to be
    deleted and every ``removed_every``-th (not already deleted) removed.
    """
    import csv
    from datetime import UTC, datetime

    posts: list[dict[str, Any]] = []
    deleted: set[str] = set()
    removed: set[str] = set()
    with open(path, newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=1):
            match = re.search(r"/comments/([a-z0-9]+)", row["url"])
            assert match, row["url"]
            pid = match.group(1)
            created = datetime.strptime(row["time"], "%Y-%m-%d").replace(tzinfo=UTC).timestamp() + 3600
            text = (f"Post {pid}: I am weighing what to do about this and would like advice. " * 6).strip()
            posts.append(make_post(pid, row["subreddit"].removeprefix("r/"), created, row["title"], text,
                                   author=f"index_author_{n:04d}", score=n % 97, num_comments=n % 13))
            if deleted_every and n % deleted_every == 0:
                deleted.add(pid)
            elif removed_every and n % removed_every == 0:
                removed.add(pid)
    return posts, deleted, removed
