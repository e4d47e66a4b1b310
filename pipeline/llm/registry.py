"""Model aliases -> live providers. Starts the local model server only when an alias needs it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from pipeline.llm.batch import BatchRunner
from pipeline.llm.cache import ResponseCache
from pipeline.llm.dashscope_provider import DashScopeProvider, compatible_url
from pipeline.llm.limits import RateLimiter
from pipeline.llm.local_server import LocalModelServer, SupervisedLocalProvider
from pipeline.llm.openai_provider import OpenAIProvider
from pipeline.llm.pricing import BudgetGuard
from pipeline.llm.provider import Provider
from pipeline.llm.types import FatalError
from pipeline.store import Store
from schemas.config import ModelConfig, ProjectConfig
from schemas.records import LLMCall

LOCAL = "local"


class ModelRegistry:
    """Owns providers and the local server for one run; ``close()`` stops what it started."""

    def __init__(self, config: ProjectConfig, workspace: Path, prior_spending_usd: float = 0.0) -> None:
        self.config = config
        self.workspace = workspace
        self._providers: dict[str, Provider] = {}
        self._batchers: dict[str, BatchRunner] = {}
        self._local: LocalModelServer | None = None
        self._lock = threading.Lock()
        # Aliases served by the local llama.cpp server share one slot: it answers one
        # request at a time, and queueing here keeps client timeouts honest.
        local_slot = threading.Semaphore(1)
        self.semaphores = {
            alias: local_slot if model.base_url == LOCAL else threading.Semaphore(model.max_concurrency)
            for alias, model in config.models.items()
        }
        self.limiters = {alias: RateLimiter(model) for alias, model in config.models.items()}
        self.budget = BudgetGuard(config.budget_usd, config.budget_total_usd, prior_spending_usd)
        # Called with every LLMCall record written (the CLI's live cost note listens here).
        self.listeners: list[Callable[[LLMCall], None]] = []

    def model(self, alias: str) -> ModelConfig:
        """The config of an alias (FatalError if undefined)."""
        try:
            return self.config.models[alias]
        except KeyError:
            raise FatalError(f"model alias {alias!r} is not defined under [models]") from None

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
                return SupervisedLocalProvider(OpenAIProvider(server.base_url, None, model.timeout_s), server)
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

    def close(self) -> None:
        """Stop the local server if this registry started one."""
        with self._lock:
            if self._local is not None:
                self._local.stop()
                self._local = None
            self._providers.clear()
            self._batchers.clear()
