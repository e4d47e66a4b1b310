"""Run an evaluation: plan the missing units, ask the model, store every parsed answer.

Three plain functions with one job each, so the request engine can be swapped without
touching the rest: ``plan_units`` (plan.py) says what to ask, ``answer_one`` asks one unit
and parses the answer, ``answer_units`` is the only loop that sends requests. Each answer
is stored as soon as it arrives, so a killed run loses only the requests in flight; a
request that fails after the LLM layer's retries stores nothing (the next run asks again)
and is counted in the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.context import StageContext
from pipeline.evaluate.items import read_items
from pipeline.evaluate.parsing import parse_choice, parse_scores
from pipeline.evaluate.plan import EvalOptions, Unit, plan_units
from pipeline.evaluate.prompts import variant
from pipeline.evaluate.records import EVAL_STAGE
from pipeline.evaluate.release import local_copy, read_release
from pipeline.llm.client import LLMClient
from pipeline.llm.types import FatalError, RequestRejectedError, RetryableError
from schemas.config import ProjectConfig
from schemas.evaluate import EvalAnswer
from schemas.records import LLMCall

SOURCE = "valact"
# Threads waiting on a batch job are cheap; enough of them fill one job.
MAX_BATCH_WAITERS = 512
# Parallel requests when the alias sets no max_concurrency (its rpm/tpm limits still apply).
DEFAULT_WORKERS = 8


def eval_overrides(config: ProjectConfig, alias: str) -> dict[str, Any]:
    """Config overrides that make ``alias`` answer at temperature 0, as the paper's runs did."""
    if alias not in config.models:
        raise FatalError(f"model alias {alias!r} is not defined under [models]; "
                         f"defined: {', '.join(sorted(config.models))}")
    return {"models": {alias: {"temperature": 0.0}}}


def answer_one(ctx: StageContext, llm: LLMClient, unit: Unit) -> EvalAnswer:
    """Ask one unit, parse the raw text, and return the answer record (not yet stored)."""
    prompt = variant(unit.mode, unit.variant)
    response = llm.text(unit.model, prompt, unit.variables, unit.answer_id)
    base: dict[str, Any] = {
        "id": unit.answer_id, "source": SOURCE, "release": unit.release, "model": unit.model,
        "mode": unit.mode, "variant": unit.variant, "unit": unit.unit, "raw": response.text,
        "prompt_hash": prompt.hash, "served_model": response.served_model,
        "run_id": ctx.run_id,
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


def workers_for(ctx: StageContext, alias: str, units: int) -> int:
    """The alias's ``max_concurrency``, or enough waiters to fill a batch job in batch mode."""
    model = ctx.registry.model(alias)
    if model.batch:
        return max(1, min(units, model.batch_max_requests, MAX_BATCH_WAITERS))
    return max(1, min(units, model.max_concurrency or DEFAULT_WORKERS))


@dataclass
class Sent:
    """What ``answer_units`` got back: stored answers, and the units whose request failed."""

    answers: list[EvalAnswer] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def answer_units(
    ctx: StageContext, units: list[Unit], on_progress: Callable[[int], None] = lambda _n: None,
) -> Sent:
    """Send every unit (thread pool sized by the alias), storing each answer as it arrives.

    The only loop that sends requests. Fatal errors (bad key, budget reached) stop it after
    the answers already received are stored; a unit whose request failed after the LLM
    layer's retries is named in ``failures`` and left for the next run.
    """
    sent = Sent()
    if not units:
        return sent
    llm = ctx.llm(EVAL_STAGE)
    try:
        with ThreadPoolExecutor(max_workers=workers_for(ctx, units[0].model, len(units))) as pool:
            pending: dict[Future[EvalAnswer], Unit] = {pool.submit(answer_one, ctx, llm, u): u for u in units}
            fatal: BaseException | None = None
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    unit = pending.pop(future)
                    try:
                        answer = future.result()
                    except (RetryableError, RequestRejectedError) as exc:
                        sent.failures.append(f"{unit.unit} v{unit.variant}: {exc}"[:300])
                        continue
                    except BaseException as exc:  # fatal: stop sending, keep what arrived
                        fatal = fatal or exc
                        for other in pending:
                            other.cancel()
                        continue
                    ctx.store.put([answer])
                    sent.answers.append(answer)
                    on_progress(1)
            if fatal is not None:
                raise fatal
    finally:
        link_calls(ctx, sent.answers)
    return sent


def link_calls(ctx: StageContext, answers: list[EvalAnswer]) -> None:
    """Fill each answer's ``request_hash`` from the call record this run wrote for it.

    The call's ``item_id`` is the answer's id; the hash names the cached response and every
    ``LLMCall`` of the same request, in this run and any other.
    """
    if not answers:
        return
    hashes = {c.item_id: c.request_hash for c in ctx.store.all(LLMCall)
              if c.run_id == ctx.run_id and c.stage == EVAL_STAGE and c.outcome != "error"}
    ctx.store.put([a.model_copy(update={"request_hash": hashes[a.id]}) for a in answers if a.id in hashes])


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
    report.answered, report.failed, report.failures = len(sent.answers), len(sent.failures), sent.failures
    report.invalid = Counter(a.invalid for a in sent.answers if a.invalid)
    return report
