"""Corrections: what a wrong label does to the release, under the project's policy.

A candidate's label is *wrong* when its item verdict says so: the ground-truth (adjudicating)
annotation if there is one, else more of its judgements reject it than confirm it (ties
keep the label until adjudicated). Policies:

- ``drop``: the action leaves the release. The scenario is re-assembled from what is left
  with ``pipeline.stages.assemble.assemble_scenario``; since the 5 x 4 design needs all 20
  actions, that fails and the scenario's questions are withdrawn (recorded as a drop with
  stage ``validate``) rather than published with a broken design.
- ``relabel``: the action takes the value the experts chose (a new candidate record whose
  prompt tag ends in ``+relabel``, so ``run_assemble`` never mixes it in). The scenario is
  re-assembled when every (value, generator) slot is still filled exactly once, as when two
  labels were swapped; otherwise it is withdrawn as under ``drop``. "None / unclear" acts
  as ``drop``.
- ``regenerate``: the generator writes a new action for the value (one model call, told
  which earlier action was rejected); it replaces the old text under the same candidate id
  and the scenario is re-assembled, so the release keeps its full design.

Every correction is stored with the ids of the annotations that caused it; re-applying is
idempotent and a regeneration is never paid twice. Apply after ``assemble``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from annotation.measures import item_rows, judgement_rows
from pipeline.context import StageContext
from pipeline.hashing import content_id
from pipeline.llm.client import OutputSpec
from pipeline.prompts import load_prompt
from pipeline.stage import drop_record
from pipeline.stages.action_rules import action_set_schema, check_action_set, parse_action_set
from pipeline.stages.assemble import AssemblyError, assemble_scenario
from pipeline.stages.generate import value_list
from pipeline.store import Store
from schemas.annotation import Correction
from schemas.config import Policy
from schemas.records import ActionCandidate, Drop, Question, Scenario
from schemas.values import ALL_VALUES, SchwartzValue

STAGE = "validate"
Regenerator = Callable[[ActionCandidate, Scenario], str]


@dataclass(frozen=True)
class Verdict:
    """The experts' collective view on one candidate."""

    candidate_id: str
    wrong: bool
    annotation_ids: list[str]
    suggested: SchwartzValue | None


def verdicts(store: Store) -> dict[str, Verdict]:
    """Per judged candidate: wrong or not (the item verdict of ``measures.item_rows``), why,
    and the value the rejecting experts most often chose."""
    out = {}
    for item in item_rows(judgement_rows(store)):
        rejecting = item["rejecting"]
        picks: Counter[SchwartzValue] = Counter()
        for r in rejecting:
            try:
                picks[SchwartzValue.parse(str(r["expert_value"]))] += 1
            except ValueError:
                continue
        suggested = min(picks, key=lambda v: (-picks[v], v.value)) if picks else None
        cid = str(item["candidate_id"])
        out[cid] = Verdict(cid, item["correct"] is False,
                           sorted(str(r["annotation_id"]) for r in rejecting), suggested)
    return out


@dataclass
class CorrectionReport:
    """What applying a policy did."""

    policy: Policy
    wrong: int = 0
    reassembled: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    already_applied: int = 0

    def as_dict(self) -> dict[str, object]:
        """Plain data for flows and the CLI."""
        return {"policy": self.policy, "wrong": self.wrong, "reassembled": len(self.reassembled),
                "withdrawn": len(self.withdrawn), "already_applied": self.already_applied}


def apply_corrections(store: Store, generators: list[str], seed: int, policy: Policy,
                      regenerate: Regenerator | None = None) -> CorrectionReport:
    """Apply ``policy`` to every wrongly labelled candidate still in the assembled questions."""
    if policy == "regenerate" and regenerate is None:
        raise ValueError("the regenerate policy needs a regenerator (see llm_regenerator)")
    report = CorrectionReport(policy=policy)
    wrong = {cid: v for cid, v in verdicts(store).items() if v.wrong}
    report.wrong = len(wrong)
    questions: dict[str, list[Question]] = defaultdict(list)
    for q in store.all(Question):
        questions[q.scenario_id].append(q)
    for sid, qs in sorted(questions.items()):
        used = {o.candidate_id for q in qs for o in q.options}
        hits = sorted(used & wrong.keys())
        if not hits:
            continue
        scenario = store.get(Scenario, sid)
        current = [c for c in (store.get(ActionCandidate, cid) for cid in sorted(used)) if c is not None]
        if scenario is None:
            continue
        corrections: list[Correction] = []
        replaced: dict[str, ActionCandidate | None] = {}
        for cid in hits:
            cand = next(c for c in current if c.id == cid)
            verdict = wrong[cid]
            cid_key = content_id("corr", cid, policy)
            previous = store.get(Correction, cid_key)
            new: ActionCandidate | None = None
            if policy == "relabel" and verdict.suggested is not None:
                new = cand.model_copy(update={
                    "id": content_id("c", sid, cand.generator, verdict.suggested.value, "relabel", cid),
                    "value": verdict.suggested, "prompt_hash": f"{cand.prompt_hash}+relabel",
                    "warnings": [*cand.warnings, f"relabelled_from:{cand.value.value}"],
                })
            elif policy == "regenerate":
                if previous is not None:
                    report.already_applied += 1
                    continue
                assert regenerate is not None
                new = cand.model_copy(update={"text": regenerate(cand, scenario),
                                              "warnings": [*cand.warnings, "regenerated"]})
            replaced[cid] = new
            corrections.append(Correction(
                id=cid_key, candidate_id=cid, scenario_id=sid, policy=policy,
                annotation_ids=verdict.annotation_ids, old_value=cand.value,
                new_value=new.value if new is not None else None,
                new_candidate_id=new.id if new is not None else None,
                old_text=previous.old_text if previous else cand.text, outcome="pending",
            ))
        if not corrections:
            continue
        pool = [replaced.get(c.id, c) for c in current]
        kept = [c for c in pool if c is not None]
        slots = Counter((c.value, c.generator) for c in kept)
        try:
            if any(n > 1 for n in slots.values()):
                raise AssemblyError("two actions for one (value, generator) slot")
            new_questions = assemble_scenario(scenario, kept, generators, seed)
        except AssemblyError as exc:
            store.delete(Question, [q.id for q in qs])
            store.put([drop_record(STAGE, sid, "label_rejected", f"{policy}: {exc}"[:300])])
            outcome = "scenario_withdrawn"
            report.withdrawn.append(sid)
        else:
            store.put([c for c in replaced.values() if c is not None])
            store.put(new_questions)
            store.delete(Drop, [content_id("drop", STAGE, sid)])
            outcome = "reassembled"
            report.reassembled.append(sid)
        store.put([c.model_copy(update={"outcome": outcome}) for c in corrections])
    return report


def llm_regenerator(ctx: StageContext) -> Regenerator:
    """Ask the candidate's own generator for a new action for the same value.

    The generate prompt is reused with one added paragraph naming the rejected action, so
    the request (and its cache key) differs from the original and the model is steered
    away from repeating it. The call is recorded like every other model call.
    """
    cfg = ctx.config.generate
    base = load_prompt("generate")
    prompt = dataclasses.replace(
        base,
        user=base.user.rstrip() + "\n\nExperts judged that this earlier action does not express "
        "{rejected_value}: \"{rejected}\". Write a clearly different action for {rejected_value}.\n",
        hash=f"{base.hash}+regenerate",
    )
    spec = OutputSpec(name="value_actions", schema=action_set_schema(cfg.max_chars), parse=parse_action_set,
                      check=lambda actions: check_action_set(actions, cfg))

    def regenerate(candidate: ActionCandidate, scenario: Scenario) -> str:
        result = ctx.llm(STAGE).structured(
            candidate.generator, prompt,
            {"subreddit": scenario.subreddit, "title": scenario.title, "text": scenario.text,
             "value_list": value_list(), "keys": ", ".join(v.value for v in ALL_VALUES),
             "rejected_value": candidate.value.value, "rejected": candidate.text},
            spec, item_id=candidate.id, repair_attempts=cfg.repair_attempts,
        )
        return str(result.value[candidate.value])

    return regenerate
