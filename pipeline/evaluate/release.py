"""The release an evaluation reads: a local folder or ``hf://ORG/NAME@REV`` on the Hub.

Only two tables matter here: ``questions`` (options with their values) and ``scenarios``
(the post text shown to the model). A masked release carries no post text, so it cannot be
evaluated as it is: the error says to rehydrate it first rather than asking about titles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.release.verify import HF_SCHEME, parse_hf_target
from schemas.values import SchwartzValue


class ReleaseReadError(Exception):
    """The release cannot be evaluated; the message says why and what to do."""


@dataclass(frozen=True)
class EvalQuestion:
    """One question as an evaluation needs it."""

    question_id: str
    scenario_id: str
    domain: str
    actions: list[str]
    values: list[SchwartzValue]


@dataclass(frozen=True)
class EvalRelease:
    """Questions, scenario texts and a label naming the release."""

    label: str
    questions: list[EvalQuestion]
    texts: dict[str, str]


def local_copy(target: str, cache_dir: Path) -> Path:
    """A folder holding the release: the path itself, or a Hub snapshot under ``cache_dir``."""
    if not target.startswith(HF_SCHEME):
        path = Path(target)
        if not path.is_dir():
            raise ReleaseReadError(f"no release folder at {path}")
        return path
    from pipeline.release.hub import hub_api  # endpoint from HF_ENDPOINT, token from HF_TOKEN

    repo_id, revision = parse_hf_target(target)
    folder = cache_dir / repo_id.replace("/", "--") / (revision or "main")
    hub_api().snapshot_download(repo_id, repo_type="dataset", revision=revision, local_dir=folder,
                                allow_patterns=["data/*.parquet", "manifest.json"])
    return folder


def _label(folder: Path, target: str) -> str:
    manifest = folder / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return f"{data['name']}@{data['version']}"
    return target.rstrip("/").split("/")[-1]


def read_release(folder: Path, target: str | None = None) -> EvalRelease:
    """Questions in (scenario, index) order and the scenario texts of a release folder."""
    paths = {name: folder / "data" / f"{name}.parquet" for name in ("questions", "scenarios")}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise ReleaseReadError(f"{folder} is not a valact release: missing {', '.join(missing)}")
    texts: dict[str, str] = {}
    masked = 0
    for row in pq.read_table(paths["scenarios"]).to_pylist():
        if row["text"]:
            texts[row["scenario_id"]] = row["text"]
        else:
            masked += 1
    questions = []
    for row in pq.read_table(paths["questions"]).to_pylist():
        options = sorted(row["options"], key=lambda o: o["letter"])
        questions.append(EvalQuestion(
            question_id=row["question_id"], scenario_id=row["scenario_id"], domain=row["domain"],
            actions=[o["action"] for o in options], values=[SchwartzValue.parse(o["value"]) for o in options],
        ))
    questions.sort(key=lambda q: (q.scenario_id, q.question_id))
    if masked and not texts:
        raise ReleaseReadError(
            f"{folder} is a masked release (no post texts); fill them first with "
            f"`valact rehydrate {folder}` and evaluate the rehydrated copy"
        )
    return EvalRelease(label=_label(folder, target or str(folder)), questions=questions, texts=texts)
