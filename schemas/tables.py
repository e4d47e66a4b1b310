"""Every stored record type and the store table that holds it, declared in one place.

One declaration (rather than modules registering their types as they are imported) means
any command can read any table without importing the module that writes it, and a reader
sees the whole store's layout here.
"""

from __future__ import annotations

from schemas.annotation import AnnotationResult, AnnotationTask, Correction
from schemas.batch import BatchJob
from schemas.collect import PostRevision
from schemas.evaluate import EvalAnswer
from schemas.imports import ImportFlag
from schemas.records import (
    ActionCandidate,
    Drop,
    LLMCall,
    Post,
    Question,
    Record,
    RunRecord,
    Scenario,
    ScreenDecision,
    ScreenVote,
    StageRun,
)

TABLES: dict[type[Record], str] = {
    # the build, stage by stage
    Post: "posts",
    PostRevision: "post_revisions",
    Drop: "drops",
    ScreenVote: "screen_votes",
    ScreenDecision: "screen_decisions",
    Scenario: "scenarios",
    ActionCandidate: "candidates",
    Question: "questions",
    # model calls and provider batch jobs
    LLMCall: "llm_calls",
    BatchJob: "llm_batches",
    # runs
    RunRecord: "runs",
    StageRun: "stage_runs",
    # expert validation
    AnnotationTask: "annotation_tasks",
    AnnotationResult: "annotation_results",
    Correction: "corrections",
    # imported benchmarks and evaluations
    ImportFlag: "import_flags",
    EvalAnswer: "eval_answers",
}
