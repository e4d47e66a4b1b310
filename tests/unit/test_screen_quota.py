"""The quota rules while screening concurrently: how many posts go out, which scenarios are sure."""

from __future__ import annotations

from pipeline.stages.screen_quota import QuotaBoard


def _board(n: int = 20, quota: int = 3, optimistic: bool = True, decided: dict[str, bool | None] | None = None
           ) -> QuotaBoard:
    return QuotaBoard({"A": [f"a{i}" for i in range(n)], "B": [f"b{i}" for i in range(n)]},
                      decided or {}, quota, prior_keep_rate=0.5, optimistic=optimistic)


def _drain(board: QuotaBoard) -> list[str]:
    out = []
    while (post := board.next_post()) is not None:
        out.append(post)
    return out


def test_streaming_hands_out_only_the_quota_before_any_answer() -> None:
    board = _board(quota=3)
    first = _drain(board)
    # Before any answer the keep rate is taken as 1: exactly the quota per domain goes out.
    assert sorted(first) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert first[:2] == ["a0", "b0"]  # domains take turns


def test_batch_rounds_use_the_expected_keep_rate() -> None:
    board = _board(quota=3, optimistic=False)
    first = _drain(board)
    assert len([p for p in first if p.startswith("a")]) == 6  # 3 / 0.5


def test_rejections_make_room_for_more_posts() -> None:
    board = _board(quota=3)
    _drain(board)
    assert board.record("a0", False) == []
    assert board.next_post() == "a3"


def test_a_scenario_is_confirmed_only_when_every_earlier_post_is_decided() -> None:
    board = _board(quota=2)
    _drain(board)
    assert board.record("a1", True) == []  # a0 may still be kept and come first
    assert board.record("a0", None) == ["a1"]  # a0 failed: a1 is now certain
    assert board.next_post() == "a2"
    assert board.record("a2", True) == ["a2"]
    assert board.confirmed() == ["a1", "a2"]
    assert board.record("b0", True) == ["b0"]


def test_the_quota_never_confirms_more_than_it_needs() -> None:
    board = _board(quota=1)
    _drain(board)
    board.next_post()
    assert board.record("a0", True) == ["a0"]
    assert board.next_post() in (None, "b1")
    assert all(p.startswith("b") for p in _drain(board))


def test_decisions_from_an_earlier_run_count() -> None:
    board = _board(quota=2, decided={"a0": True, "a1": True, "b0": False})
    assert board.confirmed() == ["a0", "a1"]
    assert [p for p in _drain(board) if p.startswith("a")] == []  # domain A is done
    assert "b0" not in _drain(board)
