"""Profiles: the paper's recipe by default, the offline demo, readable errors, no leaked keys."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.config import ConfigError, config_hash, load_config, redacted_view


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("VALACT_PROFILE", "VALACT_WORKSPACE", "OPENAI_API_KEY", "DASHSCOPE_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def test_default_profile_is_the_papers_recipe() -> None:
    cfg = load_config()
    assert cfg.profile == "default"
    assert len(cfg.domains) == 5
    assert sum(len(subs) for subs in cfg.domains.values()) == 17
    assert cfg.domain_of("askphilosophy") == "Ethics" and cfg.domain_of("AITA") is None
    assert cfg.screen.quota_per_domain == 600
    assert (cfg.collect.start_date, cfg.collect.end_date) == (date(2020, 1, 1), date(2024, 12, 31))
    models = {cfg.models[g].model for g in cfg.generate.generators}
    assert models == {"gpt-4o-2024-08-06", "qwen2.5-72b-instruct"}
    assert len(cfg.screen.screeners) == 2 and cfg.screen.tiebreaker


def test_demo_profile_uses_only_local_stand_ins() -> None:
    cfg = load_config("demo")
    used = {*cfg.screen.screeners, *cfg.generate.generators, cfg.screen.tiebreaker}
    assert all(cfg.models[a].base_url == "local" for a in used if a)
    assert cfg.collect.dumps == ["builtin:demo"]
    assert cfg.generate.rules.value_name_leak == "warning"
    assert load_config().generate.rules.value_name_leak == "error"


def test_project_file_overrides_profile(tmp_path: Path) -> None:
    (tmp_path / "valact.toml").write_text('extends = "demo"\n[screen]\nquota_per_domain = 7\n')
    cfg = load_config()
    assert cfg.profile == "demo" and cfg.screen.quota_per_domain == 7


def test_typo_in_config_is_a_readable_error(tmp_path: Path) -> None:
    (tmp_path / "valact.toml").write_text("[screen]\nquota_per_domian = 7\n")
    with pytest.raises(ConfigError, match="quota_per_domian"):
        load_config()


def test_undefined_model_alias_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "valact.toml").write_text('[generate]\ngenerators = ["gpt-4o", "nope"]\n')
    with pytest.raises(ConfigError, match="nope"):
        load_config()


def test_unknown_profile_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError, match="demo"):
        load_config("nonexistent")


def test_keys_from_dotenv_are_never_shown(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-secret-123456\n")
    cfg = load_config()
    text = json.dumps(redacted_view(cfg))
    assert "sk-secret-123456" not in text
    assert "set (redacted)" in text and "NOT SET: DASHSCOPE_API_KEY" in text


def test_config_hash_ignores_workspace_but_not_recipe() -> None:
    assert config_hash(load_config(workspace="a")) == config_hash(load_config(workspace="b"))
    assert config_hash(load_config()) != config_hash(load_config("demo"))


def test_config_show_prints_valid_toml_and_json_without_keys(tmp_path: Path) -> None:
    import tomllib

    from typer.testing import CliRunner

    from flows.cli import app

    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-secret-123456\n")
    (tmp_path / "valact.toml").write_text('extends = "demo"\n[annotation]\ndesign = "verify"\n')
    runner = CliRunner()
    shown = runner.invoke(app, ["config", "show"])
    assert shown.exit_code == 0, shown.output
    assert "sk-secret-123456" not in shown.output
    parsed = tomllib.loads(shown.output)
    assert parsed["profile"] == "demo" and parsed["annotation"]["design"] == "verify"
    # TOML has no null: an unset key is named in the header comment instead of dropped silently.
    assert "annotation.url" in shown.output.splitlines()[0] and "url" not in parsed["annotation"]
    as_json = runner.invoke(app, ["config", "show", "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["annotation"]["url"] is None


def test_annotation_settings_come_from_the_project_config(tmp_path: Path) -> None:
    from annotation.settings import load_annotation_config

    (tmp_path / "valact.toml").write_text('extends = "demo"\n[annotation]\npolicy = "relabel"\n'
                                          'sample_size = 40\n')
    cfg = load_annotation_config(load_config(), {"sample_size": 12, "design": None})
    assert (cfg.policy, cfg.sample_size, cfg.design) == ("relabel", 12, "blind")
    (tmp_path / "valact.toml").write_text('[annotation]\ndesgin = "verify"\n')
    with pytest.raises(ConfigError, match="desgin"):
        load_config()


def test_profile_option_overrides_the_project_files_extends(tmp_path: Path) -> None:
    (tmp_path / "valact.toml").write_text('extends = "default"\n[assemble]\nseed = 7\n')
    cfg = load_config("demo")
    assert cfg.profile == "demo" and cfg.assemble.seed == 7
    assert load_config().profile == "default"
