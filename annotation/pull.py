"""Pull expert annotations from Label Studio into the store, incrementally, losing none.

Each pull reads the project's export and upserts one ``AnnotationResult`` per server
annotation: new ones are added, edited ones updated, unchanged ones left alone. An
annotation that was pulled before and is no longer on the server is not deleted here: it is
marked ``deleted_on_server`` (with when it was first missed) and counted in the report, so
an accidental deletion on the server can be noticed and nothing silently vanishes. The
expert is stored as a salted hash of their server user id, never by e-mail or name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from annotation.client import LabelStudioClient, LabelStudioError
from annotation.configs import COMMENT, CORRECTED_VALUE, EXPERT_VALUE, VERDICT
from annotation.push import PROJECT_META, ref_key, task_index
from pipeline.hashing import content_id
from pipeline.privacy import author_salt, hash_author
from pipeline.store import Store
from schemas.annotation import AnnotationResult, AnnotationTask
from schemas.config import AnnotationConfig

SALT_ENV = "VALACT_ANNOTATOR_SALT"


def _choices(result: list[dict[str, Any]], control: str) -> str | None:
    for region in result:
        if region.get("from_name") == control:
            picked = (region.get("value") or {}).get("choices") or []
            return str(picked[0]) if picked else None
    return None


def _text(result: list[dict[str, Any]], control: str) -> str:
    for region in result:
        if region.get("from_name") == control:
            return "\n".join(str(t) for t in (region.get("value") or {}).get("text") or [])
    return ""


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def _user_id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value)


def parse_annotation(
    task: AnnotationTask, ls_task_id: int, raw: dict[str, Any], salt: str
) -> AnnotationResult:
    """One exported annotation as a store record."""
    result = raw.get("result") or []
    verdict = _choices(result, VERDICT)
    return AnnotationResult(
        id=content_id("ar", task.id, raw["id"], raw.get("created_at")),
        task_id=task.id, candidate_id=task.candidate_id, project=task.project, design=task.design,
        ls_annotation_id=int(raw["id"]), ls_task_id=ls_task_id,
        annotator=hash_author(f"ls-user:{_user_id(raw.get('completed_by'))}", salt) or "unknown",
        expert_value=_choices(result, EXPERT_VALUE),
        verdict=verdict if verdict in ("correct", "wrong") else None,  # type: ignore[arg-type]
        corrected_value=_choices(result, CORRECTED_VALUE),
        comment=_text(result, COMMENT),
        cancelled=bool(raw.get("was_cancelled")),
        ground_truth=bool(raw.get("ground_truth")),
        created_at=_time(raw.get("created_at")),
        updated_at=_time(raw.get("updated_at")),
    )


@dataclass
class PullReport:
    """What one pull found."""

    project_id: int = 0
    annotations_on_server: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    newly_deleted_on_server: int = 0
    unknown_tasks: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain data for flows and the CLI."""
        return {**self.__dict__, "unknown_tasks": len(self.unknown_tasks)}


def pull(store: Store, client: LabelStudioClient, cfg: AnnotationConfig, workspace: Path) -> PullReport:
    """Bring the store up to date with the server's annotations of the project."""
    meta = store.get_meta(PROJECT_META.format(title=cfg.project)) or {}
    project_id = client.find_project(cfg.project) or meta.get("id")
    if project_id is None:
        raise LabelStudioError(
            f"no project {cfg.project!r} on {client.url}; run `valact annotate push` first"
        )
    report = PullReport(project_id=int(project_id))
    salt = author_salt(workspace, SALT_ENV)
    tasks = task_index(ref_key(store), (t for t in store.all(AnnotationTask) if t.project == cfg.project))
    stored = {r.id: r for r in store.all(AnnotationResult) if r.project == cfg.project}
    seen: set[str] = set()
    changed: list[AnnotationResult] = []
    for exported in client.export(int(project_id)):
        external = (exported.get("data") or {}).get("external_id")
        task = tasks.get(str(external)) if external else None
        if task is None:
            report.unknown_tasks.append(int(exported.get("id", 0)))
            continue
        for raw in exported.get("annotations") or []:
            record = parse_annotation(task, int(exported["id"]), raw, salt)
            report.annotations_on_server += 1
            seen.add(record.id)
            before = stored.get(record.id)
            if before is None:
                report.new += 1
                changed.append(record)
            elif before != record:
                report.updated += 1
                changed.append(record)
            else:
                report.unchanged += 1
    now = datetime.now(UTC)
    for rid, record in stored.items():
        if rid not in seen and not record.deleted_on_server:
            report.newly_deleted_on_server += 1
            changed.append(record.model_copy(update={"deleted_on_server": True, "deleted_seen_at": now}))
    store.put(changed)
    store.set_meta(f"annotation:last_pull:{cfg.project}", {"at": now.isoformat(), **report.as_dict()})
    return report
