"""Every stage command works the first time on a new workspace, on a machine that is busy.

Issue 11, item 1: on 2 busy cores Prefect's embedded server needs longer to start than
Prefect's default allows, and valact's longer timeout used to be set after Prefect had read
its settings. Here each stage runs as its own fresh ``valact`` process (clean environment,
new HOME) on a new workspace while one busy-looping process per core keeps the CPU full.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.valact_cli import fresh_env, run_valact

pytestmark = pytest.mark.integration
STAGES = ("collect", "screen", "generate", "assemble", "publish")


@pytest.fixture
def busy_cores() -> Iterator[list[subprocess.Popen[bytes]]]:
    """One process per core spinning in a loop for the whole test; stopped by pid afterwards."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(max(2, os.cpu_count() or 2))]
    try:
        yield spinners
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


@pytest.mark.timeout(3000)
def test_each_stage_command_works_first_time_on_a_busy_machine(
    tmp_path: Path, busy_cores: list[subprocess.Popen[bytes]]
) -> None:
    workspace = tmp_path / "NEWDIR"
    env = fresh_env(tmp_path / "home")
    for stage in STAGES:
        # --limit 1 (one scenario per domain) keeps the model work small; the Prefect part is the same.
        limit = ["--limit", "1"] if stage == "screen" else []
        result = run_valact(env, stage, "-p", "demo", "-w", str(workspace), "--json", *limit)
        assert all(spinner.poll() is None for spinner in busy_cores), "the load stopped during the test"
        assert result.returncode == 0, f"valact {stage} failed:\n{result.stderr[-3000:]}"
        assert "Timed out while attempting to connect" not in result.stderr
    assert (workspace / ".prefect").is_dir(), "Prefect's state belongs in the workspace"
    assert list((workspace / "releases" / "valact-demo" / "0.1.0" / "data").glob("questions*.parquet"))
