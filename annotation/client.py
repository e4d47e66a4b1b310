"""The few Label Studio operations valact needs, on ``label-studio-sdk`` 2.1.x.

Everything else in the package works with plain dicts and store records; this module is the
only one that knows the SDK, so an SDK upgrade touches one file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from label_studio_sdk import LabelStudio

from annotation.configs import EXPERT_VALUE, VERDICT, label_config
from schemas.config import Design


class LabelStudioError(RuntimeError):
    """The server answered something valact cannot work with."""


@dataclass(frozen=True)
class RemoteTask:
    """A task as it exists on the server."""

    id: int
    external_id: str | None
    overlap: int


class LabelStudioClient:
    """A connection to one Label Studio server."""

    def __init__(self, url: str, api_key: str, timeout_s: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.sdk: Any = LabelStudio(  # type: ignore[no-untyped-call]
            base_url=self.url, api_key=api_key, timeout=timeout_s
        )

    @classmethod
    def from_env(cls, url: str, api_key_env: str) -> LabelStudioClient:
        """Connect with the token held in the environment variable ``api_key_env``."""
        key = os.environ.get(api_key_env)
        if not key:
            raise LabelStudioError(f"no Label Studio API token: set {api_key_env}")
        return cls(url, key)

    # projects
    def find_project(self, title: str) -> int | None:
        """The id of the project with this exact title, if any."""
        for project in self.sdk.projects.list(title=title):
            if project.title == title and project.id is not None:
                return int(project.id)
        return None

    def ensure_project(self, title: str, design: Design) -> int:
        """Find the project by title or create it with the design's labeling config.

        Predictions are never shown as pre-annotations in the blind design, so the
        generator's label cannot lead the expert. The project default is one expert per
        task; push raises ``overlap`` on the tasks chosen for agreement.
        """
        existing = self.find_project(title)
        if existing is not None:
            config = self.sdk.projects.get(existing).label_config or ""
            control = EXPERT_VALUE if design == "blind" else VERDICT
            if f'name="{control}"' not in config:
                raise LabelStudioError(
                    f"project {title!r} exists with a different labeling config (not the {design} design)"
                )
            return existing
        project = self.sdk.projects.create(
            title=title,
            label_config=label_config(design),
            description=f"valact expert validation ({design} design)",
            show_collab_predictions=design != "blind",
            maximum_annotations=1,
            show_skip_button=True,
        )
        if project.id is None:
            raise LabelStudioError("server did not return a project id")
        return int(project.id)

    # tasks
    def remote_tasks(self, project_id: int) -> list[RemoteTask]:
        """Every task of a project with the external id valact wrote into its data."""
        tasks = []
        for task in self.sdk.tasks.list(project=project_id, page_size=500):
            data = task.data or {}
            external = data.get("external_id")
            tasks.append(RemoteTask(id=int(task.id or 0), external_id=str(external) if external else None,
                                    overlap=int(getattr(task, "overlap", 1) or 1)))
        return tasks

    def import_tasks(self, project_id: int, payloads: Sequence[dict[str, Any]]) -> list[int]:
        """Create tasks (with their predictions) in one request; ids in payload order."""
        response = self.sdk.projects.import_tasks(project_id, request=list(payloads), return_task_ids=True)
        ids = list(response.task_ids or [])
        if len(ids) != len(payloads):
            raise LabelStudioError(f"imported {len(payloads)} tasks, server returned {len(ids)} ids")
        return [int(i) for i in ids]

    def delete_predictions(self, project_id: int) -> int:
        """Delete every prediction of a project; returns how many there were."""
        doomed = [int(p.id) for p in self.sdk.predictions.list(project=project_id) if p.id is not None]
        for prediction_id in doomed:
            self.sdk.predictions.delete(prediction_id)
        return len(doomed)

    def set_task_data(self, task_id: int, data: dict[str, Any]) -> None:
        """Replace a task's data (what the labeling interface shows)."""
        self.sdk.tasks.update(str(task_id), data=data)

    def set_overlap(self, task_id: int, annotators: int) -> None:
        """How many experts should label a task."""
        self.sdk.tasks.update(str(task_id), overlap=annotators)

    # annotations
    def export(self, project_id: int) -> list[dict[str, Any]]:
        """Every annotated task with its annotations (Label Studio's JSON export)."""
        raw = b"".join(self.sdk.projects.exports.download_sync(project_id, export_type="JSON",
                                                                download_all_tasks=False))
        data = json.loads(raw or b"[]")
        if not isinstance(data, list):
            raise LabelStudioError("export is not a JSON list of tasks")
        return data

    def create_user(self, username: str, email: str, password: str) -> int:
        """Create an expert account (admin only); returns its user id."""
        for user in self.sdk.users.list():
            if user.email == email and user.id is not None:
                return int(user.id)
        user = self.sdk.users.create(username=username, email=email, password=password)
        return int(user.id or 0)

    def annotate(self, task_id: int, result: Iterable[dict[str, Any]], user_id: int | None = None) -> int:
        """Submit an annotation as an expert would (``completed_by`` names the expert)."""
        kwargs: dict[str, Any] = {"result": list(result)}
        if user_id is not None:
            kwargs["completed_by"] = user_id
        annotation = self.sdk.annotations.create(task_id, **kwargs)
        return int(annotation.id or 0)

    def delete_annotation(self, annotation_id: int) -> None:
        """Remove an annotation from the server."""
        self.sdk.annotations.delete(annotation_id)
