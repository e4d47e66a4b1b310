"""Every command fails with the same exit code for the same kind of error (``flows/cli_common.py``):
2 when it cannot do its work (usage, configuration, a missing workspace or release), 1 when it
ran and found problems. And the Reddit options are one block shared by the Reddit commands.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flows.cli import app
from flows.cli_collect import collect, reddit_options, rehydrate
from flows.cli_common import EXIT_ERROR, EXIT_PROBLEMS
from pipeline.sources.reddit_api import RedditOptions

# Commands that read the config first; none gets as far as Prefect with a missing config file.
CONFIGURED = [
    ["build"], ["collect"], ["screen"], ["generate"], ["assemble"], ["publish"], ["status"],
    ["config", "show"], ["evaluate", "some-release", "--model", "m"], ["analyze"],
    ["annotate", "push"], ["annotate", "report"], ["annotate", "server", "status"],
    ["cache", "stats"], ["server", "status"],
]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())  # the console wraps long lines


@pytest.mark.parametrize("command", CONFIGURED, ids=" ".join)
def test_a_configuration_error_exits_2_with_the_reason(command: list[str], tmp_path: Path) -> None:
    code, said = _invoke(*command, "--config", str(tmp_path / "missing.toml"))
    assert (code, said) == (EXIT_ERROR, f"error: config file not found: {tmp_path / 'missing.toml'}")


def test_usage_errors_exit_2_like_typers_own(tmp_path: Path) -> None:
    assert _invoke("status", "--no-such-option")[0] == EXIT_ERROR  # typer's usage error
    code, said = _invoke("evaluate", "r", "--model", "m", "--mode", "guess")
    assert code == EXIT_ERROR and "--mode must be" in said
    code, said = _invoke("release", "build", "9.9.9", "--releases-dir", str(tmp_path))
    assert code == EXIT_ERROR and "no declaration" in said


def test_problems_found_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, said = _invoke("server", "status", "--profile", "demo", "--workspace", str(tmp_path / "ws"))
    assert code == EXIT_PROBLEMS and "not running" in said
    # verify reports what it found, a folder that is no release included
    code, said = _invoke("release", "verify", str(tmp_path / "no-release"))
    assert code == EXIT_PROBLEMS and "failed verification: manifest.json: missing" in said


def test_reddit_commands_share_one_option_block() -> None:
    names = ["reddit_oauth_url", "reddit_url", "reddit_timeout", "max_attempts", "backoff"]
    for command in (collect, rehydrate):
        params = list(inspect.signature(command).parameters)
        assert "reddit" not in params
        start = params.index(names[0])
        assert params[start:start + len(names)] == names


def test_reddit_options_reach_the_command_as_one_value() -> None:
    seen: list[RedditOptions] = []

    @reddit_options
    def probe(*, reddit: RedditOptions, label: str = "x") -> None:
        """Probe."""
        seen.append(reddit)

    probe_app = typer.Typer()
    probe_app.command()(probe)
    probe_app.command("other")(probe)  # two commands make typer keep the command name
    result = CliRunner().invoke(probe_app, ["probe", "--reddit-timeout", "5", "--max-attempts", "2"])
    assert result.exit_code == 0, result.output
    assert seen == [RedditOptions(timeout_s=5, max_attempts=2)]
    assert CliRunner().invoke(probe_app, ["probe", "--backoff", "-1"]).exit_code == EXIT_ERROR


def test_rehydrate_gets_the_reddit_options_from_its_command_line(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.release.rehydrate as rehydrate_module

    class Report:
        def as_dict(self) -> dict[str, str]:
            return {"done": "yes"}

    seen: list[object] = []

    def fake(release_dir: Path, connect: object, output: Path | None = None) -> Report:
        seen.extend([release_dir, getattr(connect, "__self__", None), output])
        return Report()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(rehydrate_module, "rehydrate_release", fake)
    code, said = _invoke("rehydrate", str(tmp_path), "--reddit-url", "http://127.0.0.1:9", "--backoff", "0.5",
                         "--json")
    assert code == 0 and '"done": "yes"' in said
    assert seen == [tmp_path, RedditOptions(reddit_url="http://127.0.0.1:9", backoff_s=0.5), None]
