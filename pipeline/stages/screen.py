"""Stage 2, screen: rule prefilter, the LLM Yes/No ensemble, then quota sampling per domain.

Posts are screened per domain in a seeded random order, concurrently, and only as many are
handed out as the quota may still need (``screen_quota``), so a 600-per-domain build does
not pay to screen every post ever collected. Both screeners are asked at once; a tie goes to
the tie-breaker. Votes are stored per (post, screener, prompt version): a re-run reuses them.
Each scenario is confirmed as soon as the quota rule allows and can be handed to generation
at that moment (``on_selected``).
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, ClassVar

from pipeline.agreement import cohen_kappa
from pipeline.context import StageContext
from pipeline.hashing import content_id, sha256_hex
from pipeline.llm.client import LLMClient, OutputSpec
from pipeline.prompts import load_prompt
from pipeline.stage import ModelStage, Outcome, StageStats, drop_id, drop_record
from pipeline.stages.prefilter import ContextLimit, prefilter
from pipeline.stages.screen_quota import QuotaBoard
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


def replace_drops(ctx: StageContext, stage: str, drops: list[Drop]) -> None:
    """Make the stage's stored drops exactly ``drops`` (stale ones from older runs go)."""
    wanted = {d.id for d in drops}
    stale = [d.id for d in ctx.store.iter(Drop) if d.stage == stage and d.id not in wanted]
    ctx.store.delete(Drop, stale)
    ctx.store.put(drops)


def context_limits(ctx: StageContext) -> list[ContextLimit]:
    """The context window of every model that may screen a post (tie-breaker included)."""
    cfg = ctx.config.screen
    prompt = load_prompt("screen")
    overhead = sum(len(m["content"]) for m in prompt.messages(subreddit="", title="", text=""))
    limits = []
    for alias in [*cfg.screeners, *([cfg.tiebreaker] if cfg.tiebreaker else [])]:
        window = ctx.registry.context_window(alias)
        if window is not None:
            model = ctx.config.models[alias]
            limits.append(ContextLimit(alias, window, model.chars_per_token, overhead, model.max_tokens))
    return limits


def run_prefilter(ctx: StageContext) -> Counter[str]:
    """Apply the rules to every stored post (streamed); returns drops per reason."""
    drops = prefilter(ctx.store.iter(Post), ctx.config.screen, context_limits(ctx))
    replace_drops(ctx, PREFILTER, [drop_record(PREFILTER, pid, r, d) for pid, (r, d) in drops.items()])
    return Counter(reason for reason, _ in drops.values())


def screening_queues(ctx: StageContext) -> dict[str, list[str]]:
    """Per domain, the ids of the posts that passed the prefilter, in the seeded screening order.

    One streamed pass over the stored posts serves every domain; only ids are kept.
    """
    dropped = {d.item_id for d in ctx.store.iter(Drop) if d.stage == PREFILTER}
    seed = ctx.config.screen.sample_seed
    queues: dict[str, list[str]] = {domain: [] for domain in ctx.config.domains}
    for post in ctx.store.iter(Post):
        domain = ctx.config.domain_of(post.subreddit)
        if post.id not in dropped and domain is not None:
            queues[domain].append(post.id)
    return {d: sorted(ids, key=lambda pid: sha256_hex(f"{seed}:{pid}")) for d, ids in queues.items()}


async def _vote(ctx: StageContext, llm: LLMClient, post: Post, alias: str, role: str) -> bool:
    prompt = load_prompt("screen")
    vote_id = content_id("vote", post.id, alias, prompt.hash)
    stored = ctx.store.get(ScreenVote, vote_id)
    if stored is not None:
        return stored.keep
    result = await llm.astructured(
        alias, prompt, {"subreddit": post.subreddit, "title": post.title, "text": post.selftext},
        DECISION_SPEC, item_id=post.id, repair_attempts=1,
    )
    ctx.store.put(
        [ScreenVote(id=vote_id, post_id=post.id, screener=alias, prompt_hash=prompt.hash,
                    keep=result.value, role=role)]  # type: ignore[arg-type]
    )
    return result.value


async def decide(ctx: StageContext, llm: LLMClient, post: Post) -> ScreenDecision:
    """All screeners vote at once; on a tie the tie-breaker decides."""
    cfg = ctx.config.screen
    keeps = await asyncio.gather(*(_vote(ctx, llm, post, alias, "screener") for alias in cfg.screeners))
    votes = dict(zip(cfg.screeners, keeps, strict=True))
    yes = sum(votes.values())
    no = len(votes) - yes
    tie_by = None
    if yes == no:
        assert cfg.tiebreaker is not None  # guaranteed by ScreenConfig validation
        tie_by = cfg.tiebreaker
        keep = await _vote(ctx, llm, post, cfg.tiebreaker, "tiebreaker")
        votes[cfg.tiebreaker] = keep
    else:
        keep = yes > no
    return ScreenDecision(id=content_id("decision", post.id, sorted(votes.items())),
                          post_id=post.id, keep=keep, votes=votes, tie_broken_by=tie_by)


def _stored_decisions(ctx: StageContext) -> dict[str, ScreenDecision]:
    return {d.post_id: d for d in ctx.store.iter(ScreenDecision)}


SelectedHook = Callable[[Scenario], None]


class ScreenStage(ModelStage[Post]):
    """Screen posts until every domain's quota is confirmed, then select the scenarios."""

    name: ClassVar[str] = STAGE
    reads = (Post,)
    writes = (ScreenVote, ScreenDecision, Scenario, Drop)

    def __init__(self, on_selected: SelectedHook | None = None) -> None:
        self.on_selected = on_selected
        self.board: QuotaBoard | None = None
        self.prefilter_drops: Counter[str] = Counter()
        self._changed: asyncio.Event | None = None
        self._failed_before: set[str] = set()

    def aliases(self, ctx: StageContext) -> list[str]:
        """The screeners and the tie-breaker."""
        cfg = ctx.config.screen
        return [*cfg.screeners, *([cfg.tiebreaker] if cfg.tiebreaker else [])]

    def item_id(self, unit: Post) -> str:
        """Drops are recorded per post."""
        return unit.id

    def total(self, ctx: StageContext) -> int:
        """Progress counts confirmed scenarios against the quota of every domain."""
        return ctx.config.screen.quota_per_domain * len(ctx.config.domains)

    def _open_board(self, ctx: StageContext) -> QuotaBoard:
        self.prefilter_drops = run_prefilter(ctx)
        self._failed_before = {d.item_id for d in ctx.store.iter(Drop)
                               if d.stage == STAGE and d.reason != "llm_screen_no"}
        # Posts that failed in an earlier run have no decision: they are asked again if needed.
        decided: dict[str, bool | None] = {p: d.keep for p, d in _stored_decisions(ctx).items()}
        batch = any(ctx.config.models[a].batch for a in self.aliases(ctx))
        board = QuotaBoard(screening_queues(ctx), decided, ctx.config.screen.quota_per_domain,
                           ctx.config.screen.expected_keep_rate, optimistic=not batch)
        self._emit(ctx, board.confirmed())
        return board

    def plan(self, ctx: StageContext) -> Iterable[Post]:
        """Every post not decided yet, in screening order (the quota decides how many are asked)."""
        board = self._open_board(ctx)
        ids = [p for q in board.domains.values() for p in q.posts if p not in board.decided]
        return _posts(ctx, ids)

    async def aplan(self, ctx: StageContext) -> AsyncIterator[Post]:
        """Hand out posts while the quota may still need them; wait for answers otherwise."""
        self.board = board = self._open_board(ctx)
        self._changed = asyncio.Event()
        while True:
            post_id = board.next_post()
            if post_id is not None:
                post = ctx.store.get(Post, post_id)
                if post is not None:
                    yield post
                continue
            if board.in_flight == 0:
                return
            self._changed.clear()
            await self._changed.wait()

    async def arun(self, ctx: StageContext, llm: LLMClient, unit: Post) -> Outcome:
        """Decide one post and pass on the scenarios that its decision confirms."""
        decision = await decide(ctx, llm, unit)
        ctx.store.put([decision])
        if unit.id in self._failed_before:  # asked again after failing in an earlier run
            ctx.store.delete(Drop, [drop_id(STAGE, unit.id)])
        fresh = self._record(unit.id, decision.keep)
        self._emit(ctx, fresh)
        return Outcome("done", advance=len(fresh))

    def on_unit_error(self, ctx: StageContext, unit: Post, outcome: Outcome) -> None:
        """Record the drop; for the quota the post is decided without a verdict."""
        super().on_unit_error(ctx, unit, outcome)
        self._emit(ctx, self._record(unit.id, None))

    def _record(self, post_id: str, keep: bool | None) -> list[str]:
        assert self.board is not None
        fresh = self.board.record(post_id, keep)
        if self._changed is not None:
            self._changed.set()
        return fresh

    def _emit(self, ctx: StageContext, post_ids: list[str]) -> None:
        if self.on_selected is None or not post_ids:
            return
        posts = ctx.store.get_many(Post, post_ids)
        for post_id in post_ids:
            post = posts.get(post_id)
            domain = ctx.config.domain_of(post.subreddit) if post else None
            if post is not None and domain is not None:
                self.on_selected(scenario_from_post(post, domain))

    def finish(self, ctx: StageContext, stats: StageStats) -> None:
        """Select the scenarios; the facts say how many per domain and why posts were dropped."""
        queues = {d: q.posts for d, q in self.board.domains.items()} if self.board else None
        chosen = select_scenarios(ctx, queues)
        stats.dropped.update(self.prefilter_drops)
        stats.facts["scenarios"] = chosen
        stats.facts["prefilter_drops"] = dict(self.prefilter_drops)


def _posts(ctx: StageContext, ids: list[str]) -> Iterator[Post]:
    for start in range(0, len(ids), 500):
        found = ctx.store.get_many(Post, ids[start:start + 500])
        yield from (found[i] for i in ids[start:start + 500] if i in found)


def select_scenarios(ctx: StageContext, queues: dict[str, list[str]] | None = None) -> dict[str, int]:
    """Take the first ``quota`` kept posts of each domain (queue order) as scenarios.

    ``queues``: the screening queues if the caller has them (saves a pass over every post).
    """
    quota = ctx.config.screen.quota_per_domain
    decisions = _stored_decisions(ctx)
    chosen: list[Scenario] = []
    rejected: list[Drop] = []
    for domain, queue in (queues if queues is not None else screening_queues(ctx)).items():
        taken = 0
        wanted: list[str] = []
        for post_id in queue:
            decision = decisions.get(post_id)
            if decision is None:
                continue
            if not decision.keep:
                votes = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in sorted(decision.votes.items()))
                rejected.append(drop_record(STAGE, post_id, "llm_screen_no", votes))
            elif taken < quota:
                wanted.append(post_id)
                taken += 1
        found = ctx.store.get_many(Post, wanted)
        chosen.extend(scenario_from_post(found[p], domain) for p in wanted if p in found)
    stale = ctx.store.ids(Scenario) - {s.id for s in chosen}
    ctx.store.delete(Scenario, stale)
    ctx.store.put(chosen)
    failed = [d for d in ctx.store.iter(Drop) if d.stage == STAGE and d.reason != "llm_screen_no"]
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
