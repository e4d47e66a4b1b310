"""Records of model evaluations: one stored answer per (model, mode, prompt variant, unit).

The same record holds answers valact asked for itself and answers imported from the
authors' result logs, so one analysis serves both. An answer that cannot be used keeps its
raw text and says why (``invalid``); it is never replaced by a guess.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import Letter, Record
from schemas.values import SchwartzValue

EvalMode = Literal["default", "selection", "adoption", "pvq40"]
EVAL_MODES: tuple[EvalMode, ...] = ("default", "selection", "adoption", "pvq40")
CHOICE_MODES: tuple[EvalMode, ...] = ("default", "selection", "adoption")
PVQ_SCORES = range(1, 7)

# Why an answer (or one PVQ item of it) was not used.
InvalidReason = Literal[
    "empty",                # nothing but whitespace
    "x",                    # the model answered "X" (declined to choose)
    "letter_out_of_range",  # a letter, but not A-D
    "score_out_of_range",   # a PVQ score outside 1-6
    "missing_item",         # a PVQ position the answer did not score
    "unparseable",          # no answer could be read from the text
    "failed",               # the request itself failed (recorded in llm_calls)
]


class PvqItem(BaseModel):
    """One PVQ-40 portrait item as the user supplied it (valact ships no item texts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(description="PVQ-40 item number when known ('12'), else a text-derived key")
    value: SchwartzValue
    text: str


class PvqPosition(BaseModel):
    """Which item sat at which position of one shuffled PVQ-40 order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int
    key: str
    value: SchwartzValue


class EvalAnswer(Record):
    """A model's answer to one evaluation unit, parsed, with the reason when unusable."""

    source: str = Field(description="'valact' for runs made here, 'import:<file>' for the authors' logs")
    release: str = Field(description="what was evaluated: release name@version, or the log's name")
    model: str = Field(description="model alias (or the label of an imported log)")
    mode: EvalMode
    variant: int = Field(ge=1, description="prompt variant, 1-based (the logs' promptK)")
    unit: str = Field(description="question id, or 'trial<N>' for PVQ-40")
    # choice modes
    question_id: str | None = None
    scenario_id: str | None = None
    domain: str | None = None
    option_values: list[SchwartzValue] = Field(default_factory=list, description="values in A-D order")
    target: SchwartzValue | None = Field(default=None, description="selection/adoption target value")
    choice: Letter | None = None
    chosen_value: SchwartzValue | None = None
    # PVQ-40
    trial: int | None = None
    positions: list[PvqPosition] = Field(default_factory=list)
    scores: dict[int, int] = Field(default_factory=dict, description="position -> valid score 1-6")
    item_issues: dict[int, InvalidReason] = Field(default_factory=dict, description="position -> reason")
    # provenance
    raw: str
    invalid: InvalidReason | None = None
    request_hash: str | None = Field(default=None, description="links to the LLMCall that produced it")
    prompt_hash: str | None = None
    served_model: str | None = None
    run_id: str | None = None

    @property
    def valid(self) -> bool:
        """Usable in the analysis (PVQ answers may still carry per-item issues)."""
        return self.invalid is None
