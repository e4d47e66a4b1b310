"""Push the sample to Label Studio, idempotently.

Every task carries a stable external id (``AnnotationTask.id``) in its data. Before
creating anything, push lists the project's tasks and matches them by that id, so pushing
again, or after the server died in the middle of a push, creates only what is missing. Tasks
go in batches, each one request (the server commits a batch whole or not at all), and each
batch's server ids are written to the store at once. The generator's label travels as a
prediction with ``model_version`` = generator alias + prompt version; the blind project
never shows predictions to annotators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from annotation.client import LabelStudioClient
from annotation.configs import TEXT, prediction_result
from annotation.sampling import SampledUnit, draw_sample, population
from pipeline.hashing import content_id
from pipeline.store import Store
from schemas.annotation import AnnotationTask
from schemas.config import AnnotationConfig
from schemas.records import ActionCandidate, Scenario

PROJECT_META = "annotation:project:{title}"


def task_id(cfg: AnnotationConfig, candidate_id: str) -> str:
    """External id of a candidate's task in a project: stable across pushes and servers."""
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


def task_payload(task: AnnotationTask, scenario: Scenario, candidate: ActionCandidate) -> dict[str, Any]:
    """The import JSON of one task: data the config shows, plus the generator's prediction.

    Blind tasks carry neither the value nor the generator in their data.
    """
    data: dict[str, Any] = {
        "external_id": task.id, "title": scenario.title, "scenario": scenario.text, TEXT: candidate.text,
    }
    if task.design == "verify":
        data["assigned_value"] = task.value.value
    return {
        "data": data,
        "predictions": [{"model_version": task.model_version,
                         "result": prediction_result(task.design, task.value.value)}],
    }


@dataclass
class PushReport:
    """What one push did."""

    project_id: int = 0
    planned: int = 0
    already_on_server: int = 0
    created: int = 0
    overlap_set: int = 0
    batches: int = 0
    missing_data: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain data for flows and the CLI."""
        return {**self.__dict__, "missing_data": len(self.missing_data)}


def push(store: Store, client: LabelStudioClient, cfg: AnnotationConfig,
         sample: list[SampledUnit] | None = None,
         on_batch: Callable[[int], None] | None = None) -> PushReport:
    """Create on the server every planned task that is not there yet; safe to repeat."""
    report = PushReport()
    project_id = client.ensure_project(cfg.project, cfg.design)
    store.set_meta(PROJECT_META.format(title=cfg.project), {"id": project_id, "url": client.url})
    report.project_id = project_id
    planned = plan_tasks(store, cfg, sample)
    report.planned = len(planned)
    remote = {t.external_id: t for t in client.remote_tasks(project_id) if t.external_id}
    reconciled, missing = [], []
    for task in planned:
        found = remote.get(task.id)
        if found is None:
            missing.append(task)
            continue
        report.already_on_server += 1
        reconciled.append(task.model_copy(update={"ls_project_id": project_id, "ls_task_id": found.id}))
        if found.overlap != task.annotators_wanted:
            client.set_overlap(found.id, task.annotators_wanted)
            report.overlap_set += 1
    store.put(reconciled)
    for start in range(0, len(missing), cfg.batch_size):
        batch, payloads = [], []
        for task in missing[start:start + cfg.batch_size]:
            scenario = store.get(Scenario, task.scenario_id)
            candidate = store.get(ActionCandidate, task.candidate_id)
            if scenario is None or candidate is None:
                report.missing_data.append(task.id)
                continue
            batch.append(task)
            payloads.append(task_payload(task, scenario, candidate))
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
