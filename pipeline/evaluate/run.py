"""Run an evaluation: plan the missing units, ask the model, store every parsed answer.

Three plain functions with one job each: ``plan_units`` (plan.py) says what to ask,
``answer_one`` asks one unit and parses the answer, ``answer_units`` sends them all through
the streaming request engine (``pipeline.engine``), the same one the build stages run on. So
an evaluation keeps as many requests in flight as the alias's limits and measured latency
allow (a latency-bound run at 5-30 s per answer is not capped by a worker count), and in
batch mode every pending request reaches the batch runner together. Each answer is stored
as soon as it arrives, so a killed run loses only the requests in flight; a request that
fails after the LLM layer's retries, or that the provider refuses for that item, stores
nothing (the next run asks again) and is counted in the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.context import StageContext
from pipeline.engine import stream_units
from pipeline.evaluate.items import read_items
from pipeline.evaluate.parsing import parse_choice, parse_scores
from pipeline.evaluate.plan import EvalOptions, Unit, plan_units
from pipeline.evaluate.prompts import variant
from pipeline.evaluate.records import EVAL_STAGE
from pipeline.evaluate.release import local_copy, read_release
from pipeline.llm.client import LLMClient
from pipeline.llm.types import FatalError, RequestRejectedError, RetryableError
from pipeline.runner import unit_window
from schemas.config import ProjectConfig
from schemas.evaluate import EvalAnswer

SOURCE = "valact"


def eval_overrides(config: ProjectConfig, alias: str) -> dict[str, Any]:
    """Config overrides that make ``alias`` answer at temperature 0, as the paper's runs did."""
    if alias not in config.models:
        raise FatalError(f"model alias {alias!r} is not defined under [models]; "
                         f"defined: {', '.join(sorted(config.models))}")
    return {"models": {alias: {"temperature": 0.0}}}


async def answer_one(ctx: StageContext, llm: LLMClient, unit: Unit) -> EvalAnswer:
    """Ask one unit, parse the raw text, and return the answer record (not yet stored), linked
    to the call that answered it."""
    prompt = variant(unit.mode, unit.variant)
    response, request_hash = await llm.atext(unit.model, prompt, unit.variables, unit.answer_id)
    base: dict[str, Any] = {
        "id": unit.answer_id, "source": SOURCE, "release": unit.release, "model": unit.model,
        "mode": unit.mode, "variant": unit.variant, "unit": unit.unit, "raw": response.text,
        "prompt_hash": prompt.hash, "served_model": response.served_model,
        "run_id": ctx.run_id, "request_hash": request_hash,
    }
    if unit.mode == "pvq40":
        parsed = parse_scores(response.text, [p.position for p in unit.positions])
        return EvalAnswer(**base, trial=unit.trial, positions=unit.positions, scores=parsed.scores,
                          item_issues=parsed.item_issues, invalid=parsed.invalid)
    question = unit.question
    assert question is not None, "choice units carry their question"
    choice = parse_choice(response.text)
    chosen = question.values["ABCD".index(choice.letter)] if choice.letter else None
    return EvalAnswer(**base, question_id=question.question_id, scenario_id=question.scenario_id,
                      domain=question.domain, option_values=question.values, target=unit.target,
                      choice=choice.letter, chosen_value=chosen, invalid=choice.invalid)


@dataclass
class RunReport:
    """What one evaluation run planned, asked, stored and could not get."""

    release: str
    model: str
    mode: str
    planned: int = 0
    already_stored: int = 0
    answered: int = 0
    failed: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {"release": self.release, "model": self.model, "mode": self.mode, "planned": self.planned,
                "already_stored": self.already_stored, "answered": self.answered, "failed": self.failed,
                "invalid": dict(sorted(self.invalid.items())), "failures": self.failures[:10]}


@dataclass
class Sent:
    """What ``answer_units`` got: how many answers it stored, their invalid reasons, the failures.

    Counts rather than the answers themselves, so a 20,000-unit run holds no answer in
    memory once it is stored.
    """

    answered: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def answer_units(
    ctx: StageContext, units: list[Unit], on_progress: Callable[[int], None] = lambda _n: None,
) -> Sent:
    """Send every unit through the streaming engine, storing each answer as it arrives.

    The engine keeps as many units open as the alias's in-flight bound allows (every unit in
    batch mode, so they leave in as few batch jobs as possible). A unit whose request failed
    after the LLM layer's retries, or was refused for that item, is named in ``failures``
    and left for the next run. A fatal error (bad key, budget reached) stops new units; the
    open ones end and their answers are stored, then the error is raised.
    """
    sent = Sent()
    if not units:
        return sent
    llm = ctx.llm(EVAL_STAGE)
    async def plan() -> AsyncIterator[Unit]:
        for unit in units:
            yield unit

    async def work(unit: Unit) -> EvalAnswer | str:
        try:
            return await answer_one(ctx, llm, unit)
        except (RetryableError, RequestRejectedError) as exc:
            return f"{unit.unit} v{unit.variant}: {exc}"[:300]

    def store(_unit: Unit, result: EvalAnswer | str) -> None:
        if isinstance(result, str):
            sent.failures.append(result)
            return
        ctx.store.put([result])
        sent.answered += 1
        if result.invalid:
            sent.invalid[result.invalid] += 1
        on_progress(1)

    ctx.registry.run_sync(stream_units(plan(), work, store, unit_window(ctx, [units[0].model])))
    return sent


def prepare(ctx: StageContext, target: str, options: EvalOptions, items_path: Path | None) -> tuple[
        list[Unit], RunReport]:
    """Read the release (and items), check the alias answers at temperature 0, plan the missing units."""
    model = ctx.registry.model(options.model)
    if model.temperature != 0.0:
        raise FatalError(f"{options.model} has temperature {model.temperature}; evaluations run at 0 "
                         "(valact evaluate sets it; pass eval_overrides when loading the config yourself)")
    folder = local_copy(target, ctx.workspace / "evaluate" / "releases")
    release = read_release(folder, target)
    items = read_items(items_path) if items_path is not None else None
    done = ctx.store.ids(EvalAnswer)
    every = plan_units(release, options, items)
    todo = [u for u in every if u.answer_id not in done]
    report = RunReport(release=release.label, model=options.model, mode=options.mode,
                       planned=len(every), already_stored=len(every) - len(todo))
    return todo, report


def evaluate(
    ctx: StageContext, target: str, options: EvalOptions, items_path: Path | None = None,
    on_total: Callable[[int], None] = lambda _n: None, on_progress: Callable[[int], None] = lambda _n: None,
) -> RunReport:
    """Plan, ask and store one model's answers on one release in one mode."""
    units, report = prepare(ctx, target, options, items_path)
    on_total(len(units))
    sent = answer_units(ctx, units, on_progress)
    report.answered, report.failed, report.failures = sent.answered, len(sent.failures), sent.failures
    report.invalid = sent.invalid
    return report
