"""Stage 2, screen: rule prefilter, the LLM Yes/No ensemble, then quota sampling per domain.

Posts are screened per domain in a seeded random order and screening stops once the
domain's quota is met, so a 600-per-domain build does not pay to screen every post ever
collected. Votes are stored per (post, screener, prompt version): a re-run reuses them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pipeline.agreement import cohen_kappa
from pipeline.context import StageContext
from pipeline.hashing import content_id, sha256_hex
from pipeline.llm.client import InvalidOutputError, LLMClient, OutputSpec
from pipeline.llm.types import RetryableError
from pipeline.prompts import load_prompt
from pipeline.stages.prefilter import prefilter
from schemas.records import Drop, Post, Scenario, ScreenDecision, ScreenVote

STAGE = "screen"
PREFILTER = "prefilter"

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"decision": {"type": "string", "enum": ["Yes", "No"]}},
    "required": ["decision"],
    "additionalProperties": False,
}


def parse_decision(data: Any) -> bool:
    """True for Yes, False for No; anything else is invalid output."""
    if not isinstance(data, dict) or "decision" not in data:
        raise ValueError('expected an object with a "decision" key')
    answer = str(data["decision"]).strip().lower()
    if answer not in {"yes", "no"}:
        raise ValueError(f'"decision" must be "Yes" or "No", got {data["decision"]!r}')
    return answer == "yes"


DECISION_SPEC = OutputSpec(name="screen_decision", schema=DECISION_SCHEMA, parse=parse_decision)


def drop_record(stage: str, item_id: str, reason: str, detail: str = "") -> Drop:
    """A drop with its stable id: one per (stage, item)."""
    return Drop(
        id=content_id("drop", stage, item_id), stage=stage, item_id=item_id, reason=reason, detail=detail
    )


def replace_drops(ctx: StageContext, stage: str, drops: list[Drop]) -> None:
    """Make the stage's stored drops exactly ``drops`` (stale ones from older runs go)."""
    wanted = {d.id for d in drops}
    stale = [d.id for d in ctx.store.all(Drop) if d.stage == stage and d.id not in wanted]
    ctx.store.delete(Drop, stale)
    ctx.store.put(drops)


def run_prefilter(ctx: StageContext) -> Counter[str]:
    """Apply the rules to every stored post; returns drops per reason."""
    drops = prefilter(ctx.store.all(Post), ctx.config.screen)
    replace_drops(ctx, PREFILTER, [drop_record(PREFILTER, pid, r, d) for pid, (r, d) in drops.items()])
    return Counter(reason for reason, _ in drops.values())


def screening_queues(ctx: StageContext) -> dict[str, list[Post]]:
    """Per domain, the posts that passed the prefilter in the seeded order they are screened in.

    One pass over the stored posts serves every domain (the store is read once, not per domain).
    """
    dropped = {d.item_id for d in ctx.store.all(Drop) if d.stage == PREFILTER}
    seed = ctx.config.screen.sample_seed
    queues: dict[str, list[Post]] = {domain: [] for domain in ctx.config.domains}
    for post in ctx.store.all(Post):
        domain = ctx.config.domain_of(post.subreddit)
        if post.id not in dropped and domain is not None:
            queues[domain].append(post)
    return {d: sorted(posts, key=lambda p: sha256_hex(f"{seed}:{p.id}")) for d, posts in queues.items()}


def screening_queue(ctx: StageContext, domain: str) -> list[Post]:
    """One domain's screening queue (see ``screening_queues``)."""
    return screening_queues(ctx)[domain]


def _vote(ctx: StageContext, llm: LLMClient, post: Post, alias: str, role: str) -> bool:
    prompt = load_prompt("screen")
    vote_id = content_id("vote", post.id, alias, prompt.hash)
    stored = ctx.store.get(ScreenVote, vote_id)
    if stored is not None:
        return stored.keep
    result = llm.structured(
        alias,
        prompt,
        {"subreddit": post.subreddit, "title": post.title, "text": post.selftext},
        DECISION_SPEC,
        item_id=post.id,
        repair_attempts=1,
    )
    ctx.store.put(
        [ScreenVote(id=vote_id, post_id=post.id, screener=alias, prompt_hash=prompt.hash,
                    keep=result.value, role=role)]  # type: ignore[arg-type]
    )
    return result.value


def decide(ctx: StageContext, llm: LLMClient, post: Post) -> ScreenDecision:
    """All screeners vote; on a tie the tie-breaker decides."""
    cfg = ctx.config.screen
    votes = {alias: _vote(ctx, llm, post, alias, "screener") for alias in cfg.screeners}
    yes = sum(votes.values())
    no = len(votes) - yes
    tie_by = None
    if yes == no:
        assert cfg.tiebreaker is not None  # guaranteed by ScreenConfig validation
        tie_by = cfg.tiebreaker
        keep = _vote(ctx, llm, post, cfg.tiebreaker, "tiebreaker")
        votes[cfg.tiebreaker] = keep
    else:
        keep = yes > no
    decision = ScreenDecision(id=content_id("decision", post.id, sorted(votes.items())),
                              post_id=post.id, keep=keep, votes=votes, tie_broken_by=tie_by)
    return decision


@dataclass
class DomainScreenReport:
    """Outcome of screening one domain."""

    domain: str
    screened: int = 0
    kept: int = 0
    failed: list[str] = field(default_factory=list)
    quota_met: bool = False


def _stored_decisions(ctx: StageContext) -> dict[str, ScreenDecision]:
    return {d.post_id: d for d in ctx.store.all(ScreenDecision)}


def screen_domain(
    ctx: StageContext, domain: str, on_progress: Callable[[int], None] | None = None
) -> DomainScreenReport:
    """Screen a domain's queue batch by batch until its quota of kept posts is met.

    ``on_progress`` receives how many scenarios each batch added toward the quota.
    """
    cfg = ctx.config.screen
    llm = ctx.llm(STAGE)
    report = DomainScreenReport(domain)
    decisions = _stored_decisions(ctx)
    queue = screening_queue(ctx, domain)
    models = [ctx.config.models[a] for a in cfg.screeners]
    workers = max(1, min(m.max_concurrency for m in models))
    if any(m.batch for m in models):
        # Batch mode: every post of the chunk should wait in the same batch job.
        workers = max(workers, cfg.batch_size)
    position = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while position < len(queue):
            kept = sum(1 for p in queue if p.id in decisions and decisions[p.id].keep)
            if kept >= cfg.quota_per_domain:
                report.quota_met = True
                break
            size = max(1, min(cfg.batch_size, cfg.quota_per_domain - kept))
            batch = [p for p in queue[position:position + size] if p.id not in decisions]
            position += size
            futures = {post.id: pool.submit(decide, ctx, llm, post) for post in batch}
            fresh: list[ScreenDecision] = []
            failures: list[Drop] = []
            for post_id, future in futures.items():
                try:
                    fresh.append(future.result())
                except (InvalidOutputError, RetryableError) as exc:
                    report.failed.append(post_id)
                    failures.append(drop_record(STAGE, post_id, "screen_failed", str(exc)[:300]))
            ctx.store.put([*fresh, *failures])
            ctx.store.delete(Drop, [content_id("drop", STAGE, d.post_id) for d in fresh])
            decisions.update({d.post_id: d for d in fresh})
            report.screened += len(fresh)
            if on_progress:
                room = max(0, cfg.quota_per_domain - kept)
                on_progress(min(room, sum(1 for d in fresh if d.keep)))
    report.kept = sum(1 for p in queue if p.id in decisions and decisions[p.id].keep)
    report.quota_met = report.quota_met or report.kept >= cfg.quota_per_domain
    return report


def select_scenarios(ctx: StageContext) -> dict[str, int]:
    """Take the first ``quota`` kept posts of each domain (queue order) as scenarios."""
    quota = ctx.config.screen.quota_per_domain
    decisions = _stored_decisions(ctx)
    chosen: list[Scenario] = []
    rejected: list[Drop] = []
    for domain, queue in screening_queues(ctx).items():
        taken = 0
        for post in queue:
            decision = decisions.get(post.id)
            if decision is None:
                continue
            if not decision.keep:
                votes = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in sorted(decision.votes.items()))
                rejected.append(drop_record(STAGE, post.id, "llm_screen_no", votes))
            elif taken < quota:
                chosen.append(scenario_from_post(post, domain))
                taken += 1
    stale = ctx.store.ids(Scenario) - {s.id for s in chosen}
    ctx.store.delete(Scenario, stale)
    ctx.store.put(chosen)
    failed = [d for d in ctx.store.all(Drop) if d.stage == STAGE and d.reason == "screen_failed"]
    replace_drops(ctx, STAGE, [*rejected, *failed])
    return dict(Counter(s.domain for s in chosen))


def scenario_from_post(post: Post, domain: str) -> Scenario:
    """A scenario is the post itself, unchanged, with its domain."""
    return Scenario(
        id=f"s_{post.id}",
        post_id=post.id,
        domain=domain,
        subreddit=post.subreddit,
        title=post.title,
        text=post.selftext,
        created_utc=post.created_utc,
        url=post.url,
    )


def screen_agreement(votes: list[ScreenVote], screeners: list[str] | None = None) -> list[dict[str, Any]]:
    """Pairwise kappa between screeners over the posts both voted on (current prompt versions).

    Tie-breaker votes are left out: the tie-breaker only sees the posts the others split on,
    so its agreement would say more about the sample than about the model.
    """
    by_screener: dict[str, dict[str, bool]] = {}
    for vote in votes:
        if vote.role == "screener":
            by_screener.setdefault(vote.screener, {})[vote.post_id] = vote.keep
    names = screeners if screeners is not None else sorted(by_screener)
    pairs: list[dict[str, Any]] = []
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            a, b = by_screener.get(first, {}), by_screener.get(second, {})
            common = sorted(set(a) & set(b))
            kappa = cohen_kappa([a[p] for p in common], [b[p] for p in common]) if common else math.nan
            agree = sum(a[p] == b[p] for p in common)
            pairs.append({
                "screeners": [first, second], "posts": len(common),
                "agreement": round(agree / len(common), 4) if common else None,
                "kappa": None if math.isnan(kappa) else round(kappa, 4),
            })
    return pairs
