"""Model aliases -> live providers. Starts the local model server only when an alias needs it.

The registry also owns the run's event loop: every request of the run, from whatever
thread it is asked, goes out from that one loop, so hundreds can be in flight without a
thread each, and the limiters and in-flight gates see every request of an alias.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from pipeline.llm.batch import BatchRunner
from pipeline.llm.cache import ResponseCache
from pipeline.llm.dashscope_provider import DashScopeProvider, compatible_url
from pipeline.llm.limits import InFlightGate, RateLimiter
from pipeline.llm.local_server import LocalModelServer, SupervisedLocalProvider
from pipeline.llm.openai_provider import OpenAIProvider
from pipeline.llm.pricing import BudgetGuard
from pipeline.llm.provider import Provider
from pipeline.llm.types import ChatRequest, ChatResponse, FatalError, RequestRejectedError
from pipeline.store import Store
from schemas.config import ModelConfig, ProjectConfig
from schemas.records import LLMCall

LOCAL = "local"
# This many rejections in a row, with no answer in between, mean the requests themselves are
# wrong (a bad schema, a model that takes no JSON mode): stop instead of dropping every item.
REJECTION_STREAK_LIMIT = 25

T = TypeVar("T")


class ModelRegistry:
    """Owns providers and the local server for one run; ``close()`` stops what it started."""

    def __init__(self, config: ProjectConfig, workspace: Path, prior_spending_usd: float = 0.0) -> None:
        self.config = config
        self.workspace = workspace
        self._providers: dict[str, Provider] = {}
        self._batchers: dict[str, BatchRunner] = {}
        self._local: LocalModelServer | None = None
        self._lock = threading.Lock()
        self.limiters = {alias: RateLimiter(model) for alias, model in config.models.items()}
        # Aliases served by the local llama.cpp server share one slot: it answers one
        # request at a time, and queueing here keeps client timeouts honest.
        local_gate = InFlightGate(next(iter(self.limiters.values())), 1)
        self.gates = {
            alias: local_gate if model.base_url == LOCAL
            else InFlightGate(self.limiters[alias], model.max_concurrency)
            for alias, model in config.models.items()
        }
        self._rejection_streak: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self.budget = BudgetGuard(config.budget_usd, config.budget_total_usd, prior_spending_usd)
        # Called with every LLMCall record written (the CLI's live cost note listens here).
        self.listeners: list[Callable[[LLMCall], None]] = []
        # Requests sent and not yet answered, by request key: an identical request (two
        # reposts of one text, say) waits for that answer instead of being paid again.
        self.in_flight: dict[str, asyncio.Future[ChatResponse]] = {}

    def model(self, alias: str) -> ModelConfig:
        """The config of an alias (FatalError if undefined)."""
        try:
            return self.config.models[alias]
        except KeyError:
            raise FatalError(f"model alias {alias!r} is not defined under [models]") from None

    def estimate_tokens(self, model: ModelConfig, request: ChatRequest) -> int:
        """Input tokens of a request by this model's tokenizer estimate (limits, budget, context)."""
        chars = sum(len(m["content"]) for m in request.messages)
        return max(1, int(chars / model.chars_per_token))

    def context_window(self, alias: str) -> int | None:
        """The alias's context window in tokens (the local server's ``n_ctx`` for local aliases)."""
        model = self.model(alias)
        if model.context_tokens is not None:
            return model.context_tokens
        return self.config.local_server.n_ctx if model.base_url == LOCAL else None

    def on_rejected(self, alias: str, error: RequestRejectedError) -> None:
        """Count a rejection; a long streak of them stops the run (see REJECTION_STREAK_LIMIT)."""
        with self._lock:
            streak = self._rejection_streak.get(alias, 0) + 1
            self._rejection_streak[alias] = streak
        if streak >= REJECTION_STREAK_LIMIT:
            raise FatalError(
                f"{alias}: the last {streak} requests were all rejected ({error.reason}); "
                f"this looks like a problem with every request, not with the items: {error}"
            )

    def on_answered(self, alias: str) -> None:
        """An answer arrived: rejections so far were about their items."""
        self._rejection_streak[alias] = 0

    # ---- the run's event loop -------------------------------------------------------------
    def loop(self) -> asyncio.AbstractEventLoop:
        """The run's event loop, running in its own daemon thread (started on first use)."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="valact-llm-loop", daemon=True)
                thread.start()
                self._loop, self._loop_thread = loop, thread
            return self._loop

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the run's loop and wait for its result (from any other thread)."""
        loop = self.loop()
        if threading.current_thread() is self._loop_thread:
            coro.close()
            raise RuntimeError("run_sync called from the event loop itself: await the coroutine instead")
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def provider(self, alias: str) -> Provider:
        """The provider serving an alias, created on first use."""
        with self._lock:
            if alias not in self._providers:
                self._providers[alias] = self._create(self.model(alias))
            return self._providers[alias]

    def _api_key(self, model: ModelConfig) -> str | None:
        if model.api_key_env is None:
            return None
        key = os.environ.get(model.api_key_env)
        if not key:
            raise FatalError(
                f"model {model.model!r} needs an API key: set {model.api_key_env} in the environment "
                f"or in a .env file (or use `--profile demo` to run offline)"
            )
        return key

    def _create(self, model: ModelConfig) -> Provider:
        if model.provider == "openai":
            if model.base_url == LOCAL:
                server = self._local_server()
                local = OpenAIProvider(server.base_url, None, model.timeout_s, 4)
                return SupervisedLocalProvider(local, server)
            return OpenAIProvider(model.base_url, self._api_key(model), model.timeout_s)
        if model.provider == "dashscope":
            if model.base_url == LOCAL:
                raise FatalError("the local llama.cpp server speaks OpenAI's format: use provider = 'openai'")
            return DashScopeProvider(model.base_url, self._api_key(model), model.timeout_s)
        raise FatalError(f"unknown provider {model.provider!r}")

    def batcher(self, alias: str, store: Store, cache: ResponseCache) -> BatchRunner:
        """The batch runner of an alias (OpenAI Batch API or DashScope's compatible batch)."""
        with self._lock:
            if alias not in self._batchers:
                model = self.model(alias)
                if model.base_url == LOCAL:
                    raise FatalError(f"{alias}: the local model server has no batch API; drop --batch")
                base_url = model.base_url
                if model.provider == "dashscope":
                    base_url = compatible_url(base_url)
                client = OpenAIProvider(base_url, self._api_key(model), model.timeout_s).sdk
                self._batchers[alias] = BatchRunner(alias, model, client, store, cache, notify=self.notify)
            return self._batchers[alias]

    def notify(self, call: LLMCall) -> None:
        """Tell the listeners about a call record (a failing listener never fails the call)."""
        for listener in list(self.listeners):
            try:
                listener(call)
            except Exception:  # display only
                continue

    @property
    def local_server(self) -> LocalModelServer | None:
        """The local model server, if an alias of this run has started it."""
        return self._local

    def _local_server(self) -> LocalModelServer:
        if self._local is None:
            self._local = LocalModelServer(
                self.config.local_server, self.workspace / "logs" / "local-model-server.log"
            ).start()
        return self._local

    def close_pools(self, settle_s: float = 0.0) -> None:
        """Close every provider's connections; the next request opens new ones.

        Called between stages: the pools a stage grew to its in-flight bound (thousands of
        keep-alive connections at a high tier) would otherwise stay in memory while the
        next stage, publishing say, needs none of them. Call from outside the loop;
        ``settle_s``: how long to let other tasks on the loop end (at close).
        """
        loop = self._loop
        if loop is None:
            return
        with self._lock:
            providers = list(self._providers.values())

        async def close_all() -> None:
            for provider in providers:
                try:
                    await provider.aclose()
                except Exception:  # a pool that will not close must not keep the run open
                    continue
            # SDK sessions close in background tasks: let them finish before the loop stops.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if others and settle_s:
                await asyncio.wait(others, timeout=settle_s)

        with contextlib.suppress(Exception):  # best effort: the process may be exiting
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=10)

    def close(self) -> None:
        """Close connections, stop the loop, and stop the local server if this registry started one."""
        loop, thread = self._loop, self._loop_thread
        if loop is not None and thread is not None:
            self.close_pools(settle_s=2.0)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            self._loop = self._loop_thread = None
        with self._lock:
            if self._local is not None:
                self._local.stop()
                self._local = None
            self._providers.clear()
            self._batchers.clear()
