"""Import the original VALACT-15K question lists into valact's records.

The authors keep one Python-literal list per scenario: five questions, each four
``(source_model, value, action)`` tuples. It appears one per line in ``qa_pairs_reddit.txt``
and as the second line of each 7-line block of their result logs (masked scenario, the list,
then five ``model_choice for promptK: [...]`` lines). The reader below accepts both: every
line starting with ``[[`` is a scenario's list, answer lines are counted, other lines skipped.

Lists are linked to the authors' index CSV by position only when both hold the same number
of scenarios (as ``qa_pairs_reddit.txt`` does); a result log covers a sample, so its
scenarios keep position ids (``s_orig_0001``) and an ``unknown`` domain.

Nothing is repaired: every invariant the original breaks becomes an ``ImportFlag`` record
(for example a value whose two actions come from the same model), and a list that cannot
become questions at all becomes a ``Drop`` with the line number.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.hashing import content_id, sha256_hex
from pipeline.sources.valact_index import IndexProblem, IndexRow
from pipeline.sources.valact_index import read_index as read_index_rows
from pipeline.stage import drop_record
from pipeline.store import Store
from schemas.imports import ImportFlag
from schemas.records import LETTERS, ActionCandidate, Drop, Question, QuestionOption, Scenario
from schemas.values import SchwartzValue

STAGE = "import"
ORIGIN = "valact-original"
ANSWER_LINE = re.compile(r"^model_choice for prompt(\d+):\s*(.*)$")
VALID_ANSWERS = {f'{{"Answer": "{letter}"}}' for letter in LETTERS}


class ImportFormatError(ValueError):
    """One scenario's list cannot be read as 5 questions of 4 (model, value, action) tuples."""


@dataclass
class ImportReport:
    """What an import read, stored, dropped and flagged."""

    source: str
    scenarios: int = 0
    questions: int = 0
    candidates: int = 0
    dropped: int = 0
    linked_to_index: bool = False
    index_rows: int = 0
    flags: Counter[str] = field(default_factory=Counter)
    value_pairs: int = 0
    answers: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            "source": self.source, "scenarios": self.scenarios, "questions": self.questions,
            "candidates": self.candidates, "dropped": self.dropped,
            "linked_to_index": self.linked_to_index, "index_rows": self.index_rows,
            "value_pairs": self.value_pairs,
            "single_model_value_pairs": self.flags.get("single_model_pair", 0),
            "flags": dict(sorted(self.flags.items())),
            "answers": dict(sorted(self.answers.items())),
        }


def read_index(path: Path) -> list[IndexRow]:
    """The authors' index CSV, every row usable: rows pair with question lists by position, so
    one unusable row would shift every later scenario onto the wrong post."""
    rows = []
    for entry in read_index_rows(path):
        if isinstance(entry, IndexProblem):
            raise ImportFormatError(f"{path}:{entry.line_no}: {entry.error}")
        rows.append(entry)
    return rows


def parse_question_list(text: str) -> list[list[tuple[str, SchwartzValue, str]]]:
    """One scenario's literal list -> five questions of (model, value, action)."""
    try:
        data = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise ImportFormatError(f"not a Python literal: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(q, list | tuple) for q in data):
        raise ImportFormatError("expected a list of questions")
    questions = []
    for qi, question in enumerate(data):
        if len(question) != len(LETTERS):
            raise ImportFormatError(f"question {qi} has {len(question)} options, not 4")
        options = []
        for option in question:
            if not (isinstance(option, list | tuple) and len(option) == 3
                    and all(isinstance(part, str) for part in option)):
                raise ImportFormatError(f"question {qi}: option {option!r} is not (model, value, action)")
            model, value, action = option
            try:
                options.append((model.strip(), SchwartzValue.parse(value), action.strip()))
            except ValueError as exc:
                raise ImportFormatError(f"question {qi}: {exc}") from exc
        questions.append(options)
    return questions


def iter_lists(path: Path) -> tuple[list[tuple[int, str]], Counter[str]]:
    """(line number, list text) per scenario, plus a count of the logged answers by kind."""
    lists: list[tuple[int, str]] = []
    answers: Counter[str] = Counter()
    with path.open(encoding="utf-8") as handle:
        for n, raw in enumerate(handle, start=1):
            line = raw.strip()
            if line.startswith("[["):
                lists.append((n, line))
                continue
            match = ANSWER_LINE.match(line)
            if match:
                try:
                    given = ast.literal_eval(match.group(2))
                except (ValueError, SyntaxError):
                    answers["unreadable_line"] += 1
                    continue
                for answer in given:
                    answers["valid" if str(answer).strip() in VALID_ANSWERS else "invalid"] += 1
    return lists, answers


def _scenario(position: int, row: IndexRow | None) -> Scenario:
    if row is None:
        return Scenario(id=f"s_orig_{position:04d}", post_id="", domain="unknown", subreddit="unknown",
                        title="", text="", created_utc=0, url="")
    created = int(datetime.strptime(row.date, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
    return Scenario(id=f"s_{row.post_id}", post_id=row.post_id, domain=row.domain, subreddit=row.subreddit,
                    title=row.title, text="", created_utc=created, url=row.url)


def build_scenario(
    scenario: Scenario, parsed: list[list[tuple[str, SchwartzValue, str]]], source: str
) -> tuple[list[ActionCandidate], list[Question], list[ImportFlag]]:
    """Records for one scenario, and a flag for every design invariant it breaks."""
    prompt_hash = f"{ORIGIN}-{sha256_hex(source)[:10]}"
    candidates: dict[str, ActionCandidate] = {}
    questions = []
    flags: list[ImportFlag] = []

    def flag(rule: str, detail: str) -> None:
        flags.append(ImportFlag(id=content_id("flag", scenario.id, rule, detail), source=source,
                                scenario_id=scenario.id, rule=rule, detail=detail))

    if len(parsed) != 5:
        flag("questions_per_scenario", f"{len(parsed)} questions")
    by_value: dict[SchwartzValue, list[str]] = {}
    for index, question in enumerate(parsed):
        options = []
        values = [value for _, value, _ in question]
        if len(set(values)) != len(values):
            flag("distinct_values", f"question {index}: {', '.join(v.value for v in values)}")
        for letter, (model, value, action) in zip(LETTERS, question, strict=True):
            cand_id = content_id("c", scenario.id, model, value.value, action)
            if cand_id in candidates:
                flag("candidates_used_once", f"question {index} {letter}: action repeated")
            if not action:
                flag("empty_action", f"question {index} {letter}")
            candidates[cand_id] = ActionCandidate(
                id=cand_id, scenario_id=scenario.id, value=value, generator=model, served_model=model,
                prompt_hash=prompt_hash, text=action,
            )
            by_value.setdefault(value, []).append(model)
            options.append(QuestionOption(letter=letter, value=value, generator=model,
                                          candidate_id=cand_id, text=action))
        questions.append(Question(id=content_id("q", scenario.id, index), scenario_id=scenario.id,
                                  index=index, options=options, seed=0))
    for value, models in sorted(by_value.items(), key=lambda kv: kv[0].value):
        if len(models) != 2:
            flag("value_twice", f"{value.value} appears {len(models)} times")
        elif models[0] == models[1]:
            flag("single_model_pair", f"{value.value}: both actions from {models[0]}")
    return list(candidates.values()), questions, flags


def import_original(store: Store, questions_path: Path, index_path: Path | None = None) -> ImportReport:
    """Read the question lists (and optionally the index) into the store; safe to re-run."""
    source = questions_path.name
    report = ImportReport(source=source)
    lists, report.answers = iter_lists(questions_path)
    index = read_index(index_path) if index_path is not None else []
    report.index_rows = len(index)
    report.linked_to_index = bool(index) and len(index) == len(lists)
    scenarios: list[Scenario] = []
    candidates: list[ActionCandidate] = []
    questions: list[Question] = []
    flags: list[ImportFlag] = []
    drops: list[Drop] = []
    for position, (line_no, text) in enumerate(lists, start=1):
        scenario = _scenario(position, index[position - 1] if report.linked_to_index else None)
        try:
            parsed = parse_question_list(text)
        except ImportFormatError as exc:
            drops.append(drop_record(STAGE, scenario.id, "unreadable_question_list",
                                     f"{source}:{line_no}: {exc}"[:300]))
            continue
        cands, qs, fl = build_scenario(scenario, parsed, source)
        scenarios.append(scenario)
        candidates += cands
        questions += qs
        flags += fl
        report.value_pairs += len({o.value for q in qs for o in q.options})
    store.put([*scenarios, *candidates, *questions, *flags])
    stale = [d.id for d in store.all(Drop) if d.stage == STAGE and d.id not in {x.id for x in drops}]
    store.delete(Drop, stale)
    store.put(drops)
    report.scenarios, report.questions, report.candidates = len(scenarios), len(questions), len(candidates)
    report.dropped = len(drops)
    report.flags = Counter(f.rule for f in flags)
    return report
