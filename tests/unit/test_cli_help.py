"""``valact --help`` stays fast: it imports neither Prefect nor the pipeline's heavy parts.

Checked on what a fresh process has imported after printing help (``sys.modules``), not on
the clock: the clock depends on the machine, the imports do not.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.valact_cli import ROOT

# Each of these costs 0.1-2 s to import; none is needed to print help.
HEAVY = ("prefect", "pandas", "pyarrow", "datasets", "openai", "dashscope", "httpx", "huggingface_hub",
         "label_studio_sdk", "matplotlib", "sklearn", "praw", "pipeline.context", "pipeline.store",
         "schemas.config")

PROBE = """
import json, sys
sys.argv = ["valact", *sys.argv[1:]]
from flows.cli import main
try:
    main()
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("args", [
    ["--help"], ["build", "--help"], ["collect", "--help"], ["screen", "--help"], ["server", "--help"],
    ["server", "start", "--help"], ["annotate", "--help"], ["release", "--help"], ["cache", "--help"],
])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, check=False)
    assert "Usage" in result.stdout, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] in (0, None)
    imported = set(report["modules"])
    assert [m for m in HEAVY if m in imported] == []
