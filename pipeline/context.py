"""Everything a stage needs for one run, built once from the config."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.llm.cache import ResponseCache
from pipeline.llm.client import LLMClient
from pipeline.llm.registry import ModelRegistry
from pipeline.llm.report import paid_calls
from pipeline.store import Store, open_store
from schemas.config import ProjectConfig
from schemas.records import LLMCall


def new_run_id() -> str:
    """Sortable, unique run id: UTC timestamp plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass
class StageContext:
    """Config, store, cache and models for one run. Close it to stop the local model server."""

    config: ProjectConfig
    workspace: Path
    store: Store
    cache: ResponseCache
    registry: ModelRegistry
    run_id: str = field(default_factory=new_run_id)

    @classmethod
    def open(cls, config: ProjectConfig, run_id: str | None = None) -> StageContext:
        """Open (and create if needed) the workspace named by the config."""
        workspace = Path(config.workspace).resolve()
        workspace.mkdir(parents=True, exist_ok=True)
        store = open_store(workspace)
        prior = 0.0
        if config.budget_total_usd is not None:  # only then is the whole call history read
            prior = sum(c.cost_usd for c in paid_calls(store.iter(LLMCall)))
        return cls(
            config=config,
            workspace=workspace,
            store=store,
            cache=ResponseCache(workspace / "llm_cache.sqlite"),
            registry=ModelRegistry(config, workspace, prior),
            run_id=run_id or new_run_id(),
        )

    def llm(self, stage: str) -> LLMClient:
        """An LLM client whose call records are tagged with this run and stage."""
        return LLMClient(self.registry, self.cache, self.store, self.run_id, stage)

    def close(self) -> None:
        """Stop the local model server (if started) and close files."""
        self.registry.close()
        self.cache.close()
        self.store.close()
