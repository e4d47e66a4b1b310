"""Expert judgements flow from the annotation records into the release's validation table."""

from __future__ import annotations

from pathlib import Path

from annotation import release_validation
from pipeline.config import load_config
from pipeline.hashing import content_id
from pipeline.release.content import ReleaseOptions, build_release_files
from pipeline.release.tables import read_parquet
from schemas.annotation import AnnotationResult, AnnotationTask
from schemas.records import ActionCandidate
from tests.support.annotation_data import build_store


def test_verify_judgements_reach_the_validation_table_and_card(tmp_path: Path) -> None:
    store = build_store(tmp_path, scenarios=2)
    judged = store.all(ActionCandidate)[:3]
    records: list[AnnotationTask | AnnotationResult] = []
    for n, cand in enumerate(judged):
        task = AnnotationTask(id=content_id("at", cand.id), project="p", design="verify",
                              candidate_id=cand.id, scenario_id=cand.scenario_id, value=cand.value,
                              generator=cand.generator, domain="Career", model_version="m")
        verdict = "wrong" if n == 0 else "correct"
        records += [task, AnnotationResult(id=content_id("ar", cand.id), task_id=task.id,
                                           candidate_id=cand.id, project="p", design="verify",
                                           ls_annotation_id=n, ls_task_id=n, annotator="a_x",
                                           verdict=verdict)]  # type: ignore[arg-type]
    store.put(records)
    content = build_release_files(store, load_config("demo"), ReleaseOptions(validation=release_validation))
    table = read_parquet(content.files["data/validation.parquet"]).to_pylist()
    assert len(table) == 3
    assert sorted(row["verdict"] for row in table) == ["correct", "correct", "wrong"]
    assert sorted(row["correct"] for row in table) == [False, True, True]
    card = content.files["README.md"].decode()
    assert "config_name: validation" in card
    assert "| accuracy | 0.667 |" in card  # 2 of 3 judged correct
