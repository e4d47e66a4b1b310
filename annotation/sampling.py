"""Which action labels experts check: a stratified sample over value x domain x generator.

The default size gives a 95% confidence interval of +/- 2 points on overall accuracy
(n = z^2 p (1 - p) / e^2 = 2,401 at the worst case p = 0.5; smaller when the expected
accuracy is given). Strata get at least ``min_per_stratum`` units so no value, domain or
generator goes unseen, and the rest is spread proportionally (largest remainder). Units are
ranked inside each stratum by a seeded hash, so the sample is reproducible and a larger
sample contains a smaller one. A seeded share of the sample goes to several annotators.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from statistics import NormalDist

from pipeline.hashing import sha256_hex
from pipeline.store import Store
from schemas.config import AnnotationConfig
from schemas.records import Question, Scenario
from schemas.values import SchwartzValue

Stratum = tuple[str, str, str]  # (value, domain, generator)


@dataclass(frozen=True)
class Unit:
    """One assembled action label that can be checked."""

    candidate_id: str
    scenario_id: str
    value: SchwartzValue
    generator: str
    domain: str

    @property
    def stratum(self) -> Stratum:
        """The unit's (value, domain, generator) cell."""
        return (self.value.value, self.domain, self.generator)


@dataclass(frozen=True)
class SampledUnit:
    """A unit in the sample and how many experts should judge it."""

    unit: Unit
    annotators: int


def required_sample_size(margin: float = 0.02, confidence: float = 0.95, expected: float = 0.5) -> int:
    """Size for a normal-approximation CI of +/- ``margin`` on a proportion near ``expected``."""
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    return math.ceil(z * z * expected * (1 - expected) / (margin * margin))


def population(store: Store) -> list[Unit]:
    """Every candidate used in an assembled question, with its scenario's domain."""
    domains = {s.id: s.domain for s in store.all(Scenario)}
    units: dict[str, Unit] = {}
    for question in store.all(Question):
        for option in question.options:
            units[option.candidate_id] = Unit(
                candidate_id=option.candidate_id, scenario_id=question.scenario_id, value=option.value,
                generator=option.generator, domain=domains.get(question.scenario_id, "unknown"),
            )
    return sorted(units.values(), key=lambda u: u.candidate_id)


def allocate(sizes: dict[Stratum, int], n: int, min_per_stratum: int = 1) -> dict[Stratum, int]:
    """How many units each stratum contributes: a floor per stratum, the rest proportional."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    take = {key: min(size, min_per_stratum) for key, size in sizes.items()}
    left = n - sum(take.values())
    while left > 0:
        room = {key: sizes[key] - take[key] for key in sizes if sizes[key] > take[key]}
        capacity = sum(room.values())
        if capacity == 0:
            break
        shares = {key: left * r / capacity for key, r in room.items()}
        whole = {key: min(room[key], math.floor(s)) for key, s in shares.items()}
        for key, k in whole.items():
            take[key] += k
        left -= sum(whole.values())
        order = sorted(room, key=lambda key: (-(shares[key] - math.floor(shares[key])), key))
        for key in order:
            if left == 0:
                break
            if take[key] < sizes[key]:
                take[key] += 1
                left -= 1
    return take


def _rank(seed: int, salt: str, unit_id: str) -> str:
    return sha256_hex(f"{seed}:{salt}:{unit_id}")


def draw_sample(units: list[Unit], cfg: AnnotationConfig) -> list[SampledUnit]:
    """The stratified sample with its overlap share; deterministic from ``cfg.seed``."""
    n = cfg.sample_size or required_sample_size(cfg.margin, cfg.confidence, cfg.expected_accuracy)
    strata: dict[Stratum, list[Unit]] = defaultdict(list)
    for unit in units:
        strata[unit.stratum].append(unit)
    quota = allocate({key: len(members) for key, members in strata.items()}, n, cfg.min_per_stratum)
    chosen: list[Unit] = []
    for key, members in sorted(strata.items()):
        members.sort(key=lambda u: _rank(cfg.seed, "sample", u.candidate_id))
        chosen.extend(members[: quota[key]])
    overlap_n = round(cfg.overlap_share * len(chosen))
    by_overlap_rank = sorted(chosen, key=lambda u: _rank(cfg.seed, "overlap", u.candidate_id))
    shared = {u.candidate_id for u in by_overlap_rank[:overlap_n]}
    return [
        SampledUnit(unit=u, annotators=cfg.annotators_per_overlap if u.candidate_id in shared else 1)
        for u in sorted(chosen, key=lambda u: u.candidate_id)
    ]
