"""Offline end to end: build the demo release, then ``valact evaluate`` it with the real local
model (SmolLM2 on llama.cpp) in all four modes with 2 prompt variants, then ``valact analyze``.
Every answer is stored with its raw text, invalid ones are counted by reason, the report and
figures are written, a re-run makes no request, and the results attach to the release."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.release.verify import verify_folder
from pipeline.store import open_store
from schemas.evaluate import EvalAnswer
from schemas.records import LLMCall
from tests.support.eval_data import write_items_csv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(3600)]
ROOT = Path(__file__).resolve().parents[2]
CHOICE_ALIAS = "local-screen-a"  # demo alias with a short answer budget (16 tokens)
PVQ_ALIAS = "local-gen-a"  # demo alias with room for forty scores


def valact(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "flows.cli", *args, "--profile", "demo", "--workspace", str(ws)]
    return subprocess.run(command, cwd=ws.parent, env=env, capture_output=True, text=True, timeout=3000,
                          check=False)


def server_requests(ws: Path) -> int:
    log = ws / "logs" / "local-model-server.log"
    return sum(1 for line in log.read_text().splitlines() if "POST /v1/chat/completions" in line)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    ws = tmp_path_factory.mktemp("eval") / "ws"
    ws.mkdir()
    built = valact(ws, "build", "--limit", "1")
    release = ws / "releases" / "valact-demo" / "0.1.0"
    assert (release / "manifest.json").is_file(), built.stderr[-3000:]
    return ws, release


def evaluate(ws: Path, release: Path, *args: str) -> dict[str, object]:
    run = valact(ws, "evaluate", str(release), "--prompts", "2", "--json", *args)
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads(run.stdout))


def test_four_modes_then_analyze(demo: tuple[Path, Path], tmp_path: Path) -> None:
    ws, release = demo
    questions = pq.read_table(release / "data" / "questions.parquet").num_rows
    items = write_items_csv(tmp_path / "items.csv")
    reports = {mode: evaluate(ws, release, "--model", CHOICE_ALIAS, "--mode", mode)
               for mode in ("default", "selection", "adoption")}
    reports["pvq40"] = evaluate(ws, release, "--model", PVQ_ALIAS, "--mode", "pvq40", "--items", str(items),
                                "--trials", "1")
    for mode, report in reports.items():
        expected = 2 if mode == "pvq40" else 2 * questions
        assert report["planned"] == report["answered"] == expected, (mode, report)
        assert report["failed"] == 0

    store = open_store(ws)
    answers = store.all(EvalAnswer)
    calls = [c for c in store.all(LLMCall) if c.stage == "evaluate"]
    store.close()
    assert Counter(a.mode for a in answers) == {"default": 2 * questions, "selection": 2 * questions,
                                                "adoption": 2 * questions, "pvq40": 2}
    by_item = {c.item_id: c for c in calls}
    for a in answers:
        assert a.id in by_item and a.request_hash == by_item[a.id].request_hash
        assert a.valid == (a.invalid is None)
        if a.mode != "pvq40":
            assert (a.choice is None) == (a.invalid is not None)
        else:
            assert len(a.positions) == 40 and set(a.scores) | set(a.item_issues) == set(range(1, 41))
    for mode, report in reports.items():
        stored = Counter(a.invalid for a in answers if a.mode == mode and a.invalid)
        assert report["invalid"] == dict(stored)

    # a second run of every mode asks nothing
    before = server_requests(ws)
    again = evaluate(ws, release, "--model", CHOICE_ALIAS, "--mode", "selection")
    assert again["answered"] == 0 and again["already_stored"] == 2 * questions
    assert server_requests(ws) == before

    target = tmp_path / "release-copy"
    shutil.copytree(release, target)
    out = tmp_path / "analysis"
    run = valact(ws, "analyze", "--output", str(out), "--into-release", str(target), "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "## Invalid answers by reason" in text and "## Answers" in text
    for name in ("value_profiles.png", "selection_vs_adoption.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG" and name in result["figures"]
    invalid = pq.read_table(out / "invalid.parquet").to_pylist()
    answer_level: Counter[str] = Counter()
    for row in invalid:
        if row["level"] == "answer":
            answer_level[row["reason"]] += row["count"]
    assert answer_level == Counter(a.invalid for a in answers if a.invalid)
    counts = {(r["model"], r["mode"]): r for r in pq.read_table(out / "answers.parquet").to_pylist()}
    assert counts[(CHOICE_ALIAS, "default")]["answers"] == 2 * questions
    assert verify_folder(target).ok, verify_folder(target).problems
    assert pq.read_table(target / "data" / "results.parquet").num_rows > 0
