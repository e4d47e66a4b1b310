"""``valact build`` and the stage commands ``screen``, ``generate``, ``assemble``, ``publish``.

Each runs a Prefect flow through ``cli_common.run_recorded`` (run record, progress, readable
errors). Stage 1 (``collect``) has its own options and lives in ``flows/cli_collect.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.cli_common import (
    BatchOpt,
    BudgetOpt,
    ConfigOpt,
    JsonOpt,
    ProfileOpt,
    WorkspaceOpt,
    console,
    emit,
    llm_overrides,
    run_recorded,
    run_ref,
)

if TYPE_CHECKING:  # types only: importing them would slow `valact --help`
    from pathlib import Path

    from flows.runtime import RunRef
    from schemas.config import ProjectConfig

LimitOpt = Annotated[
    int | None, typer.Option("--limit", min=1, help="at most N scenarios per domain (overrides the quota)")
]
OverwriteOpt = Annotated[bool, typer.Option(help="replace an existing release of the same version")]


def _stage_ref(profile: str | None, config: Path | None, workspace: str | None, limit: int | None = None,
               budget: float | None = None, batch: bool = False) -> RunRef:
    """The run reference with the stage options as config overrides (quota, budget, batch mode)."""

    def plan(cfg: ProjectConfig) -> dict[str, Any]:
        quota = {"screen": {"quota_per_domain": limit}} if limit else {}
        return {**quota, **llm_overrides(cfg, budget, batch)}

    return run_ref(profile, config, workspace, plan)


def build(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    limit: LimitOpt = None, overwrite: OverwriteOpt = False,
    as_json: JsonOpt = False, budget: BudgetOpt = None, batch: BatchOpt = False,
) -> None:
    """Run every stage end to end: collect, screen, generate, assemble, publish.

    Safe to re-run: finished work is skipped and model answers come from the cache, so a run
    interrupted at any point resumes where it stopped.
    """
    ref = _stage_ref(profile, config, workspace, limit, budget, batch)
    from flows.build import build_flow  # deferred: imports Prefect, configured by _stage_ref

    result = run_recorded("build", ref, lambda: build_flow(ref, overwrite))
    emit(result, as_json)
    console.print(f"[bold green]release:[/] {result['publish']['path']}  (valact status shows details)")


def _model_stage(name: str, doc: str) -> Any:
    """A stage command that calls models: quota, budget and batch options, no overwrite."""

    def command(
        profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
        limit: LimitOpt = None, as_json: JsonOpt = False, budget: BudgetOpt = None, batch: BatchOpt = False,
    ) -> None:
        ref = _stage_ref(profile, config, workspace, limit, budget, batch)
        from flows import stages  # deferred: imports Prefect, configured by _stage_ref

        flow = getattr(stages, f"{name}_flow")
        emit(run_recorded(name, ref, lambda: flow(ref)), as_json)

    command.__doc__ = doc
    return command


screen = _model_stage("screen",
                      "Stage 2: rule prefilter, LLM Yes/No screen with tie-break, quota per domain.")
generate = _model_stage("generate",
                        "Stage 3: each generator writes one action per Schwartz value per scenario.")


def assemble(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stage 4: five questions of four value-distinct actions per scenario (no model calls)."""
    ref = _stage_ref(profile, config, workspace)
    from flows.stages import assemble_flow  # deferred: imports Prefect, configured by _stage_ref

    emit(run_recorded("assemble", ref, lambda: assemble_flow(ref)), as_json)


def publish(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    overwrite: OverwriteOpt = False, as_json: JsonOpt = False,
) -> None:
    """Stage 6: write the release folder (parquet tables, dataset card, manifest)."""
    ref = _stage_ref(profile, config, workspace)
    from flows.stages import publish_flow  # deferred: imports Prefect, configured by _stage_ref

    emit(run_recorded("publish", ref, lambda: publish_flow(ref, overwrite)), as_json)
