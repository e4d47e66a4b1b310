"""Reading commands pointed at a folder without a workspace say so and create nothing."""

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
