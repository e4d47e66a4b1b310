"""The assembly invariants of the 5x4 design, checked on question rows.

One checker serves every place that needs it: assembly tests, corrections, the release
build (which records the counts in its manifest) and ``release verify``. It works on rows
shaped like the published ``questions`` table, so it checks any release folder, including
one downloaded from the Hub; ``question_rows`` gives the same shape for store records.
Each count is the number of offending items; a valid valact build has none, while an
import of the original benchmark declares its breaks in the manifest.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from schemas.records import LETTERS, Question

QUESTIONS_PER_SCENARIO = 5
OPTIONS_PER_QUESTION = 4
CANDIDATES_PER_SCENARIO = QUESTIONS_PER_SCENARIO * OPTIONS_PER_QUESTION
WARNING_PREFIX = "invariant."


Option = tuple[str, str, str, str]  # (value, letter, generator, candidate_id): what the rules read


def slim_options(row: Mapping[str, Any]) -> list[Option]:
    """Only what the rules read of one question row (keeping whole rows, action texts
    included, cost more than the release's tables)."""
    return [
        (str(o["value"]), str(o["letter"]), str(o["generator"]), str(o["candidate_id"]))
        for o in row["options"]
    ]


def invariant_breaks(
    questions: Iterable[Mapping[str, Any]],
    scenario_ids: set[str] | None = None,
    candidate_ids: set[str] | None = None,
) -> Counter[str]:
    """Count violations of the 5x4 design in ``questions`` table rows, in any order.

    - ``questions_per_scenario``: scenarios without exactly five questions
    - ``options_per_question``: questions without exactly four options
    - ``distinct_values``: questions whose options repeat a value
    - ``candidates_used_once``: scenarios whose options are not 20 distinct candidates
    - ``value_twice``: (scenario, value) pairs not used in exactly two questions
    - ``single_generator_pair``: (scenario, value) pairs whose two actions share a generator
    - ``letters``: questions whose options are not lettered A, B, C, D in order
    - ``unknown_scenario`` / ``unknown_candidate``: references to rows the release lacks
    """
    per_scenario: dict[str, list[list[Option]]] = defaultdict(list)
    for row in questions:
        per_scenario[str(row["scenario_id"])].append(slim_options(row))
    breaks: Counter[str] = Counter()
    for scenario_id, rows in per_scenario.items():
        scenario_breaks(scenario_id, rows, breaks, scenario_ids, candidate_ids)
    return breaks


class GroupedInvariants:
    """The same rules over rows that arrive grouped by scenario (the release's order).

    The release builder streams 15,000 questions; holding every question's options until the
    end would grow with the release, so each scenario is checked as soon as its rows end. A
    scenario that comes back after another one started is an error of the caller's order.
    """

    def __init__(self, scenario_ids: set[str] | None = None, candidate_ids: set[str] | None = None) -> None:
        self.breaks: Counter[str] = Counter()
        self._scenario_ids = scenario_ids
        self._candidate_ids = candidate_ids
        self._current: str | None = None
        self._rows: list[list[Option]] = []
        self._done: set[str] = set()

    def add(self, row: Mapping[str, Any]) -> None:
        """One question row; rows of a scenario must be consecutive."""
        scenario_id = str(row["scenario_id"])
        if scenario_id != self._current:
            if scenario_id in self._done:
                raise ValueError(f"questions of scenario {scenario_id} are not consecutive")
            self._close()
            self._current = scenario_id
        self._rows.append(slim_options(row))

    def finish(self) -> Counter[str]:
        """Every break counted (after the last scenario is checked)."""
        self._close()
        return self.breaks

    def _close(self) -> None:
        if self._current is not None:
            scenario_breaks(self._current, self._rows, self.breaks, self._scenario_ids, self._candidate_ids)
            self._done.add(self._current)
        self._current, self._rows = None, []


def scenario_breaks(
    scenario_id: str,
    rows: list[list[Option]],
    breaks: Counter[str],
    scenario_ids: set[str] | None = None,
    candidate_ids: set[str] | None = None,
) -> None:
    """Add one scenario's violations (its questions' options) to ``breaks``."""
    if scenario_ids is not None and scenario_id not in scenario_ids:
        breaks["unknown_scenario"] += 1
    if len(rows) != QUESTIONS_PER_SCENARIO:
        breaks["questions_per_scenario"] += 1
    generators: dict[str, list[str]] = defaultdict(list)
    used: list[str] = []
    for options in rows:
        if len(options) != OPTIONS_PER_QUESTION:
            breaks["options_per_question"] += 1
        if len({value for value, *_ in options}) != len(options):
            breaks["distinct_values"] += 1
        if [letter for _, letter, *_ in options] != list(LETTERS[: len(options)]):
            breaks["letters"] += 1
        for value, _letter, generator, candidate_id in options:
            generators[value].append(generator)
            used.append(candidate_id)
            if candidate_ids is not None and candidate_id not in candidate_ids:
                breaks["unknown_candidate"] += 1
    if len(used) != CANDIDATES_PER_SCENARIO or len(set(used)) != len(used):
        breaks["candidates_used_once"] += 1
    for gens in generators.values():
        if len(gens) != 2:
            breaks["value_twice"] += 1
        elif gens[0] == gens[1]:
            breaks["single_generator_pair"] += 1


def question_rows(questions: Iterable[Question]) -> list[dict[str, Any]]:
    """Store records in the row shape ``invariant_breaks`` reads (that of the questions table)."""
    return [
        {
            "question_id": q.id,
            "scenario_id": q.scenario_id,
            "options": [o.model_dump(mode="json") for o in q.options],
        }
        for q in questions
    ]


def as_warnings(breaks: Mapping[str, int]) -> dict[str, int]:
    """Manifest ``warnings`` entries for the non-zero counts."""
    return {f"{WARNING_PREFIX}{name}": n for name, n in sorted(breaks.items()) if n}


def declared(warnings: Mapping[str, int]) -> dict[str, int]:
    """The invariant counts a manifest declares (rule -> count)."""
    return {k.removeprefix(WARNING_PREFIX): v for k, v in warnings.items() if k.startswith(WARNING_PREFIX)}
