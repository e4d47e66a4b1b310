"""Schwartz's ten basic values, with their defining goals and PVQ-40 item keys.

The enum's string values are the spellings the original VALACT-15K files use
("Self-direction", "Stimulation", ...), so imported data maps onto it without a lookup table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class ValueInfo(NamedTuple):
    """What a value means (Schwartz 2012) and which PVQ-40 items measure it."""

    goal: str
    pvq_items: tuple[int, ...]


class SchwartzValue(StrEnum):
    """One of Schwartz's ten basic human values."""

    SELF_DIRECTION = "Self-direction"
    STIMULATION = "Stimulation"
    HEDONISM = "Hedonism"
    ACHIEVEMENT = "Achievement"
    POWER = "Power"
    SECURITY = "Security"
    CONFORMITY = "Conformity"
    TRADITION = "Tradition"
    BENEVOLENCE = "Benevolence"
    UNIVERSALISM = "Universalism"

    @property
    def goal(self) -> str:
        """The value's defining goal."""
        return VALUE_INFO[self].goal

    @property
    def pvq_items(self) -> tuple[int, ...]:
        """The PVQ-40 item numbers that score this value."""
        return VALUE_INFO[self].pvq_items

    @classmethod
    def parse(cls, name: str) -> SchwartzValue:
        """Accept the canonical spelling and common variants ("self direction", "SELF-DIRECTION")."""
        wanted = name.strip().lower().replace("_", "-").replace(" ", "-")
        for value in cls:
            if value.value.lower() == wanted:
                return value
        raise ValueError(f"not one of the ten Schwartz values: {name!r}")


VALUE_INFO: dict[SchwartzValue, ValueInfo] = {
    SchwartzValue.SELF_DIRECTION: ValueInfo(
        "independent thought and action: choosing, creating, exploring", (1, 11, 22, 34)
    ),
    SchwartzValue.STIMULATION: ValueInfo("excitement, novelty and challenge in life", (6, 15, 30)),
    SchwartzValue.HEDONISM: ValueInfo("pleasure or sensuous gratification for oneself", (10, 26, 37)),
    SchwartzValue.ACHIEVEMENT: ValueInfo(
        "personal success through demonstrating competence according to social standards",
        (4, 13, 24, 32),
    ),
    SchwartzValue.POWER: ValueInfo(
        "social status and prestige, control or dominance over people and resources", (2, 17, 39)
    ),
    SchwartzValue.SECURITY: ValueInfo(
        "safety, harmony and stability of society, of relationships and of self", (5, 14, 21, 31, 35)
    ),
    SchwartzValue.CONFORMITY: ValueInfo(
        "restraint of actions likely to upset or harm others and violate social norms",
        (7, 16, 28, 36),
    ),
    SchwartzValue.TRADITION: ValueInfo(
        "respect for and acceptance of the customs and ideas of one's culture or religion",
        (9, 20, 25, 38),
    ),
    SchwartzValue.BENEVOLENCE: ValueInfo(
        "preserving and enhancing the welfare of people one is in frequent contact with",
        (12, 18, 27, 33),
    ),
    SchwartzValue.UNIVERSALISM: ValueInfo(
        "understanding, tolerance and protection of the welfare of all people and of nature",
        (3, 8, 19, 23, 29, 40),
    ),
}

ALL_VALUES: tuple[SchwartzValue, ...] = tuple(SchwartzValue)
