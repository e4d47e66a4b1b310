"""The README's claims about the workspace and dump memory match the code and the measurements."""

from __future__ import annotations

import re
from pathlib import Path

from annotation.settings import report_dir, server_dir
from pipeline.collect.dumps import SHARD_FOLDER

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
BENCHMARKS = (REPO / "benchmarks" / "README.md").read_text(encoding="utf-8")


def _workspace_table() -> set[str]:
    start = README.index("A workspace is a folder")
    block = README[start:README.index("\n\n", README.index("| path |", start))]
    return {re.match(r"\| `([^`/]+)", row).group(1)  # type: ignore[union-attr]
            for row in block.splitlines() if row.startswith("| `")}


def test_workspace_is_not_one_file_and_every_entry_is_listed(tmp_path: Path) -> None:
    assert "a workspace is one copyable file" not in README
    written = {
        "valact.sqlite", "llm_cache.sqlite", ".author_salt", ".prefect", "logs", "releases", "hub",
        "evaluate", server_dir(tmp_path).name, report_dir(tmp_path, "p").parent.name, SHARD_FOLDER,
    }
    assert _workspace_table() == written


def test_dump_memory_claim_quotes_the_measurement() -> None:
    assert "constant memory" not in README
    dask_row = next(line for line in BENCHMARKS.splitlines() if line.startswith("| collect, dask 2 workers"))
    worker, driver = re.search(r"workers (\d+) \+", dask_row), re.search(r"driver (\d+) MB", dask_row)
    assert worker is not None and driver is not None
    assert f"{worker.group(1)} MB peak" in README and "2 GiB" in README
    assert f"{driver.group(1)} MB for 1, 2 and 4 months" in README
