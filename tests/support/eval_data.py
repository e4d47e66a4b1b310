"""Inputs for evaluation tests: a release folder of any size (full text, no model needed) and a
PVQ-40 items CSV with placeholder texts (valact ships no questionnaire text, neither do tests)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from pipeline.release.tables import parquet_bytes, questions_table, scenarios_table
from schemas.records import LETTERS, Question, QuestionOption, Scenario
from schemas.values import ALL_VALUES, SchwartzValue

DOMAINS = {"Career & work": "careerguidance", "Financial & investment": "personalfinance",
           "Education & academy": "GradSchool", "Relationships": "relationships", "Ethics": "AmItheAsshole"}


def write_release(folder: Path, scenarios_per_domain: int, name: str = "eval-test") -> Path:
    """``data/questions.parquet`` and ``data/scenarios.parquet``: 5 questions x 4 options per scenario."""
    scenarios: dict[str, Scenario] = {}
    questions: list[Question] = []
    for domain, subreddit in DOMAINS.items():
        for n in range(scenarios_per_domain):
            sid = f"s_{subreddit.lower()}_{n:04d}"
            scenarios[sid] = Scenario(
                id=sid, post_id=sid[2:], domain=domain, subreddit=subreddit, title=f"Decision {n}",
                text=f"I ({20 + n % 30}) have to choose what to do about situation {n} in {domain.lower()}. "
                     "Both paths have costs and I keep going back and forth. What would you do?",
                created_utc=1_600_000_000 + n, url=f"https://www.reddit.com/r/{subreddit}/comments/{sid}/",
            )
            for q in range(5):
                values = [ALL_VALUES[(2 * q + 5 * k + n) % 10] for k in range(2)] + \
                         [ALL_VALUES[(2 * q + 1 + 5 * k + n) % 10] for k in range(2)]
                options = [
                    QuestionOption(letter=letter, value=v, generator="g", candidate_id=f"c_{sid}_{v.value}",
                                   text=f"Do the thing that serves {v.value.lower()} in case {n}.")
                    for letter, v in zip(LETTERS, values, strict=True)
                ]
                questions.append(
                    Question(id=f"q_{sid}_{q}", scenario_id=sid, index=q, options=options, seed=0))
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "questions.parquet").write_bytes(parquet_bytes(questions_table(questions, scenarios)))
    (data / "scenarios.parquet").write_bytes(
        parquet_bytes(scenarios_table(list(scenarios.values()), "full", Counter())))
    (folder / "manifest.json").write_text(json.dumps({"name": name, "version": "0.0.1"}), encoding="utf-8")
    return folder


def write_items_csv(path: Path) -> Path:
    """The 40 PVQ-40 item numbers with their values and placeholder texts."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "value", "text"])
        for value in SchwartzValue:
            for n in value.pvq_items:
                writer.writerow([n, value.value, f"Placeholder portrait {n}: this matters to the person."])
    return path
