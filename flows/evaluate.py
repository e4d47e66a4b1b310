"""Prefect flows for evaluations: run a model on a release, analyse answers, import the
authors' result logs. The logic lives in ``pipeline.evaluate``, ``pipeline.analysis`` and
``pipeline.importers``; these flows wire it and return summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import RunRef, board, context
from pipeline.analysis.analyze import analyze_answers, select_answers, write_analysis
from pipeline.analysis.release_results import attach_results
from pipeline.evaluate.plan import EvalOptions
from pipeline.evaluate.records import EVAL_STAGE
from pipeline.evaluate.run import evaluate
from pipeline.importers.valact_results import import_results
from pipeline.store import open_store


@task(name="evaluate-units", cache_policy=NO_CACHE)
def evaluate_task(ref: RunRef, release: str, options: EvalOptions, items: str | None) -> dict[str, Any]:
    """Ask every unit not yet answered; answers are stored as they arrive."""
    def total(n: int) -> None:
        board.stage(EVAL_STAGE, n)

    report = evaluate(context(ref), release, options, Path(items) if items else None, on_total=total,
                      on_progress=lambda n: board.advancer(EVAL_STAGE)(n))
    return report.as_dict()


@flow(name="evaluate")
def evaluate_flow(
    ref: RunRef, release: str, options: EvalOptions, items: str | None = None
) -> dict[str, Any]:
    """One model, one release, one mode: K prompt variants over the (sampled) questions or PVQ trials."""
    result: dict[str, Any] = evaluate_task(ref, release, options, items)
    return result


@task(name="analyze", cache_policy=NO_CACHE)
def analyze_task(workspace: str, models: list[str] | None, output: str, title: str,
                 into_release: str | None) -> dict[str, Any]:
    """Measures, figures and report over the stored answers; optionally a results config in a release."""
    store = open_store(Path(workspace))
    try:
        analysis = analyze_answers(select_answers(store, models))
    finally:
        store.close()
    result = write_analysis(analysis, Path(output), title)
    if into_release:
        result["release"] = attach_results(Path(into_release), analysis.tables)
    return result


@flow(name="analyze")
def analyze_flow(workspace: str, models: list[str] | None, output: str, title: str,
                 into_release: str | None = None) -> dict[str, Any]:
    """``valact analyze``: no model calls, only the workspace's stored answers."""
    result: dict[str, Any] = analyze_task(workspace, models, output, title, into_release)
    return result


@task(name="import-results", cache_policy=NO_CACHE)
def import_results_task(workspace: str, path: str, model: str | None) -> dict[str, Any]:
    """One log into the workspace's answers."""
    store = open_store(Path(workspace))
    try:
        return import_results(store, Path(path), model).as_dict()
    finally:
        store.close()


@flow(name="import-valact-results")
def import_results_flow(workspace: str, files: list[str], model: str | None = None) -> list[dict[str, Any]]:
    """``valact import valact-results``: each log becomes evaluation answers."""
    return [import_results_task(workspace, f, model) for f in files]
