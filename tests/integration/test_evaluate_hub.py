"""A release published to a loopback Hub is evaluated by ``hf://ORG/NAME@REV`` (models on the
provider simulator), and the analysis goes back into a release folder as a ``results``
config that still verifies and that ``datasets`` loads."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi

from pipeline.analysis.analyze import analyze_answers
from pipeline.analysis.release_results import attach_results
from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.evaluate.plan import EvalOptions
from pipeline.evaluate.run import evaluate
from pipeline.release.build import build_release
from pipeline.release.hub import publish_to_hub
from pipeline.release.verify import verify_folder
from schemas.evaluate import EvalAnswer
from tests.support.hub_server import HubServer
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides
from tests.support.release_data import declare, make_workspace

pytestmark = pytest.mark.integration
TOKEN = "hf_loopback_token"
KEY = "sk-sim-evaluate-hub-0123456789"


@pytest.fixture
def hub() -> Iterator[HubServer]:
    with HubServer(token=TOKEN) as server:
        yield server


def test_hf_release_evaluated_and_results_attached(hub: HubServer, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    declare(tmp_path / "releases", "0.1.0", make_workspace(tmp_path), text_policy="full")
    release = build_release(tmp_path / "releases", "0.1.0").release.path
    publish_to_hub(release, "valact/eval-set", HfApi(endpoint=hub.url, token=TOKEN))
    questions = pq.read_table(release / "data" / "questions.parquet").num_rows
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("VALACT_SIM_KEY", KEY)

    with ProviderSim(SimConfig(api_key=KEY, responder=lambda _m, _s: '{"Answer": "B"}')) as sim:
        config = load_config("demo", None, str(tmp_path / "ws"), valact_overrides(sim))
        ctx = StageContext.open(config)
        try:
            options = EvalOptions(model="gpt-sim", mode="adoption", prompts=2)
            report = evaluate(ctx, "hf://valact/eval-set@v0.1.0", options)
            answers = ctx.store.all(EvalAnswer)
        finally:
            ctx.close()
    assert report.release == "valact-test@0.1.0"
    assert report.answered == len(answers) == 2 * questions and report.failed == 0
    assert all(a.choice == "B" and a.chosen_value == a.option_values[1] for a in answers)

    copy = tmp_path / "release-with-results"
    shutil.copytree(release, copy)
    analysis = analyze_answers(answers)
    attach_results(copy, analysis.tables)
    attach_results(copy, analysis.tables)  # attaching again replaces, never duplicates
    check = verify_folder(copy)
    assert check.ok, check.problems
    results = pq.read_table(copy / "data" / "results.parquet").to_pylist()
    adoption_all = [r for r in results if r["analysis"] == "accuracy" and r["value"] == "all"
                    and r["domain"] == "all" and r["metric"] == "accuracy"]
    expected = 100 * sum(a.chosen_value == a.target for a in answers) / len(answers)
    assert [r["number"] for r in adoption_all] == pytest.approx([expected])
    assert (copy / "README.md").read_text(encoding="utf-8").count("config_name: results") == 1

    from datasets import load_dataset

    loaded = load_dataset(str(copy), "results", split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert loaded.num_rows == len(results)
