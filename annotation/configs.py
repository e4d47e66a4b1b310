"""Label Studio labeling configurations for the two annotation designs.

*blind*: the expert reads the scenario and one action and picks the value it expresses (or
"None / unclear") without seeing the generator's label, so the label cannot lead them.
*verify*: the expert sees the assigned value and marks it correct or wrong, optionally with
the value it really expresses. Both list the ten values with their defining goals and offer
a free-text comment. Control names are constants shared with push (predictions) and pull.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from schemas.annotation import NONE_LABEL
from schemas.config import Design
from schemas.values import ALL_VALUES

TEXT = "action"
EXPERT_VALUE = "expert_value"
VERDICT = "verdict"
CORRECTED_VALUE = "corrected_value"
COMMENT = "comment"


def _definitions() -> str:
    rows = "\n".join(
        f'    <Text name="def_{i}" value={quoteattr(f"{v.value}: {v.goal}")}/>'
        for i, v in enumerate(ALL_VALUES)
    )
    header = '    <Header value="The ten values" size="5"/>'
    return f'  <View style="font-size: 90%">\n{header}\n{rows}\n  </View>'


def _value_choices(name: str, required: bool) -> str:
    options = "\n".join(
        f"    <Choice value={quoteattr(v.value)} hint={quoteattr(v.goal)}/>" for v in ALL_VALUES
    )
    req = "true" if required else "false"
    return (
        f'  <Choices name="{name}" toName="{TEXT}" choice="single" required="{req}" showInline="false">\n'
        f"{options}\n    <Choice value={quoteattr(NONE_LABEL)}/>\n  </Choices>"
    )


def _comment() -> str:
    return (
        '  <Header value="Comment (optional)" size="6"/>\n'
        f'  <TextArea name="{COMMENT}" toName="{TEXT}" rows="2" editable="true" maxSubmissions="1"/>'
    )


def _context() -> str:
    return (
        '  <Header value="$title"/>\n  <Text name="scenario" value="$scenario"/>\n'
        f'  <Header value="Action" size="5"/>\n  <Text name="{TEXT}" value="${TEXT}"/>'
    )


def label_config(design: Design) -> str:
    """The XML labeling configuration of a design."""
    if design == "blind":
        body = (
            '  <Header value="Which value does this action express?" size="5"/>\n'
            + _value_choices(EXPERT_VALUE, required=True)
        )
    elif design == "verify":
        body = (
            '  <Header value="Assigned value: $assigned_value" size="5"/>\n'
            f'  <Choices name="{VERDICT}" toName="{TEXT}" choice="single" required="true">\n'
            '    <Choice value="correct"/>\n    <Choice value="wrong"/>\n  </Choices>\n'
            '  <Header value="If wrong, the value it expresses (optional)" size="6"/>\n'
            + _value_choices(CORRECTED_VALUE, required=False)
        )
    else:  # pragma: no cover - Literal guards this
        raise ValueError(f"unknown design {design!r}")
    return "\n".join(["<View>", _context(), body, _comment(), _definitions(), "</View>"]) + "\n"


def task_fields(design: Design) -> tuple[str, ...]:
    """The task data fields a design's config reads (push must provide all of them)."""
    base = ("title", "scenario", TEXT)
    return (*base, "assigned_value") if design == "verify" else base


def prediction_result(design: Design, value: str) -> list[dict[str, object]]:
    """The generator's label in the shape of an annotation result for this design."""
    control = EXPERT_VALUE if design == "blind" else CORRECTED_VALUE
    return [{"from_name": control, "to_name": TEXT, "type": "choices", "value": {"choices": [value]}}]
