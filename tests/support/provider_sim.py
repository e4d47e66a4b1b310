"""A loopback stand-in for the OpenAI and DashScope HTTP APIs, for tests and benchmarks.

It speaks the real wire formats the SDKs use, so the production code paths run unchanged:

- OpenAI chat completions ``POST /v1/chat/completions`` (also under ``/compatible-mode/v1``,
  DashScope's OpenAI-compatible mode), files (``POST /v1/files`` multipart,
  ``GET /v1/files/{id}/content``) and batches (``POST/GET /v1/batches[/{id}]``);
- DashScope native ``POST /api/v1/services/aigc/text-generation/generation`` with
  ``result_format='message'`` answers and DashScope's error bodies (``code``/``message``).

Limits are enforced over a sliding window (``rpm``/``tpm`` per ``window_s``) and answered with
real 429s carrying ``Retry-After``. Faults are injected per request, decided from a hash of the
request body and how many times that body was seen, so a run is reproducible regardless of
thread timing. Every answered (billable) request is counted by body hash, so a test can assert
that no request was paid for twice.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import math
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_KINDS = (
    "server_error", "timeout", "malformed_body", "malformed_content", "truncated", "content_filter"
)
VALUE_KEYS = (
    "Self-direction", "Stimulation", "Hedonism", "Achievement", "Power",
    "Security", "Conformity", "Tradition", "Benevolence", "Universalism",
)
ACTIONS = (
    "Decide on your own plan tonight and write down the first step.",
    "Try the bold option you have never tested before.",
    "Pick the choice that lets you enjoy the coming weekend most.",
    "Prepare a strong case and show your results to the people who judge them.",
    "Take charge of the decision and tell everyone what will happen next.",
    "Keep the stable arrangement and build a savings cushion first.",
    "Follow what your manager and family expect and avoid upsetting anyone.",
    "Ask your elders how this was handled in your family before.",
    "Check how your partner feels and choose what helps them most.",
    "Choose the option that is fair to everyone involved, including strangers.",
)

Responder = Callable[[list[dict[str, Any]], dict[str, Any] | None], str]


def body_hash(body: dict[str, Any]) -> str:
    """Stable hash of a request body (what "the same request" means for billing)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _unit(*parts: object) -> float:
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def default_answer(messages: list[dict[str, Any]], schema: dict[str, Any] | None) -> str:
    """A valid answer for valact's two tasks (screen decision, ten actions), else ``{}``."""
    text = " ".join(str(m.get("content", "")) for m in messages)
    props = (schema or {}).get("properties", {})
    if "decision" in props or '"decision"' in text:
        return json.dumps({"decision": "Yes" if _unit(text[:400]) < 0.7 else "No"})
    if set(VALUE_KEYS) <= set(props) or all(k in text for k in VALUE_KEYS):
        return json.dumps(dict(zip(VALUE_KEYS, ACTIONS, strict=True)))
    return json.dumps({"answer": "ok"})


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


@dataclass
class SimConfig:
    """Behaviour of the simulator."""

    latency_s: float = 0.0
    # A long-tailed latency instead of a fixed one: lognormal with this median and 99th
    # percentile (GPT-4o-like: median 6 s, p99 30 s). Drawn per request from ``seed``.
    latency_median_s: float | None = None
    latency_p99_s: float | None = None
    # Requests whose prompt is longer than this (about four characters per token) are
    # answered 400 context_length_exceeded, as real providers do.
    context_tokens: int | None = None
    # Requests containing this text are refused with a 400 content-policy error.
    reject_marker: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    window_s: float = 60.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    hang_s: float = 3.0
    api_key: str | None = None
    batch_delay_s: float = 0.0
    expire_first_batch: bool = False
    responder: Responder = default_answer
    responder_sees_model: bool = False


@dataclass
class SimStats:
    """What the simulator saw."""

    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    billed: Counter[str] = field(default_factory=Counter)
    accepted_times: list[float] = field(default_factory=list)
    files_uploaded: int = 0
    batches_created: int = 0
    batch_polls: int = 0
    batch_error_lines: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    auth_headers: list[str] = field(default_factory=list)
    # Chat requests being answered (admitted, latency not yet over) right now, and the most
    # at once: how many requests the client keeps in flight, seen from the provider's side.
    in_flight: int = 0
    peak_in_flight: int = 0


class ProviderSim:
    """Threaded HTTP server on 127.0.0.1; use as a context manager."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.stats = SimStats()
        self._lock = threading.RLock()
        self._window: deque[tuple[float, int]] = deque()
        self._random = random.Random(self.config.seed)
        self._seen: Counter[str] = Counter()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return self.base + "/v1"

    @property
    def dashscope_url(self) -> str:
        return self.base + "/api/v1"

    def start(self) -> ProviderSim:
        sim = self

        class Handler(_Handler):
            simulator = sim

        class Server(ThreadingHTTPServer):
            # A real provider accepts thousands of connections at once; the standard
            # library's default listen backlog of 5 would make the simulator itself the
            # bottleneck (connections beyond it wait for TCP's one-second SYN retry).
            request_queue_size = 4096

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ProviderSim:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ---- figures for assertions --------------------------------------------------------------
    def paid_twice(self) -> list[str]:
        """Body hashes answered (and billed) more than once."""
        return [h for h, n in self.stats.billed.items() if n > 1]

    def max_in_window(self, window_s: float | None = None) -> int:
        """Most accepted chat requests in any sliding window (default: the limit's window)."""
        span = window_s or self.config.window_s
        times = sorted(self.stats.accepted_times)
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= span:
                start += 1
            best = max(best, end - start + 1)
        return best

    # ---- decisions ----------------------------------------------------------------------------
    def admit(self, tokens: int) -> float | None:
        """Record a request against the limits; returns seconds to wait if it is over them."""
        cfg = self.config
        with self._lock:
            now = time.monotonic()
            while self._window and now - self._window[0][0] >= cfg.window_s:
                self._window.popleft()
            over_rpm = cfg.rpm is not None and len(self._window) >= cfg.rpm
            used = sum(n for _, n in self._window)
            over_tpm = cfg.tpm is not None and used + tokens > cfg.tpm and bool(self._window)
            if over_rpm or over_tpm:
                return max(0.05, self._window[0][0] + cfg.window_s - now)
            self._window.append((now, tokens))
            self.stats.accepted_times.append(now)
            return None

    def fault_for(self, digest: str) -> str | None:
        cfg = self.config
        with self._lock:
            nth = self._seen[digest]
            self._seen[digest] += 1
        if cfg.fault_rate <= 0 or _unit(cfg.seed, digest, nth, "fault") >= cfg.fault_rate:
            return None
        kind = cfg.fault_kinds[int(_unit(cfg.seed, digest, nth, "kind") * len(cfg.fault_kinds))]
        with self._lock:
            self.stats.faults[kind] += 1
        return kind

    def latency(self) -> float:
        """This request's answer time: fixed, or drawn from the long-tailed distribution."""
        cfg = self.config
        if cfg.latency_median_s is None:
            return cfg.latency_s
        p99 = cfg.latency_p99_s or cfg.latency_median_s * 5
        sigma = math.log(p99 / cfg.latency_median_s) / 2.326  # z of the 99th percentile
        with self._lock:
            draw = self._random.lognormvariate(math.log(cfg.latency_median_s), sigma)
        return float(min(draw, p99 * 3))

    def answering(self, change: int) -> None:
        """A chat request started (+1) or finished (-1) its answer time; keeps the peak."""
        with self._lock:
            self.stats.in_flight += change
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)

    def count_refusal(self, kind: str) -> None:
        with self._lock:
            self.stats.refused[kind] += 1

    def bill(self, digest: str) -> None:
        with self._lock:
            self.stats.billed[digest] += 1

    # ---- batches ---------------------------------------------------------------------------
    def finish_batch(self, batch: dict[str, Any]) -> None:
        """Run every line of a batch (answers and errors) and attach the result files."""
        lines = [json.loads(x) for x in self.files[batch["input_file_id"]].decode().splitlines() if x.strip()]
        expire = self.config.expire_first_batch and batch["_index"] == 0
        out, err = [], []
        for i, line in enumerate(lines):
            if expire and i % 2 == 1:
                err.append({"id": f"batch_req_{uuid.uuid4().hex[:8]}", "custom_id": line["custom_id"],
                            "response": None,
                            "error": {"code": "batch_expired", "message": "not completed in time"}})
                continue
            body = line["body"]
            digest = body_hash(body)
            fault = self.fault_for(digest)
            if fault in ("server_error", "timeout", "malformed_body"):
                err.append({"id": f"batch_req_{uuid.uuid4().hex[:8]}", "custom_id": line["custom_id"],
                            "response": {"status_code": 500, "request_id": uuid.uuid4().hex,
                                         "body": {"error": {"message": "internal", "type": "server_error"}}},
                            "error": None})
                continue
            completion = openai_completion(self, body, fault)
            self.bill(digest)
            out.append({"id": f"batch_req_{uuid.uuid4().hex[:8]}", "custom_id": line["custom_id"],
                        "response": {"status_code": 200, "request_id": uuid.uuid4().hex, "body": completion},
                        "error": None})
        self.stats.batch_error_lines += len(err)
        now = int(time.time())
        for name, rows in (("output_file_id", out), ("error_file_id", err)):
            if rows:
                file_id = f"file-{uuid.uuid4().hex[:12]}"
                self.files[file_id] = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
                batch[name] = file_id
        batch.update({
            "status": "expired" if expire else "completed",
            "completed_at": now, "finalizing_at": now, "in_progress_at": now,
            "request_counts": {"total": len(lines), "completed": len(out), "failed": len(err)},
        })


def _messages_and_schema(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    fmt = body.get("response_format") or body.get("parameters", {}).get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
    messages = body.get("messages") or body.get("input", {}).get("messages") or []
    return messages, schema


def _answer(sim: ProviderSim, body: dict[str, Any], fault: str | None) -> tuple[str, str, int, int]:
    """(content, finish_reason, prompt tokens, completion tokens) for a request."""
    messages, schema = _messages_and_schema(body)
    if sim.config.responder_sees_model:
        # The responder can answer like *this* model (two screeners then disagree sometimes).
        messages = [*messages, {"role": "system", "content": f"served model: {body.get('model', '')}"}]
    content = sim.config.responder(messages, schema)
    finish = "stop"
    if fault == "truncated":
        content, finish = content[: max(1, len(content) // 2)], "length"
    elif fault == "content_filter":
        content, finish = "", "content_filter"
    elif fault == "malformed_content":
        content = "Sure, here you go: " + content[:12]
    prompt_tokens = estimate_tokens("".join(str(m.get("content", "")) for m in messages))
    return content, finish, prompt_tokens, estimate_tokens(content)


def openai_completion(sim: ProviderSim, body: dict[str, Any], fault: str | None) -> dict[str, Any]:
    content, finish, tin, tout = _answer(sim, body, fault)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "sim"),
        "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                     "message": {"role": "assistant", "content": content, "refusal": None}}],
        "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    simulator: ProviderSim

    def log_message(self, format: str, *args: Any) -> None:
        return

    # ---- plumbing ------------------------------------------------------------------------------
    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None,
              raw: bytes | None = None,
              content_type: str = "application/json") -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        with self.simulator._lock:
            self.simulator.stats.by_status[status] += 1
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorised(self, native: bool) -> bool:
        auth = self.headers.get("Authorization", "")
        with self.simulator._lock:
            self.simulator.stats.auth_headers.append(auth)
        key = self.simulator.config.api_key
        if key is None or auth == f"Bearer {key}":
            return True
        if native:
            self._send(401, {"code": "InvalidApiKey", "message": "Invalid API-key provided.",
                             "request_id": "r"})
        else:
            self._send(401, {"error": {"message": "Incorrect API key provided.",
                                       "type": "invalid_request_error",
                                       "param": None, "code": "invalid_api_key"}})
        return False

    def _not_found(self) -> None:
        self._send(404, {"error": {"message": f"unknown path {self.path}", "type": "invalid_request_error"}})

    # ---- routes ---------------------------------------------------------------------------------
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        for prefix in ("/compatible-mode/v1", "/v1"):
            if path.startswith(prefix):
                path = path[len(prefix):]
        if not self._authorised(native=False):
            return
        sim = self.simulator
        if path.startswith("/files/") and path.endswith("/content"):
            file_id = path.split("/")[2]
            if file_id not in sim.files:
                self._send(404, {"error": {"message": "no such file", "type": "invalid_request_error"}})
                return
            self._send(200, None, raw=sim.files[file_id], content_type="application/octet-stream")
        elif path.startswith("/batches/"):
            batch_id = path.split("/")[2]
            with sim._lock:
                sim.stats.batch_polls += 1
            batch = sim.batches.get(batch_id)
            if batch is None:
                self._send(404, {"error": {"message": "no such batch", "type": "invalid_request_error"}})
                return
            if batch["status"] == "in_progress" and time.monotonic() >= batch["_ready_at"]:
                with sim._lock:
                    if batch["status"] == "in_progress":
                        sim.finish_batch(batch)
            self._send(200, _public(batch))
        elif path == "/batches":
            data = [_public(b) for b in sim.batches.values()]
            self._send(200, {"object": "list", "data": data, "first_id": None, "last_id": None,
                             "has_more": False})
        else:
            self._not_found()

    def do_POST(self) -> None:
        raw = self._body()
        path = self.path.split("?")[0]
        sim = self.simulator
        with sim._lock:
            sim.stats.requests += 1
        if path == "/api/v1/services/aigc/text-generation/generation":
            if self._authorised(native=True):
                self._dashscope(json.loads(raw))
            return
        for prefix in ("/compatible-mode/v1", "/v1"):
            if path.startswith(prefix):
                path = path[len(prefix):]
        if not self._authorised(native=False):
            return
        if path == "/chat/completions":
            self._openai_chat(json.loads(raw))
        elif path == "/files":
            self._upload(raw)
        elif path == "/batches":
            self._create_batch(json.loads(raw))
        else:
            self._not_found()

    # ---- chat --------------------------------------------------------------------------------
    def _gate(self, body: dict[str, Any]) -> tuple[str | None, str, bool]:
        """Limits, latency and fault choice. Returns (fault, digest, rejected-already).

        ``fault`` may also be ``context_length`` or ``rejected``: the request itself is
        refused (400), whatever the fault injection would have chosen.
        """
        sim = self.simulator
        messages, _ = _messages_and_schema(body)
        prompt = "".join(str(m.get("content", "")) for m in messages)
        wait = sim.admit(estimate_tokens(prompt))
        if wait is not None:
            return None, "", True
        digest = body_hash(body)
        if sim.config.context_tokens is not None and estimate_tokens(prompt) > sim.config.context_tokens:
            return "context_length", digest, False
        if sim.config.reject_marker and sim.config.reject_marker in prompt:
            return "rejected", digest, False
        fault = sim.fault_for(digest)
        delay = sim.latency()
        if delay:
            sim.answering(+1)
            try:
                time.sleep(delay)
            finally:
                sim.answering(-1)
        if fault == "timeout":
            time.sleep(sim.config.hang_s)
        return fault, digest, False

    def _retry_headers(self) -> dict[str, str]:
        sim = self.simulator
        now = time.monotonic()
        with sim._lock:
            wait = (sim._window[0][0] + sim.config.window_s - now) if sim._window else 1.0
        wait = max(0.05, wait)
        return {"Retry-After": str(math.ceil(wait)), "retry-after-ms": str(int(wait * 1000))}

    def _openai_chat(self, body: dict[str, Any]) -> None:
        fault, digest, limited = self._gate(body)
        if limited:
            self._send(429, {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                       "param": None, "code": "rate_limit_exceeded"}}, self._retry_headers())
            return
        if fault == "context_length":
            self.simulator.count_refusal(fault)
            self._send(400, {"error": {
                "message": f"This model's maximum context length is {self.simulator.config.context_tokens} "
                           "tokens. However, your messages resulted in more tokens.",
                "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}})
            return
        if fault == "rejected":
            self.simulator.count_refusal(fault)
            self._send(400, {"error": {
                "message": "Invalid prompt: your prompt was flagged as potentially violating our usage "
                           "policy.",
                "type": "invalid_request_error", "param": None, "code": "invalid_prompt"}})
            return
        if fault in ("server_error", "timeout"):
            self._send(503 if fault == "server_error" else 504,
                       {"error": {"message": "The server is overloaded", "type": "server_error",
                                  "param": None, "code": None}})
            return
        if fault == "malformed_body":
            self._send(200, None, raw=b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess')
            return
        self.simulator.bill(digest)
        self._send(200, openai_completion(self.simulator, body, fault))

    def _dashscope(self, body: dict[str, Any]) -> None:
        fault, digest, limited = self._gate(body)
        rid = uuid.uuid4().hex
        if limited:
            self._send(429, {"code": "Throttling.RateQuota",
                             "message": "Requests rate limit exceeded, please try again later.",
                             "request_id": rid}, self._retry_headers())
            return
        if fault == "context_length":
            self.simulator.count_refusal(fault)
            limit = self.simulator.config.context_tokens
            self._send(400, {"code": "InvalidParameter", "request_id": rid,
                             "message": f"Range of input length should be [1, {limit}]"})
            return
        if fault == "rejected":
            self.simulator.count_refusal(fault)
            self._send(400, {"code": "DataInspectionFailed", "request_id": rid,
                             "message": "Input data may contain inappropriate content."})
            return
        if fault in ("server_error", "timeout"):
            self._send(500, {"code": "InternalError", "message": "An internal error has occured.",
                             "request_id": rid})
            return
        if fault == "malformed_body":
            self._send(200, None, raw=b'{"output": {"choices": [{"finish_reason": "st')
            return
        if fault == "content_filter":
            self._send(400, {"code": "DataInspectionFailed",
                             "message": "Output data may contain inappropriate content.", "request_id": rid})
            return
        content, finish, tin, tout = _answer(self.simulator, body, fault)
        self.simulator.bill(digest)
        self._send(200, {
            "status_code": 200, "request_id": rid, "code": "", "message": "",
            "output": {"text": None, "finish_reason": None,
                       "choices": [{"finish_reason": finish,
                                    "message": {"role": "assistant", "content": content}}]},
            "usage": {"input_tokens": tin, "output_tokens": tout, "total_tokens": tin + tout},
        })

    # ---- files and batches --------------------------------------------------------------------
    def _upload(self, raw: bytes) -> None:
        ctype = self.headers.get("Content-Type", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + raw
        )
        content, filename, purpose = b"", "upload.jsonl", ""
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            decoded = part.get_payload(decode=True)
            payload = decoded if isinstance(decoded, bytes) else b""
            if name == "file":
                content = payload
                filename = str(part.get_filename() or filename)
            elif name == "purpose":
                purpose = payload.decode()
        sim = self.simulator
        file_id = f"file-{uuid.uuid4().hex[:12]}"
        with sim._lock:
            sim.files[file_id] = content
            sim.stats.files_uploaded += 1
        self._send(200, {"id": file_id, "object": "file", "bytes": len(content),
                         "created_at": int(time.time()),
                         "filename": filename, "purpose": purpose, "status": "processed"})

    def _create_batch(self, body: dict[str, Any]) -> None:
        sim = self.simulator
        if body.get("input_file_id") not in sim.files:
            self._send(400, {"error": {"message": "input file not found", "type": "invalid_request_error",
                                       "code": "invalid_file"}})
            return
        now = int(time.time())
        with sim._lock:
            batch_id = f"batch_{uuid.uuid4().hex[:12]}"
            lines = sim.files[body["input_file_id"]].decode().count("\n")
            sim.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": body.get("endpoint"), "errors": None,
                "input_file_id": body["input_file_id"], "completion_window": body.get("completion_window"),
                "status": "in_progress", "output_file_id": None, "error_file_id": None,
                "created_at": now, "in_progress_at": now, "expires_at": now + 86400,
                "request_counts": {"total": lines, "completed": 0, "failed": 0},
                "metadata": body.get("metadata"),
                "_ready_at": time.monotonic() + sim.config.batch_delay_s, "_index": sim.stats.batches_created,
            }
            sim.stats.batches_created += 1
        self._send(200, _public(sim.batches[batch_id]))


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if not k.startswith("_")}


def run_forever(config: SimConfig) -> None:
    """Serve until interrupted (for manual experiments: prints the base URL)."""
    with ProviderSim(config) as sim:
        print(sim.base, flush=True)
        while True:
            time.sleep(3600)


def valact_overrides(
    sim: ProviderSim,
    *,
    key_env: str = "VALACT_SIM_KEY",
    quota: int = 3,
    batch: bool = False,
    timeout_s: float = 2.0,
    max_concurrency: int | None = 4,
    rpm: int | None = None,
    budget_usd: float | None = None,
) -> dict[str, Any]:
    """Config overrides (on top of the demo profile) that send valact's models to the simulator.

    Three aliases cover the three code paths: OpenAI strict json_schema, DashScope native
    JSON mode, and DashScope's OpenAI-compatible mode (the tie-breaker).
    """
    common: dict[str, Any] = {
        "api_key_env": key_env, "timeout_s": timeout_s, "max_concurrency": max_concurrency, "max_tokens": 450,
        "price_in_per_mtok": 2.5, "price_out_per_mtok": 10.0, "batch": batch, "batch_linger_s": 0.2,
        "batch_poll_s": 0.1, "rpm": rpm,
    }
    models = {
        "gpt-sim": {"provider": "openai", "model": "gpt-4o-sim", "base_url": sim.openai_url,
                    "structured_output": "json_schema", **common},
        "qwen-sim": {"provider": "dashscope", "model": "qwen2.5-72b-sim", "base_url": sim.dashscope_url,
                     "structured_output": "json_object", **common},
        "mini-sim": {"provider": "openai", "model": "gpt-4o-mini-sim",
                     "base_url": sim.base + "/compatible-mode/v1",
                     "structured_output": "json_object", **common},
    }
    return {
        "models": models,
        "screen": {"screeners": ["gpt-sim", "qwen-sim"], "tiebreaker": "mini-sim", "quota_per_domain": quota},
        "generate": {"generators": ["gpt-sim", "qwen-sim"]},
        "budget_usd": budget_usd,
    }
