"""The record of one provider batch job, kept so a restarted run finds its jobs again."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.records import Record

JobStatus = Literal["creating", "submitted", "completed", "failed", "expired", "cancelled"]


class BatchJob(Record):
    """One batch job: enough to find it again after a crash and to file its answers."""

    alias: str
    batch_id: str = ""
    input_file_id: str = ""
    round: int = 0
    status: JobStatus = "creating"
    # request key -> {"item_id", "stage", "prompt_name", "prompt_hash", "run_id"}
    entries: dict[str, dict[str, str]]
    created_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, int] = Field(default_factory=dict)
