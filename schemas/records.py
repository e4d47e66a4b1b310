"""The records every stage reads and writes.

Each record carries a stable, content-derived ``id`` so that writing it twice is a no-op
(idempotent upserts) and so that two builds can be compared item by item.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.values import SchwartzValue

Letter = Literal["A", "B", "C", "D"]
LETTERS: tuple[Letter, ...] = ("A", "B", "C", "D")


class Record(BaseModel):
    """Base for stored records: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str


class Post(Record):
    """A Reddit submission as collected. ``author_hash`` is a salted hash, never the name."""

    subreddit: str
    created_utc: int
    title: str
    selftext: str
    score: int = 0
    num_comments: int = 0
    over_18: bool = False
    permalink: str = ""
    url: str = ""
    author_hash: str | None = None
    removed: bool = False
    deleted: bool = False
    source: str = Field(description="where the post came from: 'api', 'dump:<file>' or 'index:<file>'")
    retrieved_at: int = Field(description="epoch seconds when valact read the post")
    domain_hint: str | None = Field(
        default=None, description="domain label given by the source (e.g. the authors' index CSV)"
    )


class Drop(Record):
    """Why a stage did not carry an item forward. One row per (stage, item)."""

    stage: str
    item_id: str
    reason: str
    detail: str = ""


class ScreenVote(Record):
    """One screener's Yes/No answer on one post."""

    post_id: str
    screener: str
    prompt_hash: str
    keep: bool
    role: Literal["screener", "tiebreaker"] = "screener"


class ScreenDecision(Record):
    """The ensemble's verdict on one post."""

    post_id: str
    keep: bool
    votes: dict[str, bool]
    tie_broken_by: str | None = None


class Scenario(Record):
    """An advice-seeking post chosen for the benchmark; its text is the post, unchanged."""

    post_id: str
    domain: str
    subreddit: str
    title: str
    text: str
    created_utc: int
    url: str


class ActionCandidate(Record):
    """One action written by one generator for one value of one scenario."""

    scenario_id: str
    value: SchwartzValue
    generator: str = Field(description="configured model alias, e.g. 'gpt-4o'")
    served_model: str = Field(description="model id the provider reported serving")
    prompt_hash: str
    text: str
    warnings: list[str] = Field(default_factory=list)


class QuestionOption(BaseModel):
    """One answer option of a question."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    letter: Letter
    value: SchwartzValue
    generator: str
    candidate_id: str
    text: str


class Question(Record):
    """Four value-distinct actions for one scenario."""

    scenario_id: str
    index: int = Field(ge=0, description="0..4 within the scenario")
    options: list[QuestionOption]
    seed: int


class LLMCall(Record):
    """One request to a model, or one answer served from the cache instead."""

    run_id: str
    stage: str
    item_id: str
    provider: str
    model_alias: str
    served_model: str
    prompt_name: str
    prompt_hash: str
    params: dict[str, object]
    request_hash: str
    cached: bool
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    finish_reason: str | None = None
    outcome: Literal["ok", "invalid_output", "error", "rejected"] = "ok"
    error: str | None = None
    created_at: datetime


class RunRecord(Record):
    """One invocation of a stage or of the build, for status and resumption."""

    command: str
    started_at: datetime
    finished_at: datetime | None = None
    status: Literal["running", "completed", "failed"] = "running"
    summary: dict[str, object] = Field(default_factory=dict)


class StageRun(Record):
    """One stage's run in numbers (``StageStats``): what ``valact status`` shows per stage.

    The same figures the progress bars and a flow's result show, kept so status can say how
    the last run of each stage went without recomputing anything.
    """

    run_id: str
    stage: str
    stats: dict[str, Any]
    finished_at: datetime
