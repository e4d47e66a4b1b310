"""Expert validation against a real Label Studio server (own venv, started by this module).

The session fixture installs label-studio once into ``.venv-label-studio`` (cached), starts
it on a free loopback port with its data in a temporary folder, and stops it at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from annotation import server, validation_rows, validation_summary
from annotation.client import LabelStudioClient
from annotation.configs import COMMENT, CORRECTED_VALUE, EXPERT_VALUE, TEXT, VERDICT
from annotation.pull import pull
from annotation.push import push, ref_key, server_ref, task_index
from annotation.report import write_report
from pipeline.net import free_port
from pipeline.store import Store
from schemas.annotation import NONE_LABEL, AnnotationResult, AnnotationTask
from schemas.config import AnnotationConfig
from schemas.records import Question
from schemas.values import ALL_VALUES
from tests.support.annotation_data import build_store

pytestmark = pytest.mark.integration


class Server:
    def __init__(self, data_dir: Path, url: str, token: str) -> None:
        self.data_dir, self.url, self.token = data_dir, url, token

    def client(self) -> LabelStudioClient:
        return LabelStudioClient(self.url, self.token)


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("label-studio")
    url, creds = server.start(data_dir, port=free_port())
    try:
        yield Server(data_dir, url, creds.token)
    finally:
        server.stop(data_dir)
    assert not server.status(data_dir).running


def choice(control: str, value: str) -> dict[str, Any]:
    return {"from_name": control, "to_name": TEXT, "type": "choices", "value": {"choices": [value]}}


def other_value(value: str) -> str:
    names = [v.value for v in ALL_VALUES]
    return names[(names.index(value) + 1) % len(names)]


def test_push_annotate_pull_report(label_studio: Server, tmp_path: Path) -> None:
    store = build_store(tmp_path, scenarios=40)
    assert store.count(Question) == 200
    client = label_studio.client()
    cfg = AnnotationConfig(project="it-blind", overlap_share=0.1)

    first = push(store, client, cfg)
    assert (first.planned, first.created) == (800, 800)  # 200 questions x 4 actions, all below 2,401
    remote = client.remote_tasks(first.project_id)
    assert len(remote) == 800 and len({t.external_id for t in remote}) == 800
    tasks = {t.id: t for t in store.all(AnnotationTask)}
    shared = [t for t in tasks.values() if t.annotators_wanted == 2]
    assert len(shared) == 80
    key = ref_key(store)
    assert {t.overlap for t in remote if t.external_id in {server_ref(key, s.id) for s in shared}} == {2}
    sample_task = client.sdk.tasks.get(str(shared[0].ls_task_id))
    assert set(sample_task.data) == {"external_id", "title", "scenario", TEXT}  # no label, no generator
    again = push(store, client, cfg)
    assert (again.created, again.already_on_server) == (0, 800)
    assert len(client.remote_tasks(first.project_id)) == 800

    # Two experts, created through the API, label as they would in the interface.
    expert_a = client.create_user("expert-a", "expert-a@valact.test", "pw-expert-a-123")
    expert_b = client.create_user("expert-b", "expert-b@valact.test", "pw-expert-b-123")
    answers_a, answers_b = [], []
    for i, task in enumerate(sorted(shared, key=lambda t: t.id)):
        assert task.ls_task_id is not None
        a = task.value.value
        b = task.value.value if i < 60 else other_value(task.value.value)
        by_a = client.annotate(task.ls_task_id, [choice(EXPERT_VALUE, a)], expert_a)
        extra = [{"from_name": COMMENT, "to_name": TEXT, "type": "textarea", "value": {"text": ["unsure"]}}]
        by_b = client.annotate(task.ls_task_id, [choice(EXPERT_VALUE, b), *(extra if i == 0 else [])],
                               expert_b)
        if i in (60, 61):  # two of the 20 ties adjudicated: a reviewer marks one answer ground truth
            client.sdk.annotations.update(by_a if i == 60 else by_b, ground_truth=True)
        answers_a.append(a)
        answers_b.append(b)
    singles = sorted((t for t in tasks.values() if t.annotators_wanted == 1), key=lambda t: t.id)[:41]
    for i, task in enumerate(singles[:40]):
        assert task.ls_task_id is not None
        client.annotate(task.ls_task_id, [choice(EXPERT_VALUE, task.value.value if i < 30 else NONE_LABEL)],
                        expert_a)
    last = singles[40]
    assert last.ls_task_id is not None
    doomed = client.annotate(last.ls_task_id, [choice(EXPERT_VALUE, last.value.value)], expert_b)

    pulled = pull(store, client, cfg, tmp_path)
    assert (pulled.new, pulled.annotations_on_server) == (201, 201)
    client.delete_annotation(doomed)
    second = pull(store, client, cfg, tmp_path)
    assert (second.new, second.unchanged, second.newly_deleted_on_server) == (0, 200, 1)
    kept = [r for r in store.all(AnnotationResult) if r.ls_annotation_id == doomed]
    assert len(kept) == 1 and kept[0].deleted_on_server  # noted, not dropped

    # Hand-computed: 80 + 60 + 30 correct judgements out of 200. Items count once: 60 agreed
    # (correct), 2 adjudicated ties (one each way), 18 ties left out, 40 singles (30 correct):
    # 91 of 102 items.
    rows = validation_rows(store)
    assert len(rows) == 200 and sum(1 for r in rows if r["correct"]) == 170
    assert len({r["annotator"] for r in rows}) == 2 and all("@" not in r["annotator"] for r in rows)
    summary = validation_summary(store)
    assert (summary["items_judged"], summary["items_tied"], summary["items_adjudicated"]) == (102, 18, 2)
    assert summary["accuracy"] == round(91 / 102, 4) and summary["overlap_items"] == 80
    assert summary["ci95"][0] < 91 / 102 < summary["ci95"][1]
    assert summary["cohen_kappa"] == pytest.approx(cohen_kappa_score(answers_a, answers_b), abs=1e-4)
    codes = {name: float(i) for i, name in enumerate(sorted(set(answers_a + answers_b)))}
    data = np.array([[codes[x] for x in answers_a], [codes[x] for x in answers_b]])
    expected_alpha = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert summary["krippendorff_alpha"] == pytest.approx(expected_alpha, abs=1e-4)

    report = write_report(store, cfg.project, tmp_path / "report")
    text = report.read_text()
    assert "**89.2%** of 102 items" in text and "Krippendorff" in text and "deleted on the server 1" in text
    assert (tmp_path / "report" / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_verify_design_round_trip(label_studio: Server, tmp_path: Path) -> None:
    store = build_store(tmp_path, scenarios=2)
    client = label_studio.client()
    cfg = AnnotationConfig(project="it-verify", design="verify", sample_size=10, overlap_share=0.0)
    push(store, client, cfg)
    task = store.all(AnnotationTask)[0]
    assert task.ls_task_id is not None
    remote = client.sdk.tasks.get(str(task.ls_task_id))
    assert remote.data["assigned_value"] == task.value.value
    client.annotate(task.ls_task_id, [choice(VERDICT, "wrong"), choice(CORRECTED_VALUE, "Tradition")])
    pull(store, client, cfg, tmp_path)
    (row,) = validation_rows(store)
    assert row["correct"] is False and row["expert_value"] == "Tradition" and row["design"] == "verify"


class CrashingClient(LabelStudioClient):
    """Kills the real server right after it accepted a batch, before push can record it."""

    def __init__(self, url: str, token: str, data_dir: Path, crash_after: int) -> None:
        super().__init__(url, token)
        self.data_dir, self.crash_after, self.calls = data_dir, crash_after, 0

    def import_tasks(self, project_id: int, payloads: Any) -> list[int]:
        ids = super().import_tasks(project_id, payloads)
        self.calls += 1
        if self.calls == self.crash_after:
            server.stop(self.data_dir, kill=True)
            raise ConnectionError("server died mid-push")
        return ids


def _store_annotations(store: Store) -> set[int]:
    return {r.ls_annotation_id for r in store.all(AnnotationResult) if not r.deleted_on_server}


def test_server_killed_mid_push_then_repush(label_studio: Server, tmp_path: Path) -> None:
    store = build_store(tmp_path, scenarios=10)  # 200 candidates
    cfg = AnnotationConfig(project="it-restart", batch_size=40, overlap_share=0.2)
    crashing = CrashingClient(label_studio.url, label_studio.token, label_studio.data_dir, crash_after=3)
    # annotate a task of the first batch before the crash, as an expert working during the push
    original_import = crashing.import_tasks

    def import_and_annotate(project_id: int, payloads: Any) -> list[int]:
        ids = original_import(project_id, payloads)
        if crashing.calls == 1:
            crashing.annotate(ids[0], [choice(EXPERT_VALUE, "Power")])
        return ids

    crashing.import_tasks = import_and_annotate  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        push(store, crashing, cfg)
    assert not server.status(label_studio.data_dir).running
    recorded = [t for t in store.all(AnnotationTask) if t.ls_task_id is not None]
    assert len(recorded) == 80  # batch 3 reached the server but not the store

    url, _ = server.start(label_studio.data_dir, port=int(label_studio.url.rsplit(":", 1)[1]))
    assert url == label_studio.url
    client = label_studio.client()
    pull(store, client, cfg, tmp_path)
    before = _store_annotations(store)
    assert len(before) == 1
    report = push(store, client, cfg)
    assert (report.already_on_server, report.created) == (120, 80)
    remote = client.remote_tasks(report.project_id)
    externals = [t.external_id for t in remote]
    assert len(remote) == 200 and len(set(externals)) == 200  # no duplicate task
    index = task_index(ref_key(store), (t for t in store.all(AnnotationTask) if t.project == cfg.project))
    assert all(t.overlap == index[str(t.external_id)].annotators_wanted for t in remote)
    pull(store, client, cfg, tmp_path)
    assert _store_annotations(store) == before  # no annotation lost


def test_cli_push_pull_report_correct_through_prefect(label_studio: Server, tmp_path: Path) -> None:
    """The `valact annotate` commands run their Prefect flows against the real server."""
    import json
    import os
    import subprocess
    import sys

    workspace = tmp_path / "ws"
    store = build_store(workspace, scenarios=5)
    (tmp_path / "valact.toml").write_text(  # the project config in the working directory
        f'extends = "demo"\n[annotation]\nproject = "cli-verify"\ndesign = "verify"\n'
        f'url = "{label_studio.url}"\n'
    )
    env = {**os.environ, "LABEL_STUDIO_API_KEY": label_studio.token,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def valact(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", "annotate", *args, "--profile", "demo", "-w", str(workspace)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    pushed = json.loads(valact("push", "--size", "40", "--json"))
    assert pushed["created"] == 40
    assert json.loads(valact("push", "--size", "40", "--json"))["created"] == 0

    client = label_studio.client()
    tasks = [t for t in store.all(AnnotationTask) if t.project == "cli-verify"]
    assert len(tasks) == 40
    wrong = tasks[0]
    for task in tasks[:5]:
        verdict = "wrong" if task is wrong else "correct"
        client.sdk.annotations.create(id=int(task.ls_task_id or 0), result=[choice(VERDICT, verdict)])
    pulled = json.loads(valact("pull", "--json"))
    assert pulled["new"] == 5
    report = Path(valact("report").strip())
    assert "Overall: **80.0%** of 5 items" in report.read_text()
    assert (report.parent / "confusion.png").stat().st_size > 0
    corrected = json.loads(valact("correct", "--policy", "drop", "--json"))
    assert corrected["wrong"] == 1 and corrected["withdrawn"] == 1
    remaining = [q for q in store.all(Question) if q.scenario_id != wrong.scenario_id]
    assert len(store.all(Question)) == len(remaining) == 20
