"""Import the authors' result logs as evaluation answers, so one analysis serves both.

Two formats (see DESIGN.md):

- scenario logs: 7-line blocks of a masked scenario, the question list (read by
  ``valact_original.parse_question_list``) and five ``model_choice for promptK: [...]`` lines
  holding one answer string per question;
- PVQ logs: ``----trialN----`` blocks listing each value's ``(position, item text)`` pairs in
  that trial's shuffled order, then ``model_choice: [...]`` with one answer per prompt variant.

Answers are parsed by the same readers as valact's own runs; an unusable one is stored with
its reason, never dropped or guessed. Scenario ids follow ``import valact-original`` (position
ids, domain ``unknown``: a result log's masked scenarios cannot be linked to the index).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.evaluate.parsing import parse_choice, parse_scores
from pipeline.evaluate.plan import answer_id
from pipeline.hashing import sha256_hex
from pipeline.importers.valact_original import (
    ANSWER_LINE,
    ImportFormatError,
    _scenario,
    build_scenario,
    parse_question_list,
)
from pipeline.store import Store
from schemas.evaluate import EvalAnswer, EvalMode, PvqItem, PvqPosition
from schemas.values import SchwartzValue

TRIAL_LINE = re.compile(r"^----trial(\d+)----\s*$")
PVQ_ANSWERS = "model_choice:"


def text_key(value: SchwartzValue, text: str) -> str:
    """Stable key for an item known only by its text (the logs carry no item numbers)."""
    return f"{value.value}:{sha256_hex(' '.join(text.split()).lower())[:8]}"


class ResultsFormatError(ValueError):
    """A log cannot be read; the message names the file and line."""


@dataclass
class PvqTrial:
    """One trial of a PVQ log: the shuffled order and the raw answer of each prompt variant."""

    trial: int
    line: int
    items: list[PvqItem]
    positions: list[PvqPosition]
    answers: list[str]


@dataclass
class ScenarioBlock:
    """One scenario of a scenario log: its question list and the answers per prompt."""

    position: int
    line: int
    questions: list[list[tuple[str, SchwartzValue, str]]]
    answers: dict[int, list[str]]


@dataclass
class ResultsImport:
    """What one log held and what was stored."""

    file: str
    model: str
    mode: EvalMode
    units: int = 0
    variants: int = 0
    answers: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    item_issues: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {"file": self.file, "model": self.model, "mode": self.mode, "units": self.units,
                "variants": self.variants, "answers": self.answers,
                "invalid": dict(sorted(self.invalid.items())),
                "item_issues": dict(sorted(self.item_issues.items()))}


def _literal(text: str, where: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise ResultsFormatError(f"{where}: not a Python literal: {exc}") from exc


def read_pvq_log(path: Path) -> list[PvqTrial]:
    """Every ``----trialN----`` block of a PVQ log, in file order."""
    trials: list[PvqTrial] = []
    current: PvqTrial | None = None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = TRIAL_LINE.match(line)
        if match:
            current = PvqTrial(trial=int(match.group(1)), line=n, items=[], positions=[], answers=[])
            trials.append(current)
            continue
        if current is None:
            raise ResultsFormatError(f"{path}:{n}: text before the first ----trialN---- line")
        if line.startswith(PVQ_ANSWERS):
            answers = _literal(line.removeprefix(PVQ_ANSWERS).strip(), f"{path}:{n}")
            current.answers = [str(a) for a in answers]
            continue
        name, _, rest = line.partition(":")
        try:
            value = SchwartzValue.parse(name)
        except ValueError as exc:
            raise ResultsFormatError(f"{path}:{n}: {exc}") from exc
        for position, text in _literal(rest.strip(), f"{path}:{n}"):
            item = PvqItem(key=text_key(value, text), value=value, text=" ".join(str(text).split()))
            current.items.append(item)
            current.positions.append(PvqPosition(position=int(position), key=item.key, value=value))
    for trial in trials:
        trial.positions.sort(key=lambda p: p.position)
    return trials


def read_scenario_log(path: Path) -> list[ScenarioBlock]:
    """Every scenario of a 7-line-block log with its answers per prompt number."""
    blocks: list[ScenarioBlock] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[["):
            try:
                questions = parse_question_list(line)
            except ImportFormatError as exc:
                raise ResultsFormatError(f"{path}:{n}: {exc}") from exc
            blocks.append(ScenarioBlock(position=len(blocks) + 1, line=n, questions=questions, answers={}))
            continue
        match = ANSWER_LINE.match(line)
        if match:
            if not blocks:
                raise ResultsFormatError(f"{path}:{n}: answers before the first question list")
            answers = _literal(match.group(2), f"{path}:{n}")
            blocks[-1].answers[int(match.group(1))] = [str(a) for a in answers]
    return blocks


def detect(path: Path) -> tuple[str, EvalMode]:
    """Model label and mode from a log: ``grok_result_exp_pvq.txt`` -> (grok, pvq40)."""
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    mode: EvalMode = "pvq40" if TRIAL_LINE.match(first.strip()) else "default"
    return path.name.split("_result")[0], mode


def _pvq_answers(trials: list[PvqTrial], release: str, model: str, report: ResultsImport) -> list[EvalAnswer]:
    answers = []
    for trial in trials:
        unit = f"trial{trial.trial}"
        for k, raw in enumerate(trial.answers, start=1):
            parsed = parse_scores(raw, [p.position for p in trial.positions])
            answers.append(EvalAnswer(
                id=answer_id(release, model, "pvq40", k, unit), source=f"import:{report.file}",
                release=release, model=model, mode="pvq40", variant=k, unit=unit, trial=trial.trial,
                positions=trial.positions,
                scores=parsed.scores, item_issues=parsed.item_issues, raw=raw, invalid=parsed.invalid,
            ))
            report.item_issues.update(parsed.item_issues.values())
        report.variants = max(report.variants, len(trial.answers))
    report.units = len(trials)
    return answers


def _choice_answers(blocks: list[ScenarioBlock], release: str, model: str, report: ResultsImport
                    ) -> list[EvalAnswer]:
    answers = []
    for block in blocks:
        scenario = _scenario(block.position, None)
        _, questions, _ = build_scenario(scenario, block.questions, report.file)
        for k, given in sorted(block.answers.items()):
            if len(given) != len(questions):
                raise ResultsFormatError(
                    f"{report.file}: scenario {block.position} (line {block.line}) has "
                    f"{len(questions)} questions but prompt{k} gives {len(given)} answers")
            for question, raw in zip(questions, given, strict=True):
                choice = parse_choice(raw)
                values = [o.value for o in question.options]
                answers.append(EvalAnswer(
                    id=answer_id(release, model, "default", k, question.id), source=f"import:{report.file}",
                    release=release, model=model, mode="default", variant=k, unit=question.id,
                    question_id=question.id, scenario_id=scenario.id, domain=scenario.domain,
                    option_values=values, choice=choice.letter, raw=raw, invalid=choice.invalid,
                    chosen_value=values["ABCD".index(choice.letter)] if choice.letter else None,
                ))
        report.variants = max(report.variants, len(block.answers))
        report.units += len(questions)
    return answers


def import_results(store: Store, path: Path, model: str | None = None) -> ResultsImport:
    """Read one log into ``eval_answers`` (idempotent: the same log stores the same rows)."""
    label, mode = detect(path)
    report = ResultsImport(file=path.name, model=model or label, mode=mode)
    release = f"valact-original:{path.name}"
    if mode == "pvq40":
        answers = _pvq_answers(read_pvq_log(path), release, report.model, report)
    else:
        answers = _choice_answers(read_scenario_log(path), release, report.model, report)
    store.put(answers)
    report.answers = len(answers)
    report.invalid = Counter(a.invalid for a in answers if a.invalid)
    return report
