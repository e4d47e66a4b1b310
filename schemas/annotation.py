"""Records and settings of expert validation (stage 5).

An ``AnnotationTask`` is one sampled action candidate sent to Label Studio; its ``id`` is
the stable external id written into the task data, which is what makes pushing twice (or
after a crash) create no duplicate. An ``AnnotationResult`` is one expert's judgement as
pulled back; it is never deleted when it disappears from the server, only marked. A
``Correction`` is what a release policy did about a wrong label, tied to the annotations
that caused it. The tables are registered by the ``annotation`` package (schemas has no I/O).
The project's annotation settings (``AnnotationConfig``) are part of the project config.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.config import Design, Policy
from schemas.records import Record
from schemas.values import SchwartzValue

NONE_LABEL = "None / unclear"


class AnnotationTask(Record):
    """One sampled candidate as a Label Studio task; ``id`` is the external id."""

    project: str
    design: Design
    candidate_id: str
    scenario_id: str
    value: SchwartzValue
    generator: str
    domain: str
    model_version: str = Field(description="generator alias + prompt version")
    annotators_wanted: int = 1
    ls_project_id: int | None = None
    ls_task_id: int | None = None


class AnnotationResult(Record):
    """One expert judgement pulled from the server."""

    task_id: str = Field(description="external id of the AnnotationTask")
    candidate_id: str
    project: str
    design: Design
    ls_annotation_id: int
    ls_task_id: int
    annotator: str = Field(description="salted hash of the Label Studio user, never the e-mail")
    expert_value: str | None = Field(default=None, description="blind: chosen value or NONE_LABEL")
    verdict: Literal["correct", "wrong"] | None = None
    corrected_value: str | None = None
    comment: str = ""
    cancelled: bool = False
    ground_truth: bool = Field(default=False, description="marked ground truth: adjudicates the item")
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_on_server: bool = False
    deleted_seen_at: datetime | None = None


class Correction(Record):
    """What a release policy did about one wrongly labelled candidate."""

    candidate_id: str
    scenario_id: str
    policy: Policy
    annotation_ids: list[str]
    old_value: SchwartzValue
    new_value: SchwartzValue | None = None
    new_candidate_id: str | None = None
    old_text: str
    outcome: str = Field(description="e.g. 'reassembled' or 'scenario_withdrawn'")
