import xml.etree.ElementTree as ET

from annotation.configs import label_config, prediction_result, task_fields
from schemas.annotation import NONE_LABEL
from schemas.values import ALL_VALUES


def test_blind_config_hides_the_label_and_offers_all_values() -> None:
    root = ET.fromstring(label_config("blind"))
    choices = [c.get("value") for c in root.iter("Choice")]
    assert choices == [v.value for v in ALL_VALUES] + [NONE_LABEL]
    assert "$assigned_value" not in label_config("blind")
    assert root.find(".//TextArea[@name='comment']") is not None
    defs = [t.get("value") for t in root.iter("Text") if (t.get("name") or "").startswith("def_")]
    assert len(defs) == 10 and all(v.goal in str(d) for v, d in zip(ALL_VALUES, defs, strict=True))
    assert "assigned_value" not in task_fields("blind")


def test_verify_config_shows_label_and_asks_verdict() -> None:
    root = ET.fromstring(label_config("verify"))
    assert "$assigned_value" in label_config("verify")
    verdict = root.find(".//Choices[@name='verdict']")
    assert verdict is not None and [c.get("value") for c in verdict] == ["correct", "wrong"]
    corrected = root.find(".//Choices[@name='corrected_value']")
    assert corrected is not None and corrected.get("required") == "false"
    assert prediction_result("verify", "Power")[0]["from_name"] == "corrected_value"
    assert prediction_result("blind", "Power")[0]["value"] == {"choices": ["Power"]}
