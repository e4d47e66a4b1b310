"""The ``valact`` command line, assembled: commands in pipeline order, then the groups.

This module only puts the app together; the commands live in ``flows/cli_*.py`` and what they
share (options, output, errors, exit codes, run records) in ``flows/cli_common.py``, whose
docstring also gives the import rule that keeps ``valact --help`` fast.
"""

from __future__ import annotations

import typer

from flows import cli_collect, cli_evaluate, cli_release, cli_stages, cli_status
from flows.cli_annotate import annotate_app
from flows.cli_cache import cache_app
from flows.cli_server import server_app
from flows.prefect_env import apply_defaults

app = typer.Typer(
    help=(
        "valact builds, audits and publishes value-action benchmarks in the style of VALACT-15K.\n\n"
        "Start offline with `valact build --profile demo` (no keys, no network): it collects the "
        "bundled Reddit-style posts, screens them with a local model, generates one action per "
        "Schwartz value with two generators, assembles 5 questions x 4 options per scenario and "
        "writes a release folder. `valact status` then shows what happened.\n\n"
        "Exit codes: 0 done; 1 the command ran and found problems (a release failed verification, "
        "a server is down); 2 it could not do its work (usage, configuration or a fatal error)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command(name="build")(cli_stages.build)
app.command(name="collect")(cli_collect.collect)
app.command(name="screen")(cli_stages.screen)
app.command(name="generate")(cli_stages.generate)
app.command(name="assemble")(cli_stages.assemble)
app.command(name="publish")(cli_stages.publish)
app.command(name="status")(cli_status.status)
app.command(name="rehydrate")(cli_collect.rehydrate)
app.command(name="evaluate")(cli_evaluate.evaluate)
app.command(name="analyze")(cli_evaluate.analyze)
cli_release.import_app.command("valact-results")(cli_evaluate.import_results)
app.add_typer(annotate_app, name="annotate")
app.add_typer(cli_release.release_app, name="release")
app.add_typer(cli_release.import_app, name="import")
app.add_typer(cli_status.config_app, name="config")
app.add_typer(cache_app, name="cache")
app.add_typer(server_app, name="server")


def main() -> None:
    """Console-script entry point: Prefect's defaults go into the environment before anything
    can import Prefect (it reads its settings once, at import; see flows.prefect_env)."""
    apply_defaults()
    app(prog_name="valact")


if __name__ == "__main__":
    main()
