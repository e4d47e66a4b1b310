"""``valact import valact-results`` then ``valact analyze`` on the authors' logs, through the CLI
and Prefect (the logs are read from ../shared/reference and never copied into the project)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference"
LOGS = [REFERENCE / n for n in ("grok_result_exp_default_reddit.txt", "grok_result_exp_pvq.txt",
                                "4o_result_exp_pvq.txt")]


def valact(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


@pytest.mark.skipif(not all(p.is_file() for p in LOGS), reason=f"reference logs not found in {REFERENCE}")
def test_import_then_analyze_the_authors_logs(tmp_path: Path) -> None:
    imported = valact(tmp_path, "import", "valact-results", *map(str, LOGS), "-w", "authors", "--json")
    assert imported.returncode == 0, imported.stderr[-3000:]
    files = {r["file"]: r for r in json.loads(imported.stdout)["imported"]}
    assert files["grok_result_exp_default_reddit.txt"]["answers"] == 7500
    assert files["grok_result_exp_default_reddit.txt"]["invalid"] == {"empty": 6, "x": 64}
    assert files["4o_result_exp_pvq.txt"]["answers"] == files["grok_result_exp_pvq.txt"]["answers"] == 50

    analyzed = valact(tmp_path, "analyze", "-w", "authors", "--name", "authors", "--json")
    assert analyzed.returncode == 0, analyzed.stderr[-3000:]
    out = tmp_path / "authors" / "evaluate" / "analysis" / "authors"
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Declared vs enacted" in report and "| grok | all |" in report
    assert (out / "value_profiles.png").read_bytes()[:4] == b"\x89PNG"
    declared = pq.read_table(out / "declared_vs_enacted.parquet").to_pylist()
    assert [r["model"] for r in declared if r["domain"] == "all"] == ["grok"]  # 4o has no scenario log
    missing = valact(tmp_path, "analyze", "-w", "authors", "-m", "nobody")
    assert missing.returncode != 0 and "no stored answers for nobody" in missing.stderr
