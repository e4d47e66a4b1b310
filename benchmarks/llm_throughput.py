"""valact's generate stage against a rate-limited provider, and curator (bespokelabs-curator) on
the same number of requests against the same simulator, in one run, in two regimes:

- ``rate``: R = 300 requests per 60 s sliding window, 300 ms per answer. The limit is the
  bottleneck; we print the sustained rate (first to last accepted request) as a share of R,
  the most requests seen in any 60 s window, and the 429s.
- ``latency``: R = 6,000 per minute, 5 s per answer, 1,200 requests. Throughput depends on
  how many requests are kept in flight (Little's law: 100/s x 5 s = 500). The floor is
  requests / R + latency (12 s + 5 s = 17 s); we print each tool's time from the first
  request to the last answer and floor / time (1.0 = as fast as the provider allows).

The simulator (tests/support/provider_sim.py) answers 429 + Retry-After above R. valact runs
``--scenarios`` scenarios x 2 generators (one request each); curator sends the same number of
requests through its OpenAI backend with ``max_requests_per_minute = R``.

curator is not a valact dependency. Install it once into a throwaway venv:

    python3.11 -m venv /tmp/curator-venv && /tmp/curator-venv/bin/pip install bespokelabs-curator

Run:  PYTHONPATH=. .venv/bin/python benchmarks/llm_throughput.py [--regime rate|latency|both]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides  # noqa: E402

KEY = "sk-bench-not-a-secret"
CURATOR_PY = Path(os.environ.get("CURATOR_VENV", "/tmp/curator-venv")) / "bin" / "python"

CURATOR_SCRIPT = rf"""
import json, os, sys, time
import tiktoken

class _Approx:
    # tiktoken downloads its BPE tables from the internet on first use; offline we count
    # tokens as four characters each (valact's own estimate), used only for TPM pacing.
    name = "approx"
    def encode(self, text, *args, **kwargs):
        return [0] * max(1, len(str(text)) // 4)

try:
    tiktoken.get_encoding("cl100k_base")
except Exception:
    tiktoken.get_encoding = lambda *a, **k: _Approx()
    tiktoken.encoding_for_model = lambda *a, **k: _Approx()
from bespokelabs import curator
url, rpm, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
llm = curator.LLM(model_name="gpt-4o-mini", backend="openai",
                  backend_params={{"base_url": url, "api_key": "{KEY}", "max_requests_per_minute": rpm,
                                  "max_tokens_per_minute": 100_000_000, "require_all_responses": False,
                                  "max_retries": 5}})
prompts = [f"Scenario {{i}}: list one action per value for the ten Schwartz values." for i in range(n)]
started = time.time()
result = llm(prompts)
rows = len(result.dataset if hasattr(result, "dataset") else result)
print(json.dumps({{"seconds": time.time() - started, "rows": rows}}))
"""


def figures(sim: ProviderSim, limit: int, latency: float) -> dict[str, float]:
    times = sorted(sim.stats.accepted_times)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    sustained = (len(times) - 1) / span * 60 if len(times) > 1 else 0.0
    floor = len(times) / (limit / 60) + latency
    first_to_last_answer = span + latency
    return {
        "requests": len(times),
        "seconds": round(span, 1),
        "sustained_rpm": round(sustained, 1),
        "ratio_of_limit": round(sustained / limit, 4),
        "max_in_any_60s": sim.max_in_window(60.0),
        "http_429": sim.stats.by_status[429],
        "first_request_to_last_answer_s": round(first_to_last_answer, 1),
        "floor_s": round(floor, 1),
        "floor_over_time": round(floor / first_to_last_answer, 3),
    }


VALACT_CHILD = r"""
import json, sys
from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.runner import run_stage
from pipeline.stages.generate import GenerateStage
from schemas.records import Scenario
overrides, workspace, scenarios = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = StageContext.open(load_config("demo", None, workspace, overrides))
ctx.store.put([
    Scenario(id=f"s_{i:05d}", post_id=f"p{i}", domain="Career & work", subreddit="careerguidance",
             title=f"Offer number {i}", text=f"I got job offer {i} and cannot decide what to do.",
             created_utc=1_700_000_000, url="")
    for i in range(scenarios)
])
stats = run_stage(ctx, GenerateStage())
peak = max(g.peak for g in ctx.registry.gates.values())
ctx.close()
print(json.dumps({"failed": stats.failed, "peak_in_flight_per_alias": peak}))
"""


def run_valact(rpm: int, scenarios: int, latency: float) -> dict[str, float]:
    """valact's generate stage in its own process (as curator is), the simulator in this one."""
    with ProviderSim(SimConfig(rpm=rpm, window_s=60.0, latency_s=latency, api_key=KEY)) as sim, \
            tempfile.TemporaryDirectory() as tmp:
        # Each of the two generator aliases gets half of R; no max_concurrency: the in-flight
        # bound follows from the limits and the measured latency.
        overrides = valact_overrides(sim, rpm=rpm // 2, max_concurrency=None, timeout_s=60)
        env = {**os.environ, "VALACT_SIM_KEY": KEY, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-c", VALACT_CHILD, json.dumps(overrides), str(Path(tmp) / "ws"),
             str(scenarios)],
            env=env, capture_output=True, text=True, timeout=1800, cwd=tmp,
        )
        if done.returncode != 0:
            sys.exit(f"valact run failed:\n{done.stderr[-2000:]}")
        child = json.loads(done.stdout.strip().splitlines()[-1])
        result = figures(sim, rpm, latency)
        result.update(child)
        result["paid_twice"] = len(sim.paid_twice())
        return result


def run_curator(rpm: int, n: int, latency: float) -> dict[str, object]:
    if not CURATOR_PY.exists():
        return {"error": f"curator is not installed at {CURATOR_PY}; see this script's docstring"}
    with ProviderSim(SimConfig(rpm=rpm, window_s=60.0, latency_s=latency, api_key=KEY)) as sim, \
            tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CURATOR_CACHE_DIR": tmp, "HOME": tmp, "CURATOR_DISABLE_CACHE": "true",
               "OPENAI_API_KEY": KEY, "CURATOR_VIEWER": "0", "TELEMETRY_ENABLED": "false"}
        started = time.time()
        done = subprocess.run(
            [str(CURATOR_PY), "-c", CURATOR_SCRIPT, sim.openai_url, str(rpm), str(n)],
            env=env, capture_output=True, text=True, timeout=1800, cwd=tmp,
        )
        wall = time.time() - started
        if done.returncode != 0:
            return {"error": "curator run failed", "stderr": done.stderr[-1500:]}
        result: dict[str, object] = dict(figures(sim, rpm, latency))
        result["wall_seconds_incl_startup"] = round(wall, 1)
        result["paid_twice"] = len(sim.paid_twice())
        return result


REGIMES = {
    "rate": {"rpm": 300, "scenarios": 150, "latency": 0.3},
    "latency": {"rpm": 6000, "scenarios": 600, "latency": 5.0},
}


def run_regime(name: str, rpm: int, scenarios: int, latency: float, skip_curator: bool) -> None:
    print(f"== {name}-bound: R = {rpm} requests/min (60 s sliding window), latency {latency * 1000:.0f} ms, "
          f"{scenarios * 2} requests")
    valact = run_valact(rpm, scenarios, latency)
    print("valact generate:", json.dumps(valact))
    print(f"valact: {valact['ratio_of_limit'] * 100:.1f}% of R sustained; max in any 60 s = "
          f"{valact['max_in_any_60s']} (limit {rpm}); 429s = {valact['http_429']}; "
          f"first request to last answer {valact['first_request_to_last_answer_s']} s vs floor "
          f"{valact['floor_s']} s -> {valact['floor_over_time']:.2f} of the floor")
    if skip_curator:
        return
    curator = run_curator(rpm, scenarios * 2, latency)
    if "error" in curator:
        print("curator: NOT MEASURED -", curator["error"])
        if "stderr" in curator:
            print(curator["stderr"])
        return
    print("curator:", json.dumps(curator))
    print(f"curator: {float(curator['ratio_of_limit']) * 100:.1f}% of R sustained; "  # type: ignore[arg-type]
          f"max in any 60 s = {curator['max_in_any_60s']}; 429s = {curator['http_429']}; "
          f"first request to last answer {curator['first_request_to_last_answer_s']} s -> "
          f"{curator['floor_over_time']} of the floor")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--regime", choices=["rate", "latency", "both"], default="both")
    parser.add_argument("--rpm", type=int, default=None, help="override the regime's limit R")
    parser.add_argument("--scenarios", type=int, default=None, help="scenarios (x2 generator requests)")
    parser.add_argument("--latency", type=float, default=None, help="seconds per answer")
    parser.add_argument("--skip-curator", action="store_true")
    args = parser.parse_args()
    for name in (["rate", "latency"] if args.regime == "both" else [args.regime]):
        regime = REGIMES[name]
        run_regime(name, args.rpm or int(regime["rpm"]), args.scenarios or int(regime["scenarios"]),
                   args.latency if args.latency is not None else float(regime["latency"]), args.skip_curator)


if __name__ == "__main__":
    main()
