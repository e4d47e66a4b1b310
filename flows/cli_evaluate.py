"""``valact evaluate``, ``valact analyze`` and ``valact import valact-results``.

Registered on the main app by ``register``; shared helpers (run records, progress, error
output) come from ``flows.cli`` when a command runs, so this module imports on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli_llm import BatchOpt, BudgetOpt, llm_overrides

Profile = Annotated[str | None, typer.Option("--profile", "-p", help="packaged profile: 'default' or 'demo'")]
Config = Annotated[Path | None, typer.Option("--config", "-c", help="project TOML (default: ./valact.toml)")]
Workspace = Annotated[
    str | None, typer.Option("--workspace", "-w", help="workspace folder (default from config)")
]
Json = Annotated[bool, typer.Option("--json", help="print machine-readable JSON on stdout")]
Mode = Annotated[
    str, typer.Option("--mode", help="default | selection | adoption | pvq40")
]


def _eval_ref(profile: str | None, config: Path | None, workspace: str | None, alias: str,
              budget: float | None, batch: bool) -> Any:
    """Config with the alias at temperature 0 (plus --budget/--batch), Prefect set up, a run reference."""
    from flows.cli import _fail
    from pipeline.config import ConfigError, deep_merge, load_config
    from pipeline.evaluate.run import eval_overrides
    from pipeline.llm.types import FatalError

    try:
        cfg = load_config(profile, config, workspace)
        overrides = eval_overrides(cfg, alias)
        if budget is not None or batch:
            overrides = deep_merge(overrides, llm_overrides(cfg, budget, batch))
        cfg = load_config(profile, config, workspace, overrides)
    except (ConfigError, FatalError) as exc:
        _fail(str(exc))
    from flows.runtime import RunRef, configure_prefect

    configure_prefect(Path(cfg.workspace))
    return RunRef(profile=profile, config_path=str(config) if config else None, workspace=cfg.workspace,
                  overrides=overrides).with_run()


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
    profile: Profile = None,
    config: Config = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Run one model on a release: default selection, value selection, value adoption or PVQ-40.

    K prompt variants at temperature 0 through the cached, rate-limited LLM layer. Every
    answer is stored with its raw text; unusable ones are counted by reason, never guessed.
    Re-running asks only what is missing (a finished run makes no requests).
    """
    from flows.cli import _emit, _fail, _run
    from pipeline.evaluate.items import ItemsError
    from pipeline.evaluate.plan import EvalOptions
    from pipeline.evaluate.release import ReleaseReadError

    if mode not in ("default", "selection", "adoption", "pvq40"):
        _fail(f"--mode must be default, selection, adoption or pvq40, not {mode!r}")
    if mode == "pvq40" and items is None:
        _fail("--mode pvq40 needs --items FILE: a CSV item,value,text made from the published PVQ-40 "
              "(valact ships no item texts) or one of the authors' PVQ logs")
    options = EvalOptions(model=model, mode=mode, prompts=prompts, limit=limit, seed=seed,  # type: ignore[arg-type]
                          trials=trials)
    ref = _eval_ref(profile, config, workspace, model, budget, batch)
    from flows.evaluate import evaluate_flow

    try:
        result = _run("evaluate", ref, lambda: evaluate_flow(ref, release, options,
                                                             str(items) if items else None))
    except (ReleaseReadError, ItemsError, ValueError) as exc:
        _fail(str(exc))
        return
    _emit(result, as_json)


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
    profile: Profile = None,
    config: Config = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Analyse stored answers: value shares, accuracy, selection vs adoption, PVQ-40, correlations.

    Works on valact's own runs and on imported logs alike; makes no model calls.
    """
    from flows.cli import _emit, _fail
    from flows.runtime import configure_prefect
    from pipeline.config import ConfigError, load_config
    from pipeline.store import STORE_FILE

    try:
        cfg = load_config(profile, config, workspace)
    except ConfigError as exc:
        _fail(str(exc))
    folder = Path(cfg.workspace)
    if not (folder / STORE_FILE).is_file():
        _fail(f"no workspace at {folder.resolve()}; run `valact evaluate` or `valact import valact-results`")
    configure_prefect(folder)
    from flows.evaluate import analyze_flow

    out = output or folder / "evaluate" / "analysis" / name
    try:
        result = analyze_flow(str(folder), list(model) if model else None, str(out),
                              f"valact analysis: {name}", str(into_release) if into_release else None)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
        return
    _emit(result, as_json)


def import_results(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False,
                                                help="the authors' result logs (scenario or PVQ)")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="workspace to import into")]
    = Path("workspace-original"),
    model: Annotated[str | None, typer.Option("--model", "-m", help="model label (default from the file "
                                              "name: grok_result_... -> grok)")] = None,
    as_json: Json = False,
) -> None:
    """Import the authors' result logs as evaluation answers (then run `valact analyze`)."""
    from flows.cli import _emit, _fail
    from flows.runtime import configure_prefect
    from pipeline.importers.valact_results import ResultsFormatError

    configure_prefect(workspace)
    from flows.evaluate import import_results_flow

    try:
        result = import_results_flow(str(workspace), [str(f) for f in files], model)
    except (ResultsFormatError, ValueError) as exc:
        _fail(str(exc))
        return
    _emit({"imported": result}, as_json)


def register(app: typer.Typer) -> None:
    """Attach ``evaluate``, ``analyze`` and ``import valact-results`` to the main CLI."""
    from flows.cli_release import import_app

    app.command(name="evaluate")(evaluate)
    app.command(name="analyze")(analyze)
    import_app.command("valact-results")(import_results)
