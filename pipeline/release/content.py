"""Every file of a release, built from the store: tables, figures, card and changelog.

The builder streams: questions, scenarios, candidates and calls are read from the store a
chunk at a time, in the order the tables keep (SQLite sorts the questions), and become
parquet row groups as they come; the invariant checker sees each scenario's questions as
they pass, and the card and figures read small tallies (counts by value and position, by
subreddit) rather than the records. A release then costs its compressed bytes plus one row
group, whatever its size: whole Arrow tables of 15,000 questions, sorted and checked at the
end, cost 120 MB more than the same build's assembling; every record as a Python object,
before that, twice the assembling's memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.prompts import load_prompt
from pipeline.release.card import CardInputs, render_card
from pipeline.release.diff import (
    CHANGELOG,
    ID_COLUMNS,
    changelog_entry,
    diff_releases,
    load_release_tables,
    updated_changelog,
)
from pipeline.release.figures import CONFUSION_FIGURE, VALUE_FIGURE, confusion_png, value_distribution_png
from pipeline.release.folder import ReleaseContent
from pipeline.release.invariants import GroupedInvariants, as_warnings
from pipeline.release.tables import (
    CANDIDATES_SCHEMA,
    QUESTIONS_SCHEMA,
    SCENARIOS_SCHEMA,
    ParquetBuilder,
    ScenarioKey,
    candidate_row,
    parquet_bytes,
    question_row,
    read_parquet,
    scenario_row,
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


@dataclass
class QuestionsPass:
    """The questions table's bytes, and what the rest of the release needs from it."""

    parquet: bytes
    rows: int
    scenarios: set[str]  # scenario ids the questions use
    candidates: set[str]  # candidate ids the options use
    breaks: Counter[str]  # invariant breaks (``unknown_candidate`` is counted later)


def _questions(store: Store, keys: dict[str, ScenarioKey], region: str, tally: Tally) -> QuestionsPass:
    """The questions table in release order (by scenario, then index), checked as it streams."""
    builder = ParquetBuilder(QUESTIONS_SCHEMA)
    checker = GroupedInvariants(scenario_ids=set(keys))
    scenarios: set[str] = set()
    candidates: set[str] = set()
    for q in store.iter(Question, order_by=("scenario_id", "index")):
        row = question_row(q, keys[q.scenario_id], region)
        builder.add(row)
        checker.add(row)
        tally.questions += 1
        tally.positions.update((o.value.value, o.letter) for o in q.options)
        scenarios.add(q.scenario_id)
        candidates.update(o.candidate_id for o in q.options)
    return QuestionsPass(builder.finish(), builder.num_rows, scenarios, candidates, checker.finish())


def _scenarios(store: Store, used: set[str], config: ProjectConfig, tally: Tally) -> bytes:
    builder = ParquetBuilder(SCENARIOS_SCHEMA)
    policy, region = config.publish.text_policy, config.publish.phone_region
    for s in store.iter(Scenario):
        if s.id in used:
            builder.add(scenario_row(s, policy, tally.scrubbed, region))
            tally.scenarios += 1
            tally.per_subreddit[(s.domain, s.subreddit)] += 1
    return builder.finish()


def _candidates(store: Store, used: set[str], region: str, tally: Tally) -> tuple[bytes, int]:
    """Candidates used by a question, and how many options name a candidate the store lacks.

    Run after ``_calls``, whose served models come first.
    """
    builder = ParquetBuilder(CANDIDATES_SCHEMA)
    for c in store.iter(ActionCandidate):
        if c.id in used:
            builder.add(candidate_row(c, tally.scrubbed, region))
            tally.candidates += 1
            tally.warnings.update(c.warnings)
            tally.prompt_hashes.add(c.prompt_hash)
            tally.models.setdefault(c.generator, c.served_model)
    return builder.finish(), len(used) - builder.num_rows


def _calls(store: Store, tally: Tally) -> None:
    """Served model per alias (calls first, as they name every alias) and the total cost."""
    for call in store.iter(LLMCall):
        if call.served_model:
            tally.models.setdefault(call.model_alias, call.served_model)
        tally.cost_usd += call.cost_usd


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
    questions = _questions(store, keys, region, tally)
    _calls(store, tally)
    validation_rows, validation_summary = options.validation(store) if options.validation else ([], {})
    validation = validation_table(validation_rows)
    candidates, missing_candidates = _candidates(store, questions.candidates, region, tally)
    files = {
        "data/questions.parquet": questions.parquet,
        "data/scenarios.parquet": _scenarios(store, questions.scenarios, config, tally),
        "data/candidates.parquet": candidates,
        "data/validation.parquet": parquet_bytes(validation),
    }
    rows = {
        "data/questions.parquet": questions.rows,
        "data/scenarios.parquet": tally.scenarios,
        "data/candidates.parquet": tally.candidates,
        "data/validation.parquet": validation.num_rows,
    }
    breaks = questions.breaks + Counter(unknown_candidate=missing_candidates)
    warnings = tally.warnings + Counter(as_warnings(breaks))
    files[VALUE_FIGURE] = value_distribution_png(tally.positions)
    files[CONFUSION_FIGURE] = confusion_png(validation_rows)
    diff = None
    if options.changelog:
        old = load_release_tables(options.previous) if options.previous is not None else {}
        new = {name: read_parquet(files[f"data/{name}.parquet"]) for name in ID_COLUMNS}
        diff = diff_releases(old, new, options.previous_version, config.publish.version)
        previous_log = options.previous / CHANGELOG if options.previous is not None else None
        files[CHANGELOG] = updated_changelog(
            previous_log.read_text(encoding="utf-8") if previous_log and previous_log.is_file() else None,
            changelog_entry(diff, options.notes),
        ).encode("utf-8")
    prompts = _prompts(options.origin, tally)
    card = render_card(
        CardInputs(
            config=config,
            questions=tally.questions,
            scenarios=tally.scenarios,
            candidates=tally.candidates,
            positions=tally.positions,
            per_subreddit=tally.per_subreddit,
            models=tally.models,
            prompts=prompts,
            warnings=dict(tally.warnings),
            scrubbed=dict(tally.scrubbed),
            cost_usd=tally.cost_usd,
            origin=options.origin,
            notes=options.notes,
            correction_policy=options.correction_policy,
            validation_rows=len(validation_rows),
            validation_summary=validation_summary,
            diff=diff,
            invariant_breaks={k: v for k, v in breaks.items() if v},
            figures=[VALUE_FIGURE, CONFUSION_FIGURE],
        )
    )
    files["README.md"] = card.encode("utf-8")
    counts = {
        "scenarios": tally.scenarios,
        "questions": tally.questions,
        "candidates": tally.candidates,
        "validation": len(validation_rows),
    }
    counts.update({f"scrubbed.{kind}": n for kind, n in sorted(tally.scrubbed.items())})
    return ReleaseContent(
        files=files,
        rows=rows,
        counts=counts,
        models=tally.models,
        prompts=prompts,
        warnings=dict(sorted(warnings.items())),
        diff=diff,
    )
