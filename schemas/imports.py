"""What importing someone else's benchmark found wrong with it, one record per broken rule."""

from __future__ import annotations

from schemas.records import Record


class ImportFlag(Record):
    """One invariant of valact's design that an imported scenario breaks."""

    source: str
    scenario_id: str
    rule: str
    detail: str = ""
