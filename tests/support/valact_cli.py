"""Run the real ``valact`` console script as a user would: a fresh process, a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VALACT = Path(sys.executable).parent / "valact"


def fresh_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment without any Prefect or valact settings, with its own HOME.

    A new user has no ``PREFECT_*`` exported and no ``~/.prefect``; whatever the tests'
    process set (or the developer exported) must not help the command under test.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VALACT_"))}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), **extra)
    return env


def run_valact(env: dict[str, str], *args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    """``valact ARGS`` in a new process; never raises on a non-zero exit (tests read it)."""
    return subprocess.run([str(VALACT), *args], capture_output=True, text=True, env=env, timeout=timeout,
                          check=False, cwd=env["HOME"])
