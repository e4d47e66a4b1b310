"""The regenerate correction against the real local model server: the rejected action's own
generator writes a new one, the scenario keeps its full 5 x 4 design, and applying the
policy again pays for nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.corrections import apply_corrections, llm_regenerator
from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.release.invariants import invariant_breaks, question_rows
from pipeline.stages.generate import candidate_id
from schemas.annotation import Correction
from schemas.records import ActionCandidate, LLMCall, Question, Scenario
from schemas.values import SchwartzValue
from tests.support.annotation_data import GENERATORS, SEED, build_store, judge

pytestmark = pytest.mark.integration


def test_regenerate_with_the_local_model_keeps_the_design_and_is_paid_once(tmp_path: Path) -> None:
    demo = load_config("demo")
    # The annotation builder's generator aliases, served by the demo's local model.
    local = zip(GENERATORS, demo.generate.generators, strict=True)
    models = {alias: demo.models[served].model_dump() for alias, served in local}
    overrides = {"models": models, "generate": {"generators": GENERATORS}}
    config = load_config("demo", None, str(tmp_path / "ws"), overrides)
    build_store(Path(config.workspace), scenarios=2).close()
    ctx = StageContext.open(config)
    try:
        scenario = ctx.store.all(Scenario)[0]
        wrong = ctx.store.get(ActionCandidate, candidate_id(scenario.id, "gen-b", SchwartzValue.TRADITION))
        assert wrong is not None
        annotation_ids = judge(ctx.store, wrong, ["Power", "Achievement"])

        report = apply_corrections(ctx.store, GENERATORS, SEED, "regenerate", llm_regenerator(ctx))
        assert report.reassembled == [scenario.id] and report.withdrawn == []
        renewed = ctx.store.get(ActionCandidate, wrong.id)
        assert renewed is not None and renewed.text.strip() and renewed.text != wrong.text
        assert "regenerated" in renewed.warnings
        questions = ctx.store.all(Question)
        assert len(questions) == 10 and not invariant_breaks(question_rows(questions))
        assert renewed.text in {o.text for q in questions for o in q.options}
        (correction,) = ctx.store.all(Correction)
        assert correction.annotation_ids == sorted(annotation_ids) and correction.old_text == wrong.text
        calls = [c for c in ctx.store.all(LLMCall) if c.stage == "validate"]
        paid = [c for c in calls if not c.cached and c.outcome != "error"]
        assert paid and {c.model_alias for c in paid} == {"gen-b"}
        assert all(c.prompt_hash.endswith("+regenerate") for c in calls)

        again = apply_corrections(ctx.store, GENERATORS, SEED, "regenerate", llm_regenerator(ctx))
        assert again.already_applied == 1
        assert len([c for c in ctx.store.all(LLMCall) if c.stage == "validate"]) == len(calls)
    finally:
        ctx.close()
