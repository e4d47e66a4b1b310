"""A default-profile-shaped build end to end, through the flows, against provider simulators.

3,000 scenarios (600 per domain x 5 domains) from a synthetic dump of ``--posts`` posts, then
15,000 questions. Three loopback simulators stand in for the providers, each with its own
tier limits and a GPT-4o-like long-tailed latency (lognormal, median 6 s, p99 30 s):

    gpt-4o        5,000 RPM, 800k input TPM    (screener, generator)
    qwen2.5-72b   1,200 RPM                    (screener, generator: the tighter provider)
    gpt-4o-mini   5,000 RPM                    (tie-breaker)

``valact build`` runs as a subprocess on a ``valact.toml`` that extends the default profile
and points its three aliases at the simulators. Printed, side by side with the targets:

- wall time against the floor: for each alias, requests made / its limit, plus the tail
  latency (p99); the floor is the largest of these (the tighter provider's);
- 429s, items lost (scenarios short of 3,000, questions short of 15,000), requests paid
  twice (the same body answered twice by a simulator);
- requests per accepted question against the minimum (the votes of every post up to each
  domain's last selected one in queue order, plus two generation calls per scenario);
- peak RSS of the build process, and of a 1,500-question build on the same setup;
- the warm rebuild: the same command again (every answer is in the workspace; 0 requests).

Run:  PYTHONPATH=. .venv/bin/python benchmarks/full_build.py [--per-domain 600] [--posts 12000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.config import load_config  # noqa: E402
from pipeline.context import StageContext  # noqa: E402
from pipeline.stages.screen import screening_queues  # noqa: E402
from schemas.records import Question, Scenario, ScreenDecision, ScreenVote, StageRun  # noqa: E402
from tests.support.advice_posts import independent_screeners, synthetic_posts  # noqa: E402
from tests.support.dumps import write_dump  # noqa: E402
from tests.support.provider_sim import ProviderSim, SimConfig  # noqa: E402

KEY = "sk-bench-full-build"
VALACT = REPO / ".venv" / "bin" / "valact"
TIERS = {  # alias -> (rpm, input tpm)
    "gpt-4o": (5000, 800_000),
    "qwen2.5-72b": (1200, None),
    "gpt-4o-mini": (5000, None),
}
def project_toml(folder: Path, dump: Path, sims: dict[str, ProviderSim], per_domain: int) -> Path:
    """A valact.toml on the default profile, its aliases pointed at the simulators."""
    lines = ['extends = "default"', f'workspace = "{folder / "ws"}"', "", "[collect]", f'dumps = ["{dump}"]',
             "", "[screen]", f"quota_per_domain = {per_domain}", ""]
    for alias, sim in sims.items():
        rpm, tpm = TIERS[alias]
        url = sim.dashscope_url if alias.startswith("qwen") else sim.openai_url
        lines += [f'[models."{alias}"]', f'base_url = "{url}"', 'api_key_env = "VALACT_BENCH_KEY"',
                  f"rpm = {rpm}", "timeout_s = 120"]
        lines += [f"tpm_in = {tpm}"] if tpm else []
        lines.append("")
    path = folder / "valact.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_build(config: Path, cwd: Path) -> dict[str, Any]:
    """``valact build`` as a subprocess: wall time, peak RSS so far, and RSS per stage.

    A thread samples the process's RSS twice a second; each sample is then put in the stage
    running at that moment (from the run's ``stage_runs``), so a peak can be traced to its
    stage rather than only to the build.
    """
    env = {**os.environ, "VALACT_BENCH_KEY": KEY, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    started = time.monotonic()
    process = subprocess.Popen([str(VALACT), "build", "-c", str(config), "--json"], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, float]] = []
    sampler = threading.Thread(target=sample_rss, args=(process, samples), daemon=True)
    sampler.start()
    _out, err = process.communicate()
    wall = time.monotonic() - started
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"valact build failed ({process.returncode}):\n{err[-3000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"wall_s": round(wall, 1), "peak_rss_mb_so_far": round(peak_mb, 1),
            "peak_rss_mb_by_stage": rss_by_stage(config, samples)}


def sample_rss(process: subprocess.Popen[str], samples: list[tuple[float, float]]) -> None:
    """(wall time, RSS in MB) of ``process`` every half second until it ends."""
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    samples.append((time.time(), int(line.split()[1]) / 1024))
        except OSError:
            break
        time.sleep(0.5)


def rss_by_stage(config_path: Path, samples: list[tuple[float, float]]) -> dict[str, float]:
    """Peak sampled RSS per stage of the last build; ``startup+collect`` is before the first."""
    ctx = StageContext.open(load_config(None, config_path))
    try:
        runs = sorted(ctx.store.iter(StageRun), key=lambda r: r.finished_at)
        last = runs[-1].run_id if runs else ""
        windows = [(r.stage, r.finished_at.timestamp() - float(r.stats.get("seconds", 0)),
                    r.finished_at.timestamp()) for r in runs if r.run_id == last]
    finally:
        ctx.close()
    peaks: dict[str, float] = {}
    first = min((start for _s, start, _e in windows), default=float("inf"))
    for at, mb in samples:
        inside = [s for s, a, b in windows if a <= at <= b] or ["between"]
        names = ["startup+collect"] if at < first else inside
        for name in names:
            peaks[name] = round(max(peaks.get(name, 0.0), mb), 1)
    return peaks


def minimum_requests(config_path: Path) -> tuple[int, int, int]:
    """(minimum screening calls, scenarios, questions) from the stored votes and queue order."""
    ctx = StageContext.open(load_config(None, config_path))
    try:
        votes: dict[str, int] = {}
        for vote in ctx.store.iter(ScreenVote):
            votes[vote.post_id] = votes.get(vote.post_id, 0) + 1
        decisions = {d.post_id: d.keep for d in ctx.store.iter(ScreenDecision)}
        quota = ctx.config.screen.quota_per_domain
        needed = 0
        for queue in screening_queues(ctx).values():
            kept = 0
            for post_id in queue:
                if kept >= quota:
                    break
                needed += votes.get(post_id, 0)
                kept += int(decisions.get(post_id, False))
        return needed, ctx.store.count(Scenario), ctx.store.count(Question)
    finally:
        ctx.close()


def start_sims(median: float, p99: float) -> dict[str, ProviderSim]:
    sims = {}
    for i, (alias, (rpm, tpm)) in enumerate(TIERS.items()):
        sims[alias] = ProviderSim(SimConfig(
            api_key=KEY, rpm=rpm, tpm=tpm, window_s=60.0, latency_median_s=median, latency_p99_s=p99,
            seed=i, hang_s=0.0, responder=independent_screeners, responder_sees_model=True,
        )).start()
    return sims


def build_once(folder: Path, posts: list[dict[str, Any]], per_domain: int, median: float, p99: float,
               warm: bool) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    dump = write_dump(folder / "RS_synthetic.jsonl", posts)
    sims = start_sims(median, p99)
    try:
        config = project_toml(folder, dump, sims, per_domain)
        cold = run_build(config, folder)
        requests = {alias: sum(s.stats.billed.values()) for alias, s in sims.items()}
        sent = {alias: s.stats.requests for alias, s in sims.items()}
        figures: dict[str, Any] = {
            "cold": cold, "billed_requests": requests,
            "http_429": sum(s.stats.by_status[429] for s in sims.values()),
            "paid_twice": sum(len(s.paid_twice()) for s in sims.values()),
        }
        figures["floor_s"] = round(max(sent[a] / (TIERS[a][0] / 60) for a in sims) + p99, 1)
        needed, scenarios, questions = minimum_requests(config)
        minimum = needed + 2 * scenarios
        total = sum(requests.values())
        figures.update({
            "scenarios": scenarios, "questions": questions,
            "requests_per_question": round(total / max(1, questions), 4),
            "minimum_per_question": round(minimum / max(1, questions), 4),
        })
        figures["requests_over_minimum"] = round(total / max(1, minimum), 4)
        figures["wall_over_floor"] = round(cold["wall_s"] / figures["floor_s"], 3)
        if warm:
            before = sum(s.stats.requests for s in sims.values())
            figures["warm"] = run_build(config, folder)
            figures["warm_requests"] = sum(s.stats.requests for s in sims.values()) - before
        return figures
    finally:
        for sim in sims.values():
            sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-domain", type=int, default=600,
                        help="scenarios per domain (600 = 15k questions)")
    parser.add_argument("--posts", type=int, default=12_000, help="posts in the synthetic dump")
    parser.add_argument("--median", type=float, default=6.0, help="median answer latency, s")
    parser.add_argument("--p99", type=float, default=30.0, help="99th percentile answer latency, s")
    parser.add_argument("--small-per-domain", type=int, default=60,
                        help="the comparison build for peak RSS (60 = 1,500 questions); 0 skips it")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the workspaces in")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="valact-full-build-"))
    cfg = load_config("default")
    subreddits = [s for subs in cfg.domains.values() for s in subs]
    posts = synthetic_posts(args.posts, subreddits)
    results: dict[str, Any] = {}
    if args.small_per_domain:
        # Run first: RUSAGE_CHILDREN keeps the largest child so far, so the small build's
        # peak is read before the big one can raise it.
        small = build_once(root / "small", posts, args.small_per_domain, args.median, args.p99, warm=False)
        results["small"] = small
        print("small build:", json.dumps(small), flush=True)
    full = build_once(root / "full", posts, args.per_domain, args.median, args.p99, warm=True)
    results["full"] = full
    print("full build:", json.dumps(full), flush=True)
    print()
    print(f"questions {full['questions']} from {full['scenarios']} scenarios "
          f"(target {args.per_domain * 5 * 5} / {args.per_domain * 5})")
    print(f"wall {full['cold']['wall_s']} s vs floor {full['floor_s']} s -> {full['wall_over_floor']}x "
          "(target <= 1.15x)")
    print(f"429s {full['http_429']}; paid twice {full['paid_twice']} (target 0)")
    print(f"requests per question {full['requests_per_question']} vs minimum {full['minimum_per_question']} "
          f"-> {full['requests_over_minimum']}x (target <= 1.05x)")
    print(f"warm rebuild {full['warm']['wall_s']} s with {full['warm_requests']} requests "
          "(target <= 60 s, 0 requests)")
    peak_full = full["cold"]["peak_rss_mb_so_far"]
    if "small" in results:
        peak_small = results["small"]["cold"]["peak_rss_mb_so_far"]
        print(f"peak RSS {peak_full} MB vs {peak_small} MB for {results['small']['questions']} questions "
              f"-> {peak_full / peak_small:.2f}x (target <= 1.20x)")
        print(f"peak RSS by stage: {full['cold']['peak_rss_mb_by_stage']} (15,000) vs "
              f"{results['small']['cold']['peak_rss_mb_by_stage']} (1,500)")
    print(f"workspaces in {root}")


if __name__ == "__main__":
    main()
