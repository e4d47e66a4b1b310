"""Dump source benchmark: posts/s and peak RSS, single process vs a 2-worker Dask cluster,
next to datatrove's JsonlReader on the same files.

    .venv/bin/python benchmarks/dump_read.py            # 1,000,000 and 100,000 lines
    .venv/bin/python benchmarks/dump_read.py --lines 200000 --small 20000

Files are generated once under --dir (default /tmp/valact-bench). Each measurement runs in
its own process so peak RSS (ru_maxrss) belongs to that reader alone. datatrove is installed
into a throwaway venv (/tmp/valact-bench/datatrove-venv, not a valact dependency); if that
fails the script says so and still reports valact's numbers.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import venv
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.sources.dump import Partition  # noqa: E402
from pipeline.sources.scope import Scope  # noqa: E402
from pipeline.stages.collect import CollectReport, dump_posts  # noqa: E402
from tests.support.dumps import SUBREDDITS, submission, write_dump  # noqa: E402

SCOPE = Scope.between(list(SUBREDDITS[:5]), date(2020, 1, 1), date(2024, 12, 31))
DATATROVE_VENV = "datatrove-venv"
DATATROVE_CHILD = """
import json, sys, time
from datatrove.pipeline.readers import JsonlReader
path = sys.argv[1]
folder, name = path.rsplit("/", 1)
start = time.perf_counter()
n = 0
reader = JsonlReader(folder, glob_pattern=name, text_key="selftext", id_key="id", compression="infer")
for _doc in reader.run():
    n += 1
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
rss = int(hwm.split()[1]) / 1024
print(json.dumps({"docs": n, "seconds": time.perf_counter() - start, "peak_rss_mb": rss}))
"""


def peak_rss_mb() -> float:
    """This process's high-water RSS (VmHWM; ru_maxrss would include the parent's, kept over exec)."""
    return _vmhwm_mb()


def _vmhwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def count_partition(path: str, index: int, count: int) -> dict[str, Any]:
    """Read + filter + build Posts for one partition; returns counts and this process's peak RSS."""
    report = CollectReport()
    posts = sum(1 for _ in dump_posts(Path(path), SCOPE, "salt", report, Partition(index, count), 0))
    return {"lines": report.read, "posts": posts, "malformed": report.malformed_total,
            "peak_rss_mb": peak_rss_mb()}


def measure_single(path: str) -> dict[str, Any]:
    start = time.perf_counter()
    result = count_partition(path, 0, 1)
    return {**result, "seconds": time.perf_counter() - start}


def measure_dask(path: str, workers: int) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        client.run(lambda: None)  # workers up before the clock starts
        parts = workers * 2
        start = time.perf_counter()
        futures = [client.submit(count_partition, path, k, parts, pure=False) for k in range(parts)]
        results = client.gather(futures)
        seconds = time.perf_counter() - start
    return {"lines": sum(r["lines"] for r in results), "posts": sum(r["posts"] for r in results),
            "seconds": seconds, "peak_rss_mb": peak_rss_mb(),
            "worker_peak_rss_mb": max(r["peak_rss_mb"] for r in results), "partitions": parts}


def make(path: Path, lines: int, window_log: int | None) -> Path:
    if not path.exists():
        print(f"generating {path.name} ({lines:,} lines)...", file=sys.stderr, flush=True)
        tmp = path.with_suffix(".part.zst")
        write_dump(tmp, (submission(i) for i in range(lines)), window_log=window_log)
        tmp.rename(path)
    return path


def child(args: list[str], python: str = sys.executable) -> dict[str, Any]:
    out = subprocess.run([python, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def datatrove_python(folder: Path) -> str | None:
    target = folder / DATATROVE_VENV
    python = target / "bin" / "python"
    if not python.exists():
        print("installing datatrove into a throwaway venv...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True).create(target)
        pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "datatrove", "zstandard", "orjson"],
                             capture_output=True, text=True, check=False)
        if pip.returncode != 0:
            print(f"datatrove could not be installed: {pip.stderr.strip()[-300:]}", file=sys.stderr)
            return None
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/valact-bench"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-datatrove", action="store_true")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        mode, path = args.measure
        result = measure_single(path) if mode == "single" else measure_dask(path, args.workers)
        print(json.dumps(result))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    files = {
        f"{args.small:,} lines, default window": make(args.dir / f"RS_{args.small}.zst", args.small, None),
        f"{args.lines:,} lines, default window": make(args.dir / f"RS_{args.lines}.zst", args.lines, None),
        f"{args.lines:,} lines, 2 GiB window": make(args.dir / f"RS_{args.lines}_w31.zst", args.lines, 31),
    }
    dt_python = None if args.no_datatrove else datatrove_python(args.dir)
    if dt_python:
        (args.dir / "dt_child.py").write_text(DATATROVE_CHILD)
    rows = []
    me = str(Path(__file__).resolve())
    for label, path in files.items():
        size = path.stat().st_size / 2**20
        single = child([me, "--measure", "single", str(path)])
        dask = child([me, "--measure", "dask", str(path), "--workers", str(args.workers)])
        datatrove = child([str(args.dir / "dt_child.py"), str(path)], dt_python) if dt_python else \
            {"error": "not installed"}
        rows.append({"file": label, "size_mb": round(size, 1), "valact_single": single, "valact_dask": dask,
                     "datatrove_jsonl_reader": datatrove})
        print(_line(label, size, single, dask, datatrove), flush=True)
    print(json.dumps(rows, indent=2))


def _rate(result: dict[str, Any], key: str) -> str:
    if "error" in result:
        return f"error: {result['error'][:60]}"
    return f"{result[key] / result['seconds']:>9,.0f}/s rss {result['peak_rss_mb']:>6.0f} MB"


def _line(label: str, size: float, single: dict[str, Any], dask: dict[str, Any], dt: dict[str, Any]) -> str:
    workers = f" workers {dask['worker_peak_rss_mb']:.0f} MB" if "worker_peak_rss_mb" in dask else ""
    return (f"{label:<32} {size:>7.1f} MB | single {_rate(single, 'lines')} | dask {_rate(dask, 'lines')}"
            f"{workers} | datatrove {_rate(dt, 'docs')}")


if __name__ == "__main__":
    main()
