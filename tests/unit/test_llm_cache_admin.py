"""`valact cache stats` / `prune` over the response cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli_cache import cache_app, parse_duration
from pipeline.llm.cache import ResponseCache
from pipeline.llm.types import ChatResponse


def _fill(cache: ResponseCache) -> None:
    answer = ChatResponse(text='{"decision": "Yes"}')
    cache.put("k1", "openai", "gpt-4o", "1-aaaa", answer, "screen")
    cache.put("k2", "openai", "gpt-4o", "1-aaaa", answer, "screen")
    cache.put("k3", "openai", "gpt-4o", "2-bbbb", answer, "screen")
    cache.put("k4", "dashscope", "qwen", "1-cccc", answer, "generate")


def test_summary_groups_by_prompt_version_and_model(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    _fill(cache)
    summary = cache.summary()
    assert summary["entries"] == 4
    groups = {(g["prompt"], g["prompt_version"], g["model"]): g["entries"] for g in summary["groups"]}
    assert groups == {
        ("screen", "1", "gpt-4o"): 2, ("screen", "2", "gpt-4o"): 1, ("generate", "1", "qwen"): 1
    }


def test_prune_by_prompt_version_and_name(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    _fill(cache)
    assert cache.prune(prompt_version="1", prompt_name="screen", dry_run=True) == 2
    assert cache.get("k1") is not None
    assert cache.prune(prompt_version="1", prompt_name="screen") == 2
    assert cache.get("k1") is None and cache.get("k3") is not None and cache.get("k4") is not None
    assert cache.prune(prompt_version="1") == 1  # generate v1


def test_prune_by_age(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    _fill(cache)
    assert cache.prune(older_than_s=3600) == 0
    assert cache.prune(older_than_s=3600, now=1e12) == 4
    with pytest.raises(ValueError, match="older-than"):
        cache.prune()


def test_old_cache_without_prompt_names_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, provider TEXT, model TEXT, "
                 "prompt_hash TEXT, response TEXT NOT NULL, created_at REAL NOT NULL)")
    conn.execute("INSERT INTO responses VALUES ('k', 'openai', 'm', '1-x', '{\"text\": \"a\"}', 0)")
    conn.commit()
    conn.close()
    cache = ResponseCache(path)
    assert cache.get("k") is not None
    assert cache.summary()["groups"][0]["prompt"] == "?"


def test_cli_stats_and_prune(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    cache = ResponseCache(workspace / "llm_cache.sqlite")
    _fill(cache)
    cache.close()
    runner = CliRunner()
    result = runner.invoke(cache_app, ["stats", "--profile", "demo", "--workspace", str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    assert '"entries": 4' in result.output
    result = runner.invoke(cache_app, ["prune", "--profile", "demo", "--workspace", str(workspace)])
    assert result.exit_code == 2
    result = runner.invoke(
        cache_app, ["prune", "--profile", "demo", "--workspace", str(workspace), "--prompt-version", "2"]
    )
    assert result.exit_code == 0 and "deleted 1" in result.output
    assert parse_duration("30d") == 30 * 86400 and parse_duration("90m") == 5400 and parse_duration("5") == 5


def test_prompt_version_is_part_of_the_cache_key() -> None:
    from pipeline.llm.cache import request_key
    from pipeline.llm.types import ChatRequest

    base = ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}])
    v1 = base.model_copy(update={"prompt_hash": "1-aaaa"})
    v2 = base.model_copy(update={"prompt_hash": "2-aaaa"})
    assert len({request_key("openai", r) for r in (base, v1, v2)}) == 3
