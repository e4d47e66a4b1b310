"""``valact evaluate``, ``valact analyze`` and ``valact import valact-results``.

Evaluation runs a model on a release through the cached LLM layer (a recorded Prefect run);
analysis and the import of the authors' logs only read and write the workspace's store.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.cli_common import (
    BatchOpt,
    BudgetOpt,
    ConfigOpt,
    JsonOpt,
    ProfileOpt,
    WorkspaceOpt,
    emit,
    fail,
    failing,
    llm_overrides,
    load_project,
    run_recorded,
    run_ref,
)
from flows.prefect_env import configure_prefect

if TYPE_CHECKING:  # a type only: the pydantic configs would slow `valact --help`
    from schemas.config import ProjectConfig

MODES = ("default", "selection", "adoption", "pvq40")
Mode = Annotated[str, typer.Option("--mode", help=" | ".join(MODES))]


def evaluate(
    release: Annotated[str, typer.Argument(help="release folder, or hf://ORG/NAME[@revision]")],
    model: Annotated[str, typer.Option("--model", "-m", help="model alias from the config's [models]")],
    mode: Mode = "default",
    prompts: Annotated[int, typer.Option("--prompts", "-k", min=1, max=5, help="prompt variants K")] = 5,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="at most N scenarios per domain "
                                              "(seeded choice)")] = None,
    seed: Annotated[int, typer.Option(help="seed of the sample, the target values and PVQ orders")] = 0,
    trials: Annotated[int, typer.Option(min=1, help="PVQ-40: shuffled item orders")] = 10,
    items: Annotated[Path | None, typer.Option(
        "--items", exists=True, dir_okay=False,
        help="PVQ-40 items: CSV item,value,text or an authors' PVQ log",
    )] = None,
    budget: BudgetOpt = None,
    batch: BatchOpt = False,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run one model on a release: default selection, value selection, value adoption or PVQ-40.

    K prompt variants at temperature 0 through the cached, rate-limited LLM layer. Every
    answer is stored with its raw text; unusable ones are counted by reason, never guessed.
    Re-running asks only what is missing (a finished run makes no requests).
    """
    if mode not in MODES:
        fail(f"--mode must be default, selection, adoption or pvq40, not {mode!r}")
    if mode == "pvq40" and items is None:
        fail("--mode pvq40 needs --items FILE: a CSV item,value,text made from the published PVQ-40 "
             "(valact ships no item texts) or one of the authors' PVQ logs")

    def plan(cfg: ProjectConfig) -> dict[str, Any]:
        """The model under evaluation at temperature 0, plus --budget and --batch."""
        from pipeline.config import deep_merge  # deferred: pydantic configs; --help stays fast
        from pipeline.evaluate.run import eval_overrides  # deferred: the evaluation's LLM plumbing

        return deep_merge(eval_overrides(cfg, model), llm_overrides(cfg, budget, batch))

    ref = run_ref(profile, config, workspace, plan)
    # deferred: Prefect reads its settings at import, so only after run_ref put them in place
    from flows.evaluate import evaluate_flow
    from pipeline.evaluate.items import ItemsError
    from pipeline.evaluate.plan import EvalOptions
    from pipeline.evaluate.release import ReleaseReadError

    options = EvalOptions(model=model, mode=mode, prompts=prompts, limit=limit, seed=seed,  # type: ignore[arg-type]
                          trials=trials)
    with failing(ReleaseReadError, ItemsError, ValueError):
        result = run_recorded("evaluate", ref, lambda: evaluate_flow(ref, release, options,
                                                                     str(items) if items else None))
    emit(result, as_json)


def analyze(
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="model label to include "
                                                    "(repeatable; default every model with answers)")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o",
        help="folder for tables, figures and report.md (default <workspace>/evaluate/analysis/<name>)",
    )] = None,
    name: Annotated[str, typer.Option(help="analysis name (folder and report title)")] = "latest",
    into_release: Annotated[Path | None, typer.Option("--into-release", exists=True, file_okay=False,
                                                      help="also write a 'results' config into this "
                                                      "release folder")] = None,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Analyse stored answers: value shares, accuracy, selection vs adoption, PVQ-40, correlations.

    Works on valact's own runs and on imported logs alike; makes no model calls.
    """
    from pipeline.store import STORE_FILE  # deferred: the store loads pyarrow; --help stays fast

    folder = Path(load_project(profile, config, workspace).workspace)
    if not (folder / STORE_FILE).is_file():
        fail(f"no workspace at {folder.resolve()}; run `valact evaluate` or `valact import valact-results`")
    configure_prefect(folder)
    from flows.evaluate import analyze_flow  # deferred: imports Prefect, configured just above

    out = output or folder / "evaluate" / "analysis" / name
    with failing(ValueError, FileNotFoundError):
        result = analyze_flow(str(folder), list(model) if model else None, str(out),
                              f"valact analysis: {name}", str(into_release) if into_release else None)
    emit(result, as_json)


def import_results(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False,
                                                help="the authors' result logs (scenario or PVQ)")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="workspace to import into")]
    = Path("workspace-original"),
    model: Annotated[str | None, typer.Option("--model", "-m", help="model label (default from the file "
                                              "name: grok_result_... -> grok)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import the authors' result logs as evaluation answers (then run `valact analyze`)."""
    configure_prefect(workspace)
    # deferred: imports Prefect, configured just above
    from flows.evaluate import import_results_flow
    from pipeline.importers.valact_results import ResultsFormatError

    with failing(ResultsFormatError, ValueError):
        result = import_results_flow(str(workspace), [str(f) for f in files], model)
    emit({"imported": result}, as_json)
