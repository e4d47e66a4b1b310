"""What a real Label Studio server, and anyone on its machine, can learn from valact.

One server is started for the module with canary provider keys in the environment, as a
user with keys exported would start it. Checked:

- the admin password and token are not on any command line (``ps``), the canary keys are
  in no environment of the server's processes and in none of its files;
- a blind project, read back by an expert logged in through the web form (the API calls the
  interface makes: tasks, Data Manager rows and columns, predictions, project, export),
  names neither the generator's value nor its alias anywhere, and its external ids cannot
  be recomputed from the label;
- a blind project pushed by an older valact (label as prediction) is cleaned on the next push;
- texts pushed to a server given by ``url`` are scrubbed, the local server gets them raw.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest

from annotation import server
from annotation.client import LabelStudioClient
from annotation.configs import prediction_result
from annotation.push import plan_tasks, push, ref_key, server_ref
from pipeline.hashing import content_id
from pipeline.net import free_port
from pipeline.store import Store
from schemas.annotation import AnnotationTask
from schemas.config import AnnotationConfig
from schemas.records import ActionCandidate
from schemas.values import ALL_VALUES
from tests.support.annotation_data import GENERATORS, build_store

pytestmark = pytest.mark.integration
CANARIES = {"OPENAI_API_KEY": "sk-canary-5b1f0e9a7c3d4e21", "DASHSCOPE_API_KEY": "sk-canary-dash-8e2c41f07a",
            "HF_TOKEN": "hf_canaryZ9y8x7w6v5u4t3"}
EXPERT = ("expert-blind", "expert-blind@valact.test", "Qk7-vLm2-wPz9-tR4")  # username, e-mail, password


class Running:
    def __init__(self, data_dir: Path, url: str, creds: server.Credentials) -> None:
        self.data_dir, self.url, self.creds = data_dir, url, creds

    def client(self) -> LabelStudioClient:
        return LabelStudioClient(self.url, self.creds.token)


@pytest.fixture(scope="module")
def ls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("ls-privacy")
    saved = {name: os.environ.get(name) for name in CANARIES}
    os.environ.update(CANARIES)
    try:
        url, creds = server.start(data_dir, port=free_port(), timeout_s=600)  # loaded CI machines
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield Running(data_dir, url, creds)
    finally:
        server.stop(data_dir)


def _group_pids(leader: int) -> list[int]:
    """The server process and every process of its group (it was started in its own session)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:  # fields after the name: state, ppid, pgrp
            pids.append(int(stat.parent.name))
    return pids


def test_no_secret_on_command_lines_in_environments_or_files(ls: Running) -> None:
    state = server.status(ls.data_dir)
    assert state.healthy and state.pid is not None
    ps = subprocess.run(["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True, check=True).stdout
    ours = [line for line in ps.splitlines() if "label-studio" in line and str(ls.data_dir) in line]
    assert ours, "the server's command line was not found in ps"
    for secret in (ls.creds.password, ls.creds.token, *CANARIES.values()):
        assert secret not in ps
    pids = _group_pids(state.pid)
    assert state.pid in pids
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert all(c.encode() not in environ for c in CANARIES.values()), pid
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert ls.creds.password.encode() not in cmdline and ls.creds.token.encode() not in cmdline
    entries = Path(f"/proc/{state.pid}/environ").read_text().split("\0")
    leader_env = dict(item.split("=", 1) for item in entries if "=" in item)
    assert leader_env["LABEL_STUDIO_PASSWORD"] == ls.creds.password  # the credentials travel here
    built = server.server_env(server.venv_dir(), ls.data_dir, ls.creds)
    assert set(leader_env) == set(built)  # and nothing else of ours does
    files = [p for p in ls.data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite3" for p in files)  # the server's database is among them
    for path in files:
        data = path.read_bytes()
        assert all(c.encode() not in data for c in CANARIES.values()), path


def _neutral(counter: Iterator[int]) -> Any:
    return lambda gen, value, i: f"I would try approach number {next(counter)} and see how it goes."


def _annotator_session(ls: Running) -> httpx.Client:
    """An expert who joined through the admin's invite link and is logged in, as in a browser."""
    admin = httpx.Client(base_url=ls.url, headers={"Authorization": f"Token {ls.creds.token}"}, timeout=60)
    invite = admin.get("/api/invite").json()["invite_url"]
    web = httpx.Client(base_url=ls.url, follow_redirects=True, timeout=60)
    page = web.get(invite)
    form = {"email": EXPERT[1], "password": EXPERT[2], "csrfmiddlewaretoken": web.cookies["csrftoken"]}
    web.post(str(page.url), data=form, headers={"Referer": str(page.url)})
    me = _get(web, "/api/current-user/whoami")
    assert me["email"] == EXPERT[1]
    return web


def _get(web: httpx.Client, path: str, **params: Any) -> Any:
    response = web.get(path, params=params)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response.json()


def _labels(task: AnnotationTask, store: Store) -> list[str]:
    candidate = store.get(ActionCandidate, task.candidate_id)
    assert candidate is not None
    return [task.value.value, task.generator, candidate.prompt_hash, task.model_version, task.id,
            task.candidate_id]


def test_blind_project_reveals_no_label_to_an_annotator(ls: Running, tmp_path: Path) -> None:
    store = build_store(tmp_path, scenarios=3, action_text=_neutral(count()))
    cfg = AnnotationConfig(project="privacy-blind", sample_size=30, overlap_share=0.2)
    report = push(store, ls.client(), cfg)
    tasks = [t for t in store.all(AnnotationTask) if t.project == cfg.project]
    assert report.created == len(tasks) >= 30
    by_ls_id = {t.ls_task_id: t for t in tasks}
    web = _annotator_session(ls)
    pid = report.project_id

    seen: list[tuple[AnnotationTask, Any]] = []
    dm_rows = _get(web, "/api/tasks", project=pid, fields="all", page_size=100)["tasks"]
    assert len(dm_rows) == len(tasks)
    for row in dm_rows:
        task = by_ls_id[row["id"]]
        seen.append((task, row))
        seen.append((task, _get(web, f"/api/tasks/{row['id']}")))
        assert set(row["data"]) == {"external_id", "title", "scenario", "action"}
        assert not row.get("meta") and not row.get("predictions")
        assert not row.get("predictions_model_versions") and not row.get("predictions_results")
    export = _get(web, f"/api/projects/{pid}/export", exportType="JSON", download_all_tasks="true")
    seen += [(by_ls_id[item["id"]], item) for item in export]
    assert len(export) == len(tasks)
    for task, payload in seen:
        text = json.dumps(payload)
        for label in _labels(task, store):
            assert label not in text, (label, text[:500])

    assert _get(web, "/api/predictions", project=pid) == []
    whole = json.dumps([_get(web, f"/api/projects/{pid}"), _get(web, "/api/dm/columns", project=pid),
                        _get(web, "/api/dm/views", project=pid)])
    assert not any(gen in whole for gen in GENERATORS)
    columns = {c["id"] for c in _get(web, "/api/dm/columns", project=pid)["columns"]}
    assert {c for c in columns if c.startswith("data.")} <= {"data.external_id", "data.title",
                                                               "data.scenario", "data.action"}

    # The external id is keyed: recomputing the plain ids for every possible label finds nothing.
    externals = {str(row["data"]["external_id"]) for row in dm_rows}
    guesses = {content_id("at", cfg.project, cfg.design, content_id("c", t.scenario_id, gen, v.value))
               for t in tasks for gen in GENERATORS for v in ALL_VALUES}
    assert not externals & guesses
    key = ref_key(store)
    assert externals == {server_ref(key, t.id) for t in tasks}


def test_push_removes_labels_an_older_blind_push_left(ls: Running, tmp_path: Path) -> None:
    store = build_store(tmp_path, scenarios=1, action_text=_neutral(count()))
    cfg = AnnotationConfig(project="privacy-legacy", sample_size=5, overlap_share=0.0)
    client = ls.client()
    project_id = client.ensure_project(cfg.project, cfg.design)
    planned = plan_tasks(store, cfg)
    legacy = [{"data": {"external_id": t.id, "title": "t", "scenario": "s", "action": "a"},  # plain id
               "predictions": [{"model_version": t.model_version,
                                "result": prediction_result("blind", t.value.value)}]}
              for t in planned[:3]]
    client.import_tasks(project_id, legacy)
    assert len(client.sdk.predictions.list(project=project_id)) == 3
    report = push(store, client, cfg)
    assert (report.predictions_removed, report.refs_rekeyed, report.already_on_server) == (3, 3, 3)
    assert report.created == len(planned) - 3
    assert client.sdk.predictions.list(project=project_id) == []
    key = ref_key(store)
    remote = {t.external_id for t in client.remote_tasks(project_id)}
    assert remote == {server_ref(key, t.id) for t in planned}


def test_remote_server_gets_scrubbed_text_local_gets_raw(ls: Running, tmp_path: Path) -> None:
    pii = "Call me at 867-5309 or mail jo@example.com, says u/jo_smith ({i})."
    store = build_store(tmp_path, scenarios=1, action_text=_neutral(count()), scenario_text=pii)
    client = ls.client()
    remote = AnnotationConfig(project="privacy-remote", url=ls.url, sample_size=3, overlap_share=0.0)
    local = AnnotationConfig(project="privacy-local", sample_size=3, overlap_share=0.0)
    texts = {}
    for cfg in (remote, local):
        report = push(store, client, cfg)
        texts[cfg.project] = [t.data["scenario"] for t in client.sdk.tasks.list(project=report.project_id)]
    assert len(texts["privacy-remote"]) == len(texts["privacy-local"]) > 0
    for text in texts["privacy-remote"]:
        assert not re.search(r"867-5309|jo@example\.com|jo_smith", text)
        assert "[phone]" in text and "[email]" in text and "[user]" in text
    assert all("867-5309" in text for text in texts["privacy-local"])
