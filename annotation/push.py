"""Push the sample to Label Studio, idempotently, without telling experts the answer.

Every task carries a stable external id in its data. Before creating anything, push lists
the project's tasks and matches them by that id, so pushing again, or after the server died
in the middle of a push, creates only what is missing. Tasks go in batches, each one request
(the server commits a batch whole or not at all), and each batch's server ids are written to
the store at once.

The server sees only what the design shows. The external id is a keyed hash of the task id
(the key is kept in the store), because the task id derives from the candidate id, which
derives from the value label: a plain id could be recomputed for each of the ten values and
compared. In the blind design nothing on the server names the generator's value or alias,
neither data nor meta nor a prediction; the mapping stays in the store's
``annotation_tasks``. The verify design shows the label by definition and also carries it
as a prediction (``model_version`` = generator alias + prompt version).

Texts sent to a server given by ``url`` (a team's, not the local one valact started) pass
the same personal-detail scrub as a release.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from annotation.client import LabelStudioClient
from annotation.configs import TEXT, prediction_result
from annotation.sampling import SampledUnit, draw_sample, population
from pipeline.hashing import content_id
from pipeline.scrub import DEFAULT_REGION, scrubber
from pipeline.store import Store
from schemas.annotation import AnnotationTask
from schemas.config import AnnotationConfig
from schemas.records import ActionCandidate, Scenario

PROJECT_META = "annotation:project:{title}"
REF_KEY_META = "annotation:ref_key"
TextCleaner = Callable[[str], str]


def unchanged(text: str) -> str:
    """The text as it is (what the local server gets)."""
    return text


def task_id(cfg: AnnotationConfig, candidate_id: str) -> str:
    """Store id of a candidate's task in a project, stable across pushes and servers.

    The server never sees it: tasks carry ``server_ref`` of it.
    """
    return content_id("at", cfg.project, cfg.design, candidate_id)


def model_version(candidate: ActionCandidate) -> str:
    """Generator alias + prompt version, e.g. ``gpt-4o@1-3f9a0c12de``."""
    return f"{candidate.generator}@{candidate.prompt_hash}"


def plan_tasks(
    store: Store, cfg: AnnotationConfig, sample: list[SampledUnit] | None = None
) -> list[AnnotationTask]:
    """The tasks the sample asks for; server ids already known are kept."""
    sample = sample if sample is not None else draw_sample(population(store), cfg)
    tasks = []
    for item in sample:
        unit = item.unit
        candidate = store.get(ActionCandidate, unit.candidate_id)
        if candidate is None:
            continue
        tid = task_id(cfg, unit.candidate_id)
        known = store.get(AnnotationTask, tid)
        tasks.append(AnnotationTask(
            id=tid, project=cfg.project, design=cfg.design, candidate_id=unit.candidate_id,
            scenario_id=unit.scenario_id, value=unit.value, generator=unit.generator, domain=unit.domain,
            model_version=model_version(candidate), annotators_wanted=item.annotators,
            ls_project_id=known.ls_project_id if known else None,
            ls_task_id=known.ls_task_id if known else None,
        ))
    return tasks


def ref_key(store: Store) -> bytes:
    """The workspace's secret key for external ids, created on first use and kept in the store."""
    stored = store.get_meta(REF_KEY_META)
    if isinstance(stored, dict) and isinstance(stored.get("key"), str):
        return bytes.fromhex(stored["key"])
    key = secrets.token_hex(32)
    store.set_meta(REF_KEY_META, {"key": key})
    return bytes.fromhex(key)


def server_ref(key: bytes, task_id: str) -> str:
    """The external id a task carries on the server: a keyed hash of its store id."""
    return "ref_" + hmac.new(key, task_id.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def task_index(key: bytes, tasks: Iterable[AnnotationTask]) -> dict[str, AnnotationTask]:
    """Tasks by every external id they may carry on a server.

    The keyed id, plus the bare task id that pushes before keyed ids wrote, so projects
    pushed by an older valact are still matched instead of duplicated.
    """
    index: dict[str, AnnotationTask] = {}
    for task in tasks:
        index[task.id] = task
        index[server_ref(key, task.id)] = task
    return index


def task_payload(task: AnnotationTask, scenario: Scenario, candidate: ActionCandidate, ref: str,
                 clean: TextCleaner = unchanged) -> dict[str, Any]:
    """The import JSON of one task: only the data the design's config shows.

    Blind tasks carry neither the value nor the generator, and no prediction; verify tasks
    show the assigned value and carry it as the generator's prediction.
    """
    data: dict[str, Any] = {
        "external_id": ref, "title": clean(scenario.title), "scenario": clean(scenario.text),
        TEXT: clean(candidate.text),
    }
    if task.design == "blind":
        return {"data": data}
    data["assigned_value"] = task.value.value
    return {
        "data": data,
        "predictions": [{"model_version": task.model_version,
                         "result": prediction_result(task.design, task.value.value)}],
    }


def _payload(store: Store, task: AnnotationTask, key: bytes, clean: TextCleaner) -> dict[str, Any] | None:
    """A task's import JSON from the store; None when its scenario or candidate is gone."""
    scenario = store.get(Scenario, task.scenario_id)
    candidate = store.get(ActionCandidate, task.candidate_id)
    if scenario is None or candidate is None:
        return None
    return task_payload(task, scenario, candidate, server_ref(key, task.id), clean)


def text_cleaner(cfg: AnnotationConfig, region: str = DEFAULT_REGION) -> TextCleaner:
    """The scrub for a server given by ``url``; texts for the local server go as they are."""
    return scrubber(region) if cfg.url else unchanged


@dataclass
class PushReport:
    """What one push did."""

    project_id: int = 0
    planned: int = 0
    already_on_server: int = 0
    created: int = 0
    overlap_set: int = 0
    batches: int = 0
    predictions_removed: int = 0
    refs_rekeyed: int = 0
    missing_data: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain data for flows and the CLI."""
        return {**self.__dict__, "missing_data": len(self.missing_data)}


def push(store: Store, client: LabelStudioClient, cfg: AnnotationConfig,
         sample: list[SampledUnit] | None = None,
         on_batch: Callable[[int], None] | None = None, region: str = DEFAULT_REGION) -> PushReport:
    """Create on the server every planned task that is not there yet; safe to repeat.

    A blind project pushed by an older valact held the generator's label as predictions and
    a plain (recomputable) external id: the predictions are deleted and the ids re-keyed.
    """
    report = PushReport()
    project_id = client.ensure_project(cfg.project, cfg.design)
    store.set_meta(PROJECT_META.format(title=cfg.project), {"id": project_id, "url": client.url})
    report.project_id = project_id
    if cfg.design == "blind":
        report.predictions_removed = client.delete_predictions(project_id)
    key = ref_key(store)
    clean = text_cleaner(cfg, region)
    planned = plan_tasks(store, cfg, sample)
    report.planned = len(planned)
    remote_tasks = client.remote_tasks(project_id)
    index = task_index(key, planned)
    remote = {index[t.external_id].id: t for t in remote_tasks if t.external_id in index}
    reconciled, missing = [], []
    for task in planned:
        found = remote.get(task.id)
        if found is None:
            missing.append(task)
            continue
        report.already_on_server += 1
        reconciled.append(task.model_copy(update={"ls_project_id": project_id, "ls_task_id": found.id}))
        if cfg.design == "blind" and found.external_id != server_ref(key, task.id):
            payload = _payload(store, task, key, clean)
            if payload is not None:
                client.set_task_data(found.id, payload["data"])
                report.refs_rekeyed += 1
        if found.overlap != task.annotators_wanted:
            client.set_overlap(found.id, task.annotators_wanted)
            report.overlap_set += 1
    store.put(reconciled)
    for start in range(0, len(missing), cfg.batch_size):
        batch, payloads = [], []
        for task in missing[start:start + cfg.batch_size]:
            payload = _payload(store, task, key, clean)
            if payload is None:
                report.missing_data.append(task.id)
                continue
            batch.append(task)
            payloads.append(payload)
        if not payloads:
            continue
        ids = client.import_tasks(project_id, payloads)
        created = [t.model_copy(update={"ls_project_id": project_id, "ls_task_id": i})
                   for t, i in zip(batch, ids, strict=True)]
        store.put(created)
        for task in created:
            if task.annotators_wanted > 1 and task.ls_task_id is not None:
                client.set_overlap(task.ls_task_id, task.annotators_wanted)
                report.overlap_set += 1
        report.created += len(created)
        report.batches += 1
        if on_batch:
            on_batch(len(created))
    return report
