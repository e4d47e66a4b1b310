"""Dump ingest on real-shaped data: the plain loop, valact's reader, `valact collect` in one
process and over Dask, and datatrove's JsonlReader, in one run.

    .venv/bin/python benchmarks/dump_read.py           # 40,000 posts in 2 monthly files (a few minutes)
    .venv/bin/python benchmarks/dump_read.py --full    # 300,000 posts, as in issue 13

Monthly files of Pushshift-shaped submissions (~80 fields, 50-400-word bodies, 20% of the
posts in the paper's 17 subreddits) are written once under --dir with a 2 GiB zstd window,
as real dumps are. Every measurement runs in a fresh process, so a peak RSS (VmHWM) belongs
to that process alone:

- plain loop: zstandard stream reader -> io.BufferedReader lines -> orjson -> the same scope
  check (subreddit, date), counting kept posts; the yardstick for valact's reader;
- valact reader: ``read_part`` of every file (read, scope check, Post for each kept line), as
  collect runs it in one process: decompression a few chunks ahead in a second thread;
- both again with a scope nothing is in: every line read and checked, no Post built, which
  separates the reading itself from the cost of the kept posts' records;
- `valact collect` (the CLI, Prefect included) into a fresh workspace: one process, then
  ``--runner dask://`` against a scheduler and 2 one-thread workers started here as separate
  processes (so their peak RSS can be read), warmed up by importing the dump reader once;
  the rate uses the flow's own ``seconds`` (Prefect's start-up excluded), and the driver's
  RSS is the CLI process's; CPU seconds are the driver's (the flow's ``cpu_seconds``) and the
  workers' (``parts_cpu_seconds``: each part's reading and decompressing threads), and when
  the workers had read every part (``parts_read_seconds``: the rest is the driver storing the
  last parts); then the same with 1 worker;
- a worker's reading without Dask: each file read into a shard as a worker reads it, both
  files in one process, then one file in each of 2 processes at once (how the reading
  itself scales over the machine's cores, with no scheduler, Prefect or driver);
- the driver's RSS of the Dask collect over 1, 2 and 4 files (each file the same size);
- datatrove's JsonlReader (installed into a throwaway venv, not a valact dependency) on the
  first file; it cannot open the 2 GiB window, nor read Reddit's ``"media": null`` field, so
  it then reads a default-window copy without that field, next to the plain loop on that copy.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.collect.dumps import DumpScan, read_part, read_part_to_shard  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.sources.dump import MAX_ZSTD_WINDOW, whole_file  # noqa: E402
from pipeline.sources.scope import Scope  # noqa: E402
from tests.support.dask_cluster import dask_cluster, peak_rss_mb  # noqa: E402
from tests.support.dumps import realistic_submission, write_dump  # noqa: E402

PROFILE = "default"
SCOPE = Scope.from_config(load_config(PROFILE, None, None))
NOTHING = Scope(frozenset({"no-such-subreddit"}), SCOPE.start_ts, SCOPE.end_ts)  # every line read, none kept
SUBREDDITS = tuple(sorted(SCOPE.subreddits or ()))
REPEATS = 3
DATATROVE_VENV = "datatrove-venv"
DATATROVE_CHILD = """
import json, sys, time
from datatrove.pipeline.readers import JsonlReader
path = sys.argv[1]
folder, name = path.rsplit("/", 1)
start = time.perf_counter()
n = 0
reader = JsonlReader(folder, glob_pattern=name, text_key="selftext", id_key="id", compression="zstd")
for _doc in reader.run():
    n += 1
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
rss = int(hwm.split()[1]) / 1024
print(json.dumps({"lines": n, "kept": n, "seconds": time.perf_counter() - start, "peak_rss_mb": rss}))
"""


READER_ROWS = {  # measure mode -> (row key, label)
    "plain": ("plain loop", "plain loop (2 files)"),
    "valact": ("valact reader", "valact reader (2 files)"),
    "plain-none": ("plain loop, nothing kept", "plain loop, nothing in scope (2 files)"),
    "valact-none": ("valact reader, nothing kept", "valact reader, nothing in scope (2 files)"),
}


def month_start(index: int) -> int:
    """Epoch seconds of the first day of the ``index``-th month from 2021-01."""
    return int(datetime(2021 + index // 12, index % 12 + 1, 1, tzinfo=UTC).timestamp())


def make_month(folder: Path, index: int, posts: int, window_log: int | None) -> Path:
    """One monthly dump (generated once; the name says its size and window)."""
    suffix = f"w{window_log}" if window_log else "wdefault"
    path = folder / f"RS_2021-{index + 1:02d}_{posts}_{suffix}.zst"
    if not path.exists():
        print(f"generating {path.name}...", file=sys.stderr, flush=True)
        rng = random.Random(index)
        records = (realistic_submission(index * 10_000_000 + n, rng, month_start(index), SUBREDDITS)
                   for n in range(posts))
        tmp = path.with_suffix(".part")
        write_dump(tmp.with_suffix(".zst"), records, window_log=window_log)
        tmp.with_suffix(".zst").rename(path)
    return path


# --- measurements, each run in its own process -------------------------------------------------


def plain_loop(paths: list[str], scope: Scope = SCOPE) -> dict[str, Any]:
    """The yardstick: stream reader, buffered lines, orjson, the same scope check."""
    import orjson
    import zstandard

    subs, start_ts, end_ts = scope.subreddits or frozenset(), scope.start_ts, scope.end_ts
    lines = kept = 0
    started, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        with open(path, "rb") as raw:
            dctx = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
            reader = io.BufferedReader(dctx.stream_reader(raw, read_across_frames=True), 1 << 20)
            for line in reader:
                data = orjson.loads(line)
                lines += 1
                if data["subreddit"].lower() in subs and start_ts <= int(data["created_utc"]) <= end_ts:
                    kept += 1
    return {"lines": lines, "kept": kept, "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu}


def valact_reader(paths: list[str], scope: Scope = SCOPE) -> dict[str, Any]:
    """valact's dump reader as collect runs it, without the store."""
    scan = DumpScan(scope, "bench-salt", 0)
    lines = kept = 0
    started, cpu = time.perf_counter(), time.process_time()

    def count(posts: list[Any]) -> None:
        nonlocal kept
        kept += len(posts)

    for index, path in enumerate(paths):
        result = read_part(whole_file(Path(path), index), scan, count)
        lines += result.report.read
    return {"lines": lines, "kept": kept, "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu}


def worker_reader(paths: list[str]) -> dict[str, Any]:
    """What a Dask worker does with each file: read it into a shard, decompressing in its own thread."""
    scan = DumpScan(SCOPE, "bench-salt", 0)
    lines = kept = 0
    started, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as shards:
        for index, path in enumerate(paths):
            result = read_part_to_shard(whole_file(Path(path), index), scan, shards, prefetch=False)
            lines, kept = lines + result.report.read, kept + result.posts
    return {"lines": lines, "kept": kept, "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu}


def workers_at_once(paths: list[Path]) -> dict[str, Any]:
    """``worker_reader`` of each file in its own process, all at once: how the reading itself
    scales over this machine's cores, without Dask, Prefect or the driver's store."""
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--measure", "worker", str(path)], text=True,
                              stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
             for path in paths]
    results = [json.loads(proc.communicate()[0].strip().splitlines()[-1]) for proc in procs]
    return {"lines": sum(r["lines"] for r in results), "kept": sum(r["kept"] for r in results),
            "seconds": time.perf_counter() - started, "cpu_seconds": sum(r["cpu_seconds"] for r in results),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results)}


def kept_post_cost(path: str, lines: int = 20_000, repeats: int = 15) -> dict[str, Any]:
    """What a kept post costs the reader, without the noise of decompression: the first ``lines``
    lines of ``path``, decompressed into memory once, scanned as the reader gets them (spans of
    one decompressed chunk) with the project's scope and with one that keeps nothing, alternately;
    the best CPU time of each, the difference divided by the kept posts."""
    from pipeline.collect.posts import CollectReport
    from pipeline.sources.dump import PartLines, Span

    spans: list[Span] = []
    count = 0
    for text, start, end in PartLines(whole_file(Path(path))).spans():
        spans.append(Span(bytes(text), start, end))
        count += text.count(b"\n", start, end)
        if count >= lines:
            break

    def scan(scope: Scope) -> tuple[float, int]:
        reader, report, line_no, kept = DumpScan(scope, "bench-salt", 0), CollectReport(), 0, 0
        cpu = time.process_time()
        for span in spans:
            posts, line_no = reader.scan_span(span, line_no, "bench", report)
            kept += len(posts)
        return time.process_time() - cpu, kept

    best = {"in scope": float("inf"), "nothing": float("inf")}
    kept = 0
    for _ in range(repeats):
        seconds, kept = scan(SCOPE)
        best["in scope"] = min(best["in scope"], seconds)
        best["nothing"] = min(best["nothing"], scan(NOTHING)[0])
    return {"lines": count, "kept": kept, "seconds_in_scope": best["in scope"],
            "seconds_nothing": best["nothing"], "us_per_line": best["nothing"] / count * 1e6,
            "us_per_kept_post": (best["in scope"] - best["nothing"]) / kept * 1e6}


def collect_cli(out: str, args: list[str]) -> None:
    """Run `valact collect ARGS` in this process; its own peak RSS goes to ``out``."""
    from flows.cli import main

    sys.argv = ["valact", "collect", *args]
    try:
        main()
    except SystemExit as exc:
        if exc.code:
            raise
    finally:
        Path(out).write_text(json.dumps({"peak_rss_mb": peak_rss_mb(os.getpid())}))


def child(args: list[str], python: str = sys.executable) -> dict[str, Any]:
    """Run a measurement in a fresh process; its last stdout line is its JSON result."""
    out = subprocess.run([python, *args], capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(mode: str, paths: list[Path]) -> dict[str, Any]:
    """One reader measurement in a fresh process."""
    return child([__file__, "--measure", mode, *map(str, paths)])


def collect(folder: Path, paths: list[Path], runner: str, cluster: Any = None) -> dict[str, Any]:
    """`valact collect` over ``paths`` into a fresh workspace, with its driver's (and workers') RSS."""
    workspace = folder / f"ws-{runner.split(':')[0]}-{len(paths)}-{time.monotonic_ns()}"
    rss_file = folder / "collect-rss.json"
    args = ["--profile", PROFILE, "--workspace", str(workspace), "--runner", runner, "--json"]
    for path in paths:
        args += ["--dump", str(path)]
    run = subprocess.run([sys.executable, __file__, "--collect", str(rss_file), *args], capture_output=True,
                         text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                      "VALACT_AUTHOR_SALT": "bench-salt"})
    if run.returncode != 0:
        return {"error": (run.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    report = json.loads(run.stdout[run.stdout.index("{"):])["dumps"]
    result = {"lines": report["read"], "kept": report["stored_new_or_changed"], "seconds": report["seconds"],
              "cpu_seconds": report["cpu_seconds"],
              "peak_rss_mb": json.loads(rss_file.read_text())["peak_rss_mb"]}
    if cluster is not None:
        result["worker_peak_rss_mb"] = [round(x) for x in cluster.worker_peak_rss_mb()]
        result["parts_cpu_seconds"] = report["parts_cpu_seconds"]
        result["parts_read_seconds"] = report["parts_read_seconds"]
    return result


def collect_dask(folder: Path, paths: list[Path], workers: int) -> dict[str, Any]:
    """The Dask collect against a fresh scheduler and ``workers`` worker processes."""
    from distributed import Client

    with dask_cluster(workers, env={"PYTHONPATH": str(ROOT)}) as cluster:
        with Client(cluster.address) as client:  # type: ignore[no-untyped-call]
            client.run(importlib.import_module, "pipeline.collect.dumps")  # a warm cluster, as in use
        return collect(folder, paths, cluster.runner, cluster)


def datatrove_copy(path: Path) -> Path:
    """``path`` without Reddit's ``"media": null`` field, which datatrove's JsonlReader cannot read
    (it iterates ``media`` when the key is present); same lines otherwise, default window."""
    import zstandard

    target = path.with_name(path.stem + "_nomedia.zst")
    if not target.exists():
        with path.open("rb") as raw, target.open("wb") as out:
            reader = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW).stream_reader(raw)
            with zstandard.ZstdCompressor(level=3).stream_writer(out) as writer:
                for line in io.BufferedReader(reader, 1 << 20):
                    writer.write(line.replace(b'"media": null, ', b"", 1))
    return target


def datatrove_python(folder: Path) -> str | None:
    """The throwaway venv's python with datatrove, installed on first use; None if impossible."""
    target = folder / DATATROVE_VENV
    python = target / "bin" / "python"
    installed = python.exists() and subprocess.run([str(python), "-c", "import datatrove"],
                                                   capture_output=True, check=False).returncode == 0
    if not installed:
        print("installing datatrove into a throwaway venv...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(target)
        pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "datatrove", "zstandard", "orjson"],
                             capture_output=True, text=True, check=False)
        if pip.returncode != 0:
            print(f"datatrove could not be installed: {pip.stderr.strip()[-300:]}", file=sys.stderr)
            return None
    return str(python)


# --- report ----------------------------------------------------------------------------------------


def rate(result: dict[str, Any]) -> float:
    """Lines per second (0 when the measurement failed)."""
    return result["lines"] / result["seconds"] if result.get("seconds") else 0.0


def show(label: str, result: dict[str, Any]) -> None:
    """One line of the table."""
    if "error" in result:
        print(f"{label:<44} error: {result['error']}", flush=True)
        return
    workers = f" workers {result['worker_peak_rss_mb']} MB" if "worker_peak_rss_mb" in result else ""
    cpu = f"  cpu {result['cpu_seconds']:.2f} s" if "cpu_seconds" in result else ""
    if "parts_cpu_seconds" in result:
        cpu += (f" (workers {result['parts_cpu_seconds']:.2f} s;"
                f" all read at {result['parts_read_seconds']:.2f} s)")
    print(f"{label:<44} {rate(result):>9,.0f} lines/s  {result['seconds']:>7.2f} s{cpu}  "
          f"kept {result['kept']:>7,}  rss {result['peak_rss_mb']:>5.0f} MB{workers}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=40_000, help="posts over the 2 monthly files")
    parser.add_argument("--full", action="store_true", help="300,000 posts (issue 13's scale)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/valact-bench"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs of each reader (median kept)")
    parser.add_argument("--no-datatrove", action="store_true")
    parser.add_argument("--no-collect", action="store_true", help="readers (and datatrove) only")
    parser.add_argument("--no-rss-scaling", action="store_true", help="skip the 1/2/4-file driver RSS runs")
    parser.add_argument("--measure", nargs="+", metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--collect", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure and args.measure[0] == "kept-cost":
        print(json.dumps(kept_post_cost(args.measure[1])))
        return
    if args.measure:
        mode, *paths = args.measure
        scope = NOTHING if mode.endswith("-none") else SCOPE
        if mode == "worker":
            result = worker_reader(paths)
        else:
            result = plain_loop(paths, scope) if mode.startswith("plain") else valact_reader(paths, scope)
        print(json.dumps({**result, "peak_rss_mb": peak_rss_mb(os.getpid())}))
        return
    if args.collect:
        collect_cli(args.collect[0], args.collect[1:])
        return
    posts = 300_000 if args.full else args.posts
    per_file = posts // 2
    args.dir.mkdir(parents=True, exist_ok=True)
    files = [make_month(args.dir, k, per_file, 31) for k in range(2)]
    size = sum(f.stat().st_size for f in files) / 2**20
    print(f"{posts:,} posts in 2 files, {size:.1f} MB compressed (2 GiB window); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    rows: dict[str, dict[str, Any]] = {}
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in READER_ROWS}
    for _ in range(args.repeats):  # alternate, so all see the same background load
        for mode in READER_ROWS:
            runs[mode].append(measure(mode, files))
    for mode, (key, label) in READER_ROWS.items():
        rows[key] = _median(runs[mode])
        show(label, rows[key])
    paired = paired_ratios(runs)
    for name, value in paired.items():
        print(f"{name:<60} {value}", flush=True)
    cost = child([__file__, "--measure", "kept-cost", str(files[0])])
    if "error" not in cost:
        print(f"kept post cost (in memory, {cost['lines']:,} lines, {cost['kept']:,} kept): "
              f"{cost['us_per_kept_post']:.2f} us a kept post, {cost['us_per_line']:.2f} us a line read",
              flush=True)
    rows["worker reading"] = measure("worker", files)
    show("worker reading (to shards), 2 files, one process", rows["worker reading"])
    rows["worker reading at once"] = workers_at_once(files)
    show("worker reading, 1 file each in 2 processes", rows["worker reading at once"])
    if not args.no_collect:
        rows["collect single"] = collect(args.dir, files, "thread")
        show("valact collect, one process (2 files)", rows["collect single"])
        rows["collect dask"] = collect_dask(args.dir, files, args.workers)
        show(f"valact collect, dask {args.workers} workers (2 files)", rows["collect dask"])
        rows["collect dask 1 worker"] = collect_dask(args.dir, files, 1)
        show("valact collect, dask 1 worker (2 files)", rows["collect dask 1 worker"])
    if not args.no_collect and not args.no_rss_scaling:
        more = [*files, *(make_month(args.dir, k, per_file, 31) for k in range(2, 4))]
        for count in (1, 4):
            key = f"collect dask {count} files"
            rows[key] = collect_dask(args.dir, more[:count], args.workers)
            show(f"valact collect, dask ({count} file{'s' if count > 1 else ''})", rows[key])
    if not args.no_datatrove and (python := datatrove_python(args.dir)):
        script = args.dir / "dt_child.py"
        script.write_text(DATATROVE_CHILD)
        rows["datatrove (2 GiB window)"] = child([str(script), str(files[0])], python)
        show("datatrove JsonlReader (file 1, 2 GiB window)", rows["datatrove (2 GiB window)"])
        if "error" in rows["datatrove (2 GiB window)"]:
            copy = datatrove_copy(make_month(args.dir, 0, per_file, None))
            rows["datatrove"] = child([str(script), str(copy)], python)
            rows["plain loop (default window)"] = measure("plain", [copy])
            show("datatrove JsonlReader (file 1, default window)", rows["datatrove"])
            show("plain loop (file 1, default window)", rows["plain loop (default window)"])
    print(json.dumps({"posts": posts, "ratios": {**ratios(rows), **paired}, "kept post cost": cost,
                      "rows": rows, "reader runs": runs}, indent=2))


def paired_ratios(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Reader vs plain loop per repeat (runs next to each other share the background load):
    [median, min, max] over the repeats. On a shared machine the median rows alone can pair a
    quiet run with a busy one."""
    out: dict[str, Any] = {}
    for suffix in ("", "-none"):
        for unit in ("seconds", "cpu_seconds"):
            plain, valact = runs["plain" + suffix], runs["valact" + suffix]
            pairs = [p[unit] / v[unit] for p, v in zip(plain, valact, strict=True) if unit in p and unit in v]
            if pairs:
                kind = "cpu" if unit == "cpu_seconds" else "wall"
                name = f"valact reader / plain loop{', nothing kept' if suffix else ''} ({kind}, per repeat)"
                out[name] = [round(statistics.median(pairs), 3), round(min(pairs), 3), round(max(pairs), 3)]
    return out


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in runs if "error" not in r] or runs
    median = statistics.median(r.get("seconds", 0) for r in good)
    return min(good, key=lambda r: abs(r.get("seconds", 0) - median))


def ratios(rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The figures issue 13 asks for."""
    out: dict[str, float] = {}
    pairs = {
        "valact reader / plain loop": ("valact reader", "plain loop"),
        "valact reader / plain loop, nothing kept": ("valact reader, nothing kept",
                                                     "plain loop, nothing kept"),
        "collect dask / collect single": ("collect dask", "collect single"),
        "collect dask 2 workers / 1 worker": ("collect dask", "collect dask 1 worker"),
        "worker reading, 2 processes / 1": ("worker reading at once", "worker reading"),
        "datatrove / plain loop (same file)": ("datatrove", "plain loop (default window)"),
    }
    for name, (a, b) in pairs.items():
        if rate(rows.get(a, {})) and rate(rows.get(b, {})):
            out[name] = round(rate(rows[a]) / rate(rows[b]), 3)
    for suffix in ("", ", nothing kept"):
        reader, plain = rows.get("valact reader" + suffix, {}), rows.get("plain loop" + suffix, {})
        if reader.get("cpu_seconds") and plain.get("cpu_seconds"):  # what a busy machine cannot blur
            out[f"valact reader / plain loop{suffix} (cpu time)"] = round(
                plain["cpu_seconds"] / reader["cpu_seconds"], 3)
    two, one = rows.get("collect dask", {}), rows.get("collect dask 1 worker", {})
    if two.get("parts_read_seconds") and one.get("parts_read_seconds"):  # the reading, before the last store
        out["dask reading, 2 workers / 1 worker"] = round(
            one["parts_read_seconds"] / two["parts_read_seconds"], 3)
    scaling = ("collect dask 1 files", "collect dask", "collect dask 4 files")
    drivers = [rows[k]["peak_rss_mb"] for k in scaling if "peak_rss_mb" in rows.get(k, {})]
    if len(drivers) == 3:
        out["driver rss spread 1/2/4 files"] = round(max(drivers) / min(drivers) - 1, 3)
    return out


if __name__ == "__main__":
    main()
