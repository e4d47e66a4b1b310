"""Every file of a release, built from the store: tables, figures, card and changelog.

The builder streams: questions, candidates and calls are read from the store a chunk at a
time and become Arrow columns as they come, and the card and figures read small tallies
(counts by value and position, by subreddit) rather than the records. A 15,000-question
release then costs about its own compressed size plus the Arrow tables, not every record
as a Python object (which took 667 MB against 361 MB for assembling the same workspace).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.prompts import load_prompt
from pipeline.release.card import CardInputs, render_card
from pipeline.release.diff import (
    CHANGELOG,
    changelog_entry,
    diff_releases,
    load_release_tables,
    updated_changelog,
)
from pipeline.release.figures import CONFUSION_FIGURE, VALUE_FIGURE, confusion_png, value_distribution_png
from pipeline.release.folder import ReleaseContent
from pipeline.release.invariants import as_warnings, invariant_breaks
from pipeline.release.tables import (
    CANDIDATES_SCHEMA,
    QUESTIONS_SCHEMA,
    SCENARIOS_SCHEMA,
    ScenarioKey,
    TableBuilder,
    candidate_row,
    parquet_bytes,
    question_row,
    scenario_row,
    sort_questions,
    validation_table,
)
from pipeline.store import Store
from schemas.config import ProjectConfig
from schemas.records import ActionCandidate, LLMCall, Question, Scenario

# Expert judgements (table rows, card summary) from the store, handed in by the flows:
# ``pipeline`` does not import ``annotation``.
ValidationSource = Callable[[Store], tuple[list[dict[str, Any]], dict[str, Any]]]


class EmptyReleaseError(ValueError):
    """The workspace holds no assembled question: a release of it would be an empty dataset."""


@dataclass(frozen=True)
class ReleaseOptions:
    """What a release adds beyond the config: origin, prose, and the version to diff against."""

    origin: str = "workspace"
    notes: str = ""
    correction_policy: str = ""
    previous: Path | None = None
    previous_version: str | None = None
    changelog: bool = False
    # None = a release without a validation table.
    validation: ValidationSource | None = None


@dataclass
class Tally:
    """What the card, figures and manifest need from the records, counted as they stream by."""

    questions: int = 0
    scenarios: int = 0
    candidates: int = 0
    positions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (value, letter)
    per_subreddit: Counter[tuple[str, str]] = field(default_factory=Counter)  # (domain, subreddit)
    warnings: Counter[str] = field(default_factory=Counter)
    scrubbed: Counter[str] = field(default_factory=Counter)
    models: dict[str, str] = field(default_factory=dict)
    prompt_hashes: set[str] = field(default_factory=set)
    cost_usd: float = 0.0


def _scenario_keys(store: Store) -> dict[str, ScenarioKey]:
    return {s.id: ScenarioKey.of(s) for s in store.iter(Scenario)}


def _questions(store: Store, keys: dict[str, ScenarioKey], region: str, tally: Tally,
               ) -> tuple[pa.Table, set[str], set[str]]:
    """The questions table, and the scenario and candidate ids its questions use."""
    builder = TableBuilder(QUESTIONS_SCHEMA)
    scenarios: set[str] = set()
    candidates: set[str] = set()
    for q in store.iter(Question):
        builder.add(question_row(q, keys[q.scenario_id], region))
        tally.questions += 1
        tally.positions.update((o.value.value, o.letter) for o in q.options)
        scenarios.add(q.scenario_id)
        candidates.update(o.candidate_id for o in q.options)
    return sort_questions(builder.table()), scenarios, candidates


def _scenarios(store: Store, used: set[str], config: ProjectConfig, tally: Tally) -> pa.Table:
    builder = TableBuilder(SCENARIOS_SCHEMA)
    policy, region = config.publish.text_policy, config.publish.phone_region
    for s in store.iter(Scenario):
        if s.id in used:
            builder.add(scenario_row(s, policy, tally.scrubbed, region))
            tally.scenarios += 1
            tally.per_subreddit[(s.domain, s.subreddit)] += 1
    return builder.table()


def _candidates(store: Store, used: set[str], region: str, tally: Tally) -> pa.Table:
    """Candidates used by a question; run after ``_calls``, whose served models come first."""
    builder = TableBuilder(CANDIDATES_SCHEMA)
    for c in store.iter(ActionCandidate):
        if c.id in used:
            builder.add(candidate_row(c, tally.scrubbed, region))
            tally.candidates += 1
            tally.warnings.update(c.warnings)
            tally.prompt_hashes.add(c.prompt_hash)
            tally.models.setdefault(c.generator, c.served_model)
    return builder.table()


def _calls(store: Store, tally: Tally) -> None:
    """Served model per alias (calls first, as they name every alias) and the total cost."""
    for call in store.iter(LLMCall):
        if call.served_model:
            tally.models.setdefault(call.model_alias, call.served_model)
        tally.cost_usd += call.cost_usd


def _table_rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    for batch in table.to_batches(max_chunksize=2000):
        yield from batch.to_pylist()


def _prompts(origin: str, tally: Tally) -> dict[str, str]:
    if origin == "workspace":
        return {name: load_prompt(name).hash for name in ("screen", "generate")}
    return {f"{origin}:{h}": h for h in sorted(tally.prompt_hashes)}


def build_release_files(store: Store, config: ProjectConfig, options: ReleaseOptions) -> ReleaseContent:
    """All files of a release from the store: tables, figures, card, changelog (no manifest)."""
    if store.count(Question) == 0:
        raise EmptyReleaseError(
            f"nothing to release: {store.path.parent} holds no assembled questions "
            f"({store.count(Scenario)} scenarios); run `valact build` or `valact assemble` first"
        )
    region = config.publish.phone_region
    tally = Tally()
    keys = _scenario_keys(store)
    questions, used_scenarios, used_candidates = _questions(store, keys, region, tally)
    _calls(store, tally)
    validation_rows, validation_summary = options.validation(store) if options.validation else ([], {})
    tables = {
        "questions": questions,
        "scenarios": _scenarios(store, used_scenarios, config, tally),
        "candidates": _candidates(store, used_candidates, region, tally),
        "validation": validation_table(validation_rows),
    }
    breaks = invariant_breaks(_table_rows(questions), set(keys), used_candidates)
    warnings = tally.warnings + Counter(as_warnings(breaks))
    files = {f"data/{name}.parquet": parquet_bytes(table) for name, table in tables.items()}
    rows = {f"data/{name}.parquet": table.num_rows for name, table in tables.items()}
    files[VALUE_FIGURE] = value_distribution_png(tally.positions)
    files[CONFUSION_FIGURE] = confusion_png(validation_rows)
    diff = None
    if options.changelog:
        old = load_release_tables(options.previous) if options.previous is not None else {}
        diff = diff_releases(old, tables, options.previous_version, config.publish.version)
        previous_log = options.previous / CHANGELOG if options.previous is not None else None
        files[CHANGELOG] = updated_changelog(
            previous_log.read_text(encoding="utf-8") if previous_log and previous_log.is_file() else None,
            changelog_entry(diff, options.notes),
        ).encode("utf-8")
    prompts = _prompts(options.origin, tally)
    card = render_card(
        CardInputs(
            config=config, questions=tally.questions, scenarios=tally.scenarios, candidates=tally.candidates,
            positions=tally.positions, per_subreddit=tally.per_subreddit,
            models=tally.models, prompts=prompts, warnings=dict(tally.warnings),
            scrubbed=dict(tally.scrubbed), cost_usd=tally.cost_usd, origin=options.origin,
            notes=options.notes, correction_policy=options.correction_policy,
            validation_rows=len(validation_rows), validation_summary=validation_summary, diff=diff,
            invariant_breaks={k: v for k, v in breaks.items() if v}, figures=[VALUE_FIGURE, CONFUSION_FIGURE],
        )
    )
    files["README.md"] = card.encode("utf-8")
    counts = {"scenarios": tally.scenarios, "questions": tally.questions, "candidates": tally.candidates,
              "validation": len(validation_rows)}
    counts.update({f"scrubbed.{kind}": n for kind, n in sorted(tally.scrubbed.items())})
    return ReleaseContent(files=files, rows=rows, counts=counts, models=tally.models, prompts=prompts,
                          warnings=dict(sorted(warnings.items())), diff=diff)
