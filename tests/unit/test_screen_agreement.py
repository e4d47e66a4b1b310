"""Cohen's kappa between screeners."""

from __future__ import annotations

import math

import pytest

from pipeline.agreement import cohen_kappa
from pipeline.stages.screen import screen_agreement
from schemas.records import ScreenVote


def test_kappa_known_values() -> None:
    # Classic 2x2 example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4
    a = [True] * 25 + [False] * 25
    b = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa([True, False], [True, False]) == pytest.approx(1.0)
    assert cohen_kappa([True, False], [False, True]) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        cohen_kappa([], [])
    assert math.isnan(cohen_kappa([True, True], [True, True]))


def _vote(post: str, screener: str, keep: bool, role: str = "screener") -> ScreenVote:
    return ScreenVote(id=f"{post}{screener}", post_id=post, screener=screener, prompt_hash="1-x", keep=keep,
                      role=role)  # type: ignore[arg-type]


def test_agreement_uses_common_posts_and_ignores_tiebreaker() -> None:
    votes = [
        _vote("p1", "a", True), _vote("p1", "b", True),
        _vote("p2", "a", False), _vote("p2", "b", False),
        _vote("p3", "a", True), _vote("p3", "b", False), _vote("p3", "t", True, "tiebreaker"),
        _vote("p4", "a", True),  # b never voted on p4
    ]
    [pair] = screen_agreement(votes)
    assert pair["screeners"] == ["a", "b"]
    assert pair["posts"] == 3
    assert pair["agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert pair["kappa"] == pytest.approx(cohen_kappa([True, False, True], [True, False, False]), abs=1e-4)
