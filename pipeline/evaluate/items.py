"""PVQ-40 item texts from the user's file: a CSV (item, value, text) or an authors' PVQ log.

valact ships no questionnaire text. The user points ``--items`` at a CSV they made from
the published questionnaire, or at one of the authors' PVQ logs, whose first trial lists
every item with its value. Either way the result must be 40 items whose per-value counts
match the PVQ-40 scoring key (schemas.values); a CSV's item numbers must match the key too.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from pipeline.importers.valact_results import read_pvq_log
from schemas.evaluate import PvqItem
from schemas.values import ALL_VALUES, SchwartzValue

PVQ_ITEMS = 40


class ItemsError(ValueError):
    """The items file is not a usable PVQ-40 item set; the message says what is wrong."""


def check_items(items: list[PvqItem]) -> list[PvqItem]:
    """40 distinct items, as many per value as the PVQ-40 key has; numbered items keyed right."""
    if len(items) != PVQ_ITEMS or len({i.key for i in items}) != PVQ_ITEMS:
        raise ItemsError(f"expected {PVQ_ITEMS} distinct PVQ-40 items, found {len({i.key for i in items})}")
    counts = Counter(i.value for i in items)
    wrong = [f"{v.value}: {counts[v]} (key has {len(v.pvq_items)})" for v in ALL_VALUES
             if counts[v] != len(v.pvq_items)]
    if wrong:
        raise ItemsError("items per value differ from the PVQ-40 key: " + "; ".join(wrong))
    for item in items:
        if item.key.isdigit() and int(item.key) not in item.value.pvq_items:
            raise ItemsError(f"item {item.key} is keyed to {item.value.value}, but the PVQ-40 key puts it "
                             "under another value")
    return items


def read_items_csv(path: Path) -> list[PvqItem]:
    """Columns ``item,value,text`` (header required); item is the PVQ-40 number 1-40."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"item", "value", "text"} <= set(reader.fieldnames or []):
            raise ItemsError(f"{path}: expected the columns item,value,text")
        items = []
        for n, row in enumerate(reader, start=2):
            try:
                items.append(PvqItem(key=str(int(row["item"])), value=SchwartzValue.parse(row["value"]),
                                     text=row["text"].strip()))
            except ValueError as exc:
                raise ItemsError(f"{path}:{n}: {exc}") from exc
    return check_items(items)


def read_items(path: Path) -> list[PvqItem]:
    """Items from a CSV or from the first trial of an authors' PVQ log."""
    head = path.read_text(encoding="utf-8")[:200]
    if head.lstrip().startswith("----trial"):
        trials = read_pvq_log(path)
        if not trials:
            raise ItemsError(f"{path}: no ----trialN---- block")
        return check_items(trials[0].items)
    return read_items_csv(path)
