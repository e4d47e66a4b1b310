"""Batch mode: a stage's requests go through the provider's Batch API at the batch price.

Works with OpenAI's Batch API and with DashScope's OpenAI-compatible batch endpoint (same
wire format: upload a JSONL file with ``purpose="batch"``, create a batch for
``/v1/chat/completions``, poll it, download the output and error files).

Stages need no change: the client hands each cache miss of a batch-mode alias to this
runner, which gathers requests until none has arrived for ``batch_linger_s`` (the engine
starts every unit of a stage at once in batch mode, so that is the whole stage), submits
them in as few jobs as ``batch_max_requests``/``batch_max_bytes`` allow, and wakes every
waiting request, thread or coroutine, when its answer arrives. Every job is written to the
store *before* it is created (status ``creating``) and again with its batch id, and its
creation carries that record's id in the batch metadata, so a process killed at any point
finds its jobs on restart and waits for them instead of submitting (and paying) again.
Answers land in the response cache as soon as they are downloaded. Failed or expired
requests are resubmitted in a new round; a request the provider rejects as invalid is a
fatal error for that item.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import openai

from pipeline.hashing import content_id
from pipeline.llm.cache import ResponseCache
from pipeline.llm.call_records import CallOrigin, answered_call, failed_request_call
from pipeline.llm.errors import classify_status
from pipeline.llm.openai_provider import chat_body, classify_openai, parse_completion
from pipeline.llm.pricing import call_cost
from pipeline.llm.types import (
    ChatRequest,
    ChatResponse,
    FatalError,
    ProviderError,
    RequestRejectedError,
    RetryableError,
)
from pipeline.store import Store
from schemas.batch import BatchJob
from schemas.config import ModelConfig
from schemas.records import LLMCall

ENDPOINT = "/v1/chat/completions"
# With coroutine callers a job goes when the loop is quiet; this long a pause without a new
# request submits anyway (a safety net, should the quiet test ever not fire).
ROUND_TIMEOUT_S = 30.0
FINAL = frozenset({"completed", "failed", "expired", "cancelled"})




@dataclass
class _Waiter:
    """One request waiting for its answer (a thread on ``done``, or a coroutine on ``future``)."""

    request: ChatRequest
    meta: dict[str, str]
    done: threading.Event = field(default_factory=threading.Event)
    response: ChatResponse | None = None
    error: ProviderError | None = None
    futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[ChatResponse]]] = field(
        default_factory=list
    )
    size: int = 0

    def resolve(self) -> None:
        """Wake whoever waits, thread or coroutine (futures are set on their own loop)."""
        self.done.set()
        for loop, future in self.futures:
            loop.call_soon_threadsafe(_settle, future, self.response, self.error)


def _settle(future: asyncio.Future[ChatResponse], response: ChatResponse | None,
            error: ProviderError | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert response is not None
        future.set_result(response)


class BatchRunner:
    """Gathers one alias's requests into batch jobs and resolves them."""

    def __init__(
        self,
        alias: str,
        model: ModelConfig,
        client: openai.OpenAI,
        store: Store,
        cache: ResponseCache,
        sleep: Callable[[float], None] = time.sleep,
        notify: Callable[[LLMCall], None] | None = None,
    ) -> None:
        self.alias = alias
        self._notify = notify
        self.model = model
        self.client = client
        self.store = store
        self.cache = cache
        self._sleep = sleep
        self._lock = threading.Lock()
        self._waiters: dict[str, _Waiter] = {}
        self._queue: list[str] = []
        self._last_enqueue = 0.0
        self._flusher: threading.Thread | None = None
        self._resumed = False
        self._to_resume: list[BatchJob] = []
        self._flush_requested = False
        self._rounds_signalled = False
        self.jobs_created = 0

    # ---- callers -------------------------------------------------------------------------
    def submit(self, key: str, request: ChatRequest, meta: dict[str, str]) -> ChatResponse:
        """Answer one request through a batch job (blocks until the job has its answer)."""
        waiter = self._enqueue(key, request, meta)
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error
        assert waiter.response is not None
        return waiter.response

    async def submit_async(self, key: str, request: ChatRequest, meta: dict[str, str]) -> ChatResponse:
        """The same without a thread per waiting request: a whole stage can wait at once."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ChatResponse] = loop.create_future()
        with self._lock:
            self._rounds_signalled = getattr(loop, "_ready", None) is not None
            waiter = self._enqueue_locked(key, request, meta)
            if waiter.done.is_set():
                _settle(future, waiter.response, waiter.error)
            else:
                waiter.futures.append((loop, future))
        self._start_flusher()
        when_quiet(loop, self._round_complete)
        return await future

    def _round_complete(self) -> None:
        """Every coroutine of the run is waiting: this round's requests are all queued."""
        with self._lock:
            self._flush_requested = bool(self._queue)

    def _enqueue(self, key: str, request: ChatRequest, meta: dict[str, str]) -> _Waiter:
        with self._lock:
            waiter = self._enqueue_locked(key, request, meta)
        self._start_flusher()
        return waiter

    def _enqueue_locked(self, key: str, request: ChatRequest, meta: dict[str, str]) -> _Waiter:
        self._resume_locked()
        waiter = self._waiters.get(key)
        if waiter is not None and not waiter.request.messages:
            waiter.request = request  # a resumed job's entry: now we know the request
        if waiter is None:
            waiter = _Waiter(request, meta, size=len(json.dumps(chat_body(request))) + 200)
            self._waiters[key] = waiter
            self._queue.append(key)
            self._last_enqueue = time.monotonic()
        return waiter

    def _start_flusher(self) -> None:
        with self._lock:
            if self._queue and (self._flusher is None or not self._flusher.is_alive()):
                self._flusher = threading.Thread(target=self._flush_loop, daemon=True)
                self._flusher.start()
        for job in self._to_resume:
            threading.Thread(target=self._run_job, args=(job,), daemon=True).start()
        self._to_resume = []

    def resume(self) -> None:
        """Once per process: pick up this alias's unfinished jobs instead of resubmitting them."""
        with self._lock:
            self._resume_locked()
        self._start_flusher()

    def _resume_locked(self) -> None:
        if self._resumed:
            return
        self._resumed = True
        open_jobs = [j for j in self.store.all(BatchJob) if j.alias == self.alias and j.status not in FINAL]
        for job in open_jobs:
            for key, meta in job.entries.items():
                placeholder = _Waiter(ChatRequest(model=self.model.model, messages=[]), meta)
                self._waiters.setdefault(key, placeholder)
        self._to_resume.extend(open_jobs)

    # ---- job lifecycle ---------------------------------------------------------------------
    def _flush_loop(self) -> None:
        linger = self.model.batch_linger_s
        while True:
            self._sleep(min(0.1, linger) if linger > 0 else 0.01)
            with self._lock:
                if not self._queue:
                    self._flusher = None  # under the lock: a new request starts a new flusher
                    return
                idle = time.monotonic() - self._last_enqueue
                keys = self._next_job_keys()
                # Coroutine callers say when their round is complete (``_flush_when_quiet``);
                # a pause in arrivals means nothing then (a busy machine can stall the loop).
                # Threads only have the pause: ``batch_linger_s`` without a new request.
                quiet = (self._flush_requested or idle >= ROUND_TIMEOUT_S) if self._rounds_signalled \
                    else idle >= linger
                if len(keys) == len(self._queue) and not quiet:
                    continue  # more may come: a whole stage's requests go in as few jobs as allowed
                del self._queue[: len(keys)]
                self._flush_requested = bool(self._queue) and self._flush_requested
                entries = {k: self._waiters[k].meta for k in keys}
            job = BatchJob(
                id=content_id("batch", self.alias, sorted(keys), time.time()),
                alias=self.alias, entries=entries, created_at=datetime.now(UTC),
            )
            self.store.put([job])
            threading.Thread(target=self._run_job, args=(job,), daemon=True).start()

    def _next_job_keys(self) -> list[str]:
        """The queued keys that fit one job: at most ``batch_max_requests`` and ``batch_max_bytes``."""
        keys: list[str] = []
        size = 0
        for key in self._queue[: self.model.batch_max_requests]:
            line = self._waiters[key].size
            if keys and size + line > self.model.batch_max_bytes:
                break
            keys.append(key)
            size += line
        return keys

    def _run_job(self, job: BatchJob) -> None:
        """Create (if needed), wait for, and file one job; resubmit what failed, round by round."""
        try:
            while True:
                job = self._ensure_created(job)
                job, batch = self._wait(job)
                retry = self._collect(job, batch)
                if not retry:
                    return
                if job.round >= self.model.max_retries:
                    rounds = job.round + 1
                    message = f"{self.alias}: still failing after {rounds} batch rounds"
                    self._fail(retry, RetryableError(message))
                    return
                job = BatchJob(
                    id=content_id("batch", self.alias, sorted(retry), job.round + 1, time.time()),
                    alias=self.alias, round=job.round + 1, entries={k: job.entries[k] for k in retry},
                    created_at=datetime.now(UTC),
                )
                self.store.put([job])
        except ProviderError as exc:
            self._fail(list(job.entries), exc)
        except openai.APIStatusError as exc:
            self._fail(list(job.entries), classify_openai(exc, self.model.model))
        except Exception as exc:  # waiters must never hang
            problem = RetryableError(f"{self.alias}: batch job failed: {type(exc).__name__}")
            self._fail(list(job.entries), problem)

    def _ensure_created(self, job: BatchJob) -> BatchJob:
        if job.batch_id:
            return job
        found = self._find_created(job.id)
        if found is None:
            lines = []
            for key in job.entries:
                waiter = self._waiters.get(key)
                if waiter is None or not waiter.request.messages:
                    # Killed between recording the job and creating it: nothing was sent.
                    self.store.put([job.model_copy(update={"status": "cancelled"})])
                    raise RetryableError(f"{self.alias}: batch {job.id} was never created; ask again")
                lines.append(json.dumps(
                    {"custom_id": key, "method": "POST", "url": ENDPOINT, "body": chat_body(waiter.request)}
                ))
            upload = self.client.files.create(
                file=("valact-batch.jsonl", ("\n".join(lines) + "\n").encode()), purpose="batch"
            )
            job = job.model_copy(update={"input_file_id": upload.id})
            self.store.put([job])
            found = self.client.batches.create(
                input_file_id=upload.id, endpoint=ENDPOINT, completion_window=self.model.batch_window,  # type: ignore[arg-type]
                metadata={"valact_job": job.id, "valact_alias": self.alias},
            )
            self.jobs_created += 1
        job = job.model_copy(update={"batch_id": found.id, "status": "submitted"})
        self.store.put([job])
        return job

    def _find_created(self, job_id: str) -> Any:
        """A batch created for this job before a crash (its metadata names the job), if any."""
        try:
            for batch in self.client.batches.list(limit=100):
                if (batch.metadata or {}).get("valact_job") == job_id:
                    return batch
        except openai.APIError:
            return None
        return None

    def _wait(self, job: BatchJob) -> tuple[BatchJob, Any]:
        while True:
            try:
                batch = self.client.batches.retrieve(job.batch_id)
            except (openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError):
                self._sleep(self.model.batch_poll_s)
                continue
            if batch.status in FINAL:
                counts = batch.request_counts.model_dump() if batch.request_counts else {}
                job = job.model_copy(update={
                    "status": batch.status, "finished_at": datetime.now(UTC), "counts": counts,
                    "input_file_id": job.input_file_id or batch.input_file_id,
                })
                self.store.put([job])
                return job, batch
            self._sleep(self.model.batch_poll_s)

    def _collect(self, job: BatchJob, batch: Any) -> list[str]:
        """File the answers of a finished job; return the keys to resubmit."""
        if job.status == "failed" and not batch.output_file_id:
            details = (batch.errors.data if batch.errors else None) or []
            messages = "; ".join(e.message or "" for e in details)
            problem = FatalError(f"{self.alias}: batch {job.batch_id} failed: {messages}")
            self._record_failed(job, list(job.entries), problem)
            self._fail(list(job.entries), problem)
            return []
        answered: set[str] = set()
        with_line: set[str] = set()
        answers: dict[str, ChatResponse] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            text = self.client.files.content(file_id).text
            for line in text.splitlines():
                if line.strip():
                    parsed = json.loads(line)
                    with_line.add(str(parsed.get("custom_id", "")))
                    key = self._file_line(job, parsed, answers)
                    if key:
                        answered.add(key)
        # Every answer of the job is filed in one write and released at once, so the next
        # round (tie-breaks, repairs) is asked together and goes out as one job too.
        self._deliver(job, answers)
        silent = sorted(job.entries.keys() - with_line)
        self._record_failed(job, silent, RetryableError(f"no answer line (job {job.status})"))
        return [k for k in job.entries if k not in answered]

    def _file_line(self, job: BatchJob, line: dict[str, Any], answers: dict[str, ChatResponse]) -> str | None:
        """Read one output/error line (answers go into ``answers``); its key if it needs no resubmission."""
        key = str(line.get("custom_id", ""))
        if key not in job.entries:
            return None
        response = line.get("response") or {}
        status = int(response.get("status_code") or 0)
        if status == 200 and not line.get("error"):
            answers[key] = parse_completion(response.get("body") or {}, self.model.model, 0.0)
            return key
        error = line.get("error") or (response.get("body") or {}).get("error") or {}
        problem = classify_status(
            status or 500, str(error.get("code") or ""), str(error.get("message") or ""), self.model.model
        )
        self._record_failed(job, [key], problem)
        if isinstance(problem, FatalError | RequestRejectedError):
            self._fail([key], problem)
            return key
        return None  # expired, 429, 5xx: next round

    def _record_failed(self, job: BatchJob, keys: list[str], problem: ProviderError) -> None:
        """Failed batch requests are failed requests like any other: ``valact status`` counts
        them. One store write for all of them (a failed job can hold thousands)."""
        if not keys:
            return
        records = [
            failed_request_call(
                self._origin(job, key), job.batch_id or job.id, f"batch {job.batch_id}: {problem}"
            )
            for key in keys
        ]
        self.store.put(records)
        if self._notify is not None:
            for record in records:
                self._notify(record)

    def _params(self, job: BatchJob) -> dict[str, Any]:
        return {"temperature": self.model.temperature, "max_tokens": self.model.max_tokens,
                "seed": self.model.seed, "batch_id": job.batch_id}

    def _origin(self, job: BatchJob, key: str) -> CallOrigin:
        return CallOrigin.from_meta(job.entries[key], provider=self.model.provider, alias=self.alias,
                                    params=self._params(job), request_hash=key)

    def _deliver(self, job: BatchJob, answers: dict[str, ChatResponse]) -> None:
        """Cache and record a job's answers (one store write), then wake their waiters."""
        records = []
        for key, answer in answers.items():
            meta = job.entries[key]
            self.cache.put(key, self.model.provider, self.model.model, meta.get("prompt_hash", ""), answer,
                           meta.get("prompt_name", ""))
            cost = call_cost(self.model, answer.tokens_in, answer.tokens_out, batch=True)
            records.append(answered_call(self._origin(job, key), answer, cached=False, cost_usd=cost))
        self.store.put(records)
        if self._notify is not None:
            for record in records:
                self._notify(record)
        with self._lock:
            waiters = [(self._waiters.pop(key, None), answer) for key, answer in answers.items()]
        for waiter, answer in waiters:
            if waiter is not None:
                waiter.response = answer
                waiter.resolve()

    def _fail(self, keys: list[str], error: ProviderError) -> None:
        with self._lock:
            waiters = [self._waiters.pop(k) for k in keys if k in self._waiters]
        for waiter in waiters:
            waiter.error = error
            waiter.resolve()


_quiet_callbacks: dict[int, list[Callable[[], None]]] = {}


def when_quiet(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Call ``callback`` once nothing on ``loop`` is ready to run (every coroutine is waiting).

    Then every unit has either asked its question or is waiting for an answer: no more
    requests can join this round, so the job goes now instead of after ``batch_linger_s``
    of silence (which a busy machine can break into several jobs). One watcher per loop
    serves every runner; two would keep each other's ready queue busy forever. asyncio has
    no public "idle" test, so its ready queue is read where it exists; where it does not,
    ``callback`` is never called and the linger decides.
    """
    if getattr(loop, "_ready", None) is None:
        return
    watching = id(loop) in _quiet_callbacks
    waiting = _quiet_callbacks.setdefault(id(loop), [])
    if callback not in waiting:
        waiting.append(callback)
    if not watching:
        loop.create_task(_watch(loop))


async def _watch(loop: asyncio.AbstractEventLoop) -> None:
    ready = loop._ready  # type: ignore[attr-defined]
    while True:
        await asyncio.sleep(0)
        if len(ready) == 0:
            break
    for callback in _quiet_callbacks.pop(id(loop), []):
        callback()
