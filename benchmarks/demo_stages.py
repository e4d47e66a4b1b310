"""Time each stage of the offline demo, cold (empty workspace and cache) then warm (re-run).

Prints a table of seconds per stage. Each stage runs as its own `valact` command, so every
row includes starting Prefect's embedded server, and the LLM stages include starting the
local model server. Usage: `python benchmarks/demo_stages.py [--limit N] [--keep DIR]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.stages.catalog import STAGE_ORDER as STAGES


def run_stage(stage: str, workspace: Path, limit: int | None) -> float:
    args = [sys.executable, "-m", "flows.cli", stage, "--profile", "demo", "--workspace", str(workspace)]
    if limit and stage == "screen":  # the limit caps scenarios, chosen while screening
        args += ["--limit", str(limit)]
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{stage} failed:\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="scenarios per domain (default: profile's)")
    parser.add_argument("--keep", type=Path, default=None, help="workspace to use and keep")
    opts = parser.parse_args()
    workspace = opts.keep or Path(tempfile.mkdtemp(prefix="valact-bench-")) / "ws"
    rows = []
    for label in ("cold", "warm"):
        times = {stage: run_stage(stage, workspace, opts.limit) for stage in STAGES}
        rows.append((label, times))
        print(f"{label}: " + ", ".join(f"{s} {t:.1f}s" for s, t in times.items()), flush=True)
    print()
    print(f"{'stage':<10}{'cold s':>10}{'warm s':>10}")
    for stage in STAGES:
        print(f"{stage:<10}{rows[0][1][stage]:>10.1f}{rows[1][1][stage]:>10.1f}")
    print(f"{'total':<10}{sum(rows[0][1].values()):>10.1f}{sum(rows[1][1].values()):>10.1f}")
    print(f"workspace: {workspace}")


if __name__ == "__main__":
    main()
