"""Commands pointed at a missing or empty workspace say so, and reading commands create nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app


@pytest.mark.parametrize("command", [["status"], ["annotate", "report"]])
def test_reading_commands_need_an_existing_workspace(command: list[str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*command, "--profile", "demo", "--workspace", str(tmp_path / "ws")])
    assert result.exit_code != 0
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "no workspace at" in said and "run `valact build` first" in said
    assert not (tmp_path / "ws").exists()


def test_a_stage_without_input_names_the_stage_to_run_first(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from flows.cli_common import note_missing_input
    from pipeline.store import open_store

    store = open_store(tmp_path / "ws")
    note_missing_input("generate", store)
    said = " ".join(capsys.readouterr().err.split())
    assert "no scenarios yet" in said and "run `valact screen` first" in said
    note_missing_input("publish", store)  # publish refuses on its own (EmptyReleaseError)
    assert capsys.readouterr().err == ""
