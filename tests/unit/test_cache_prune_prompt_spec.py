"""``valact cache prune --prompt-version generate:1`` deletes what the README says it deletes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli_cache import cache_app
from pipeline.llm.cache import ResponseCache, split_prompt_version
from pipeline.llm.types import ChatResponse


def _workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    cache = ResponseCache(workspace / "llm_cache.sqlite")
    answer = ChatResponse(text="{}")
    cache.put("g1a", "openai", "gpt-4o", "1-3f9a0c12de", answer, "generate")
    cache.put("g1b", "openai", "qwen", "1-3f9a0c12de", answer, "generate")
    cache.put("g2", "openai", "gpt-4o", "2-77aa00bb11", answer, "generate")
    cache.put("s1", "openai", "gpt-4o", "1-0123456789", answer, "screen")
    cache.close()
    return workspace


def _prune(workspace: Path, *args: str) -> tuple[int, str]:
    args = ("prune", "--profile", "demo", "--workspace", str(workspace), *args)
    result = CliRunner().invoke(cache_app, list(args))
    return result.exit_code, result.output


def _left(workspace: Path) -> set[str]:
    cache = ResponseCache(workspace / "llm_cache.sqlite")
    try:
        return {key for key in ("g1a", "g1b", "g2", "s1") if cache.get(key) is not None}
    finally:
        cache.close()


def test_readme_example_deletes_that_prompts_version_only(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    code, out = _prune(workspace, "--prompt-version", "generate:1")
    assert code == 0 and "deleted 2 cached answers" in out
    assert _left(workspace) == {"g2", "s1"}


def test_full_hash_and_bare_version_still_work(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    assert _prune(workspace, "--prompt-version", "generate:2-77aa00bb11")[1].count("deleted 1") == 1
    code, out = _prune(workspace, "--prompt-version", "1", "--dry-run")
    assert code == 0 and "would delete 3" in out


def test_nothing_matched_says_which_versions_exist(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    code, out = _prune(workspace, "--prompt-version", "generate:7")
    assert code == 0 and "deleted 0" in out
    assert "generate:1" in out and "generate:2" in out and "screen:1" in out
    code, out = _prune(workspace, "--prompt-version", "generate:1", "--prompt", "screen")
    assert code == 2 and "generate" in out


@pytest.mark.parametrize(("spec", "parts"), [
    ("generate:1", ("generate", "1")), ("1", (None, "1")), ("screen:2-abc", ("screen", "2-abc")),
])
def test_split_prompt_version(spec: str, parts: tuple[str | None, str]) -> None:
    assert split_prompt_version(spec) == parts
