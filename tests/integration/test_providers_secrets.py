"""An API key set in the environment never reaches logs, Prefect's state, the store, the cache
or a release: a full ``valact build`` against the simulator, then every file is scanned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
KEY = "sk-LEAKCHECK-7f3a9c2e1b0d4e5f"


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_api_key_never_leaks(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    with ProviderSim(SimConfig(api_key=KEY, fault_rate=0.1, seed=3, hang_s=2.5)) as sim:
        project = {"extends": "demo", **_without_none(valact_overrides(sim, quota=2))}
        config = tmp_path / "valact.toml"
        config.write_text(tomli_w.dumps(project), encoding="utf-8")
        env = {**os.environ, "VALACT_SIM_KEY": KEY, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", "build", "--config", str(config),
             "--workspace", str(workspace),
             "--json", "--budget", "5"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        # The simulator really received the key on every request (so it was in play)...
        assert sim.stats.auth_headers and all(h == f"Bearer {KEY}" for h in sim.stats.auth_headers)
    result = json.loads(done.stdout)
    release = Path(result["publish"]["path"])
    assert release.is_dir()
    needle = KEY.encode()
    # ...and appears nowhere valact wrote: store, cache, logs, Prefect's database, the release.
    assert (workspace / "valact.sqlite").exists() and (workspace / "llm_cache.sqlite").exists()
    assert _files_containing(workspace, needle) == []
    assert _files_containing(release, needle) == []
    assert KEY not in done.stdout and KEY not in done.stderr
