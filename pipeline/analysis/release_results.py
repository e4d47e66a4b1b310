"""Attach an analysis to a release folder as a ``results`` config (``data/results.parquet``).

Every analysis table becomes rows of one long table (analysis, model, mode, domain, variant,
value, metric, number, n), so a reader gets all numbers with one
``load_dataset(folder, "results")``. The card's ``configs`` gain the entry and the manifest
the file, with the card's new checksum, so ``valact release verify`` still passes. Attaching
again replaces the previous results.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import yaml

from pipeline.hashing import sha256_hex
from pipeline.release.tables import parquet_bytes
from schemas.manifest import FileEntry, ReleaseManifest

RESULTS_CONFIG = "results"
RESULTS_FILE = "data/results.parquet"
RESULTS_SCHEMA = pa.schema(
    [("analysis", pa.string()), ("model", pa.string()), ("mode", pa.string()), ("domain", pa.string()),
     ("variant", pa.string()), ("value", pa.string()), ("metric", pa.string()), ("number", pa.float64()),
     ("n", pa.int64())]
)
KEYS = ("model", "mode", "domain", "variant", "value")
COUNT_COLUMNS = {"valid", "answers", "n_selection", "n_adoption", "n_selected", "scores", "questions",
                 "correct", "count", "invalid", "variants", "units"}
SECTION = "\n## Evaluation results\n"


def results_rows(tables: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Every numeric cell of every analysis table as one long-format row."""
    rows = []
    for analysis, table in sorted(tables.items()):
        numbers = [c for c in table.columns if c not in KEYS and pd.api.types.is_numeric_dtype(table[c])]
        extra_keys = [c for c in table.columns if c not in KEYS and c not in numbers]
        n_column = next((c for c in ("valid", "scores", "questions", "count", "answers") if c in table), None)
        for record in table.to_dict("records"):
            label = ":".join(str(record[k]) for k in extra_keys)
            for metric in numbers:
                value = record[metric]
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue
                rows.append({
                    "analysis": analysis, **{k: (str(record[k]) if k in record else None) for k in KEYS},
                    "metric": f"{label}:{metric}" if label else metric, "number": float(value),
                    "n": int(record[n_column]) if n_column and metric not in COUNT_COLUMNS else None,
                })
    return rows


def _card_with_config(card: str, models: list[str]) -> str:
    if not card.startswith("---\n"):
        raise ValueError("the release card has no YAML header")
    head, body = card[4:].split("\n---\n", 1)
    meta = yaml.safe_load(head)
    configs = [c for c in meta.get("configs", []) if c.get("config_name") != RESULTS_CONFIG]
    configs.append({"config_name": RESULTS_CONFIG, "data_files": [{"split": "train", "path": RESULTS_FILE}]})
    meta["configs"] = configs
    body = body.split(SECTION, 1)[0].rstrip("\n") + "\n"
    body += (f"{SECTION}\n`{RESULTS_CONFIG}` holds `valact analyze` results for: {', '.join(models)} "
             "(one row per number: analysis, model, mode, domain, prompt variant, value, metric).\n")
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n" + body


def attach_results(folder: Path, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Write the results table into the release, list it in the card and the manifest."""
    manifest_path = folder / "manifest.json"
    manifest = ReleaseManifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
    table = pa.Table.from_pylist(results_rows(tables), schema=RESULTS_SCHEMA)
    data = parquet_bytes(table)
    (folder / RESULTS_FILE).write_bytes(data)
    models = sorted(set(tables["answers"]["model"])) if "answers" in tables else []
    card = _card_with_config((folder / "README.md").read_text(encoding="utf-8"), models).encode("utf-8")
    (folder / "README.md").write_bytes(card)
    entries = {e.path: e for e in manifest.files}
    entries[RESULTS_FILE] = FileEntry(path=RESULTS_FILE, sha256=sha256_hex(data), bytes=len(data),
                                      rows=table.num_rows)
    entries["README.md"] = FileEntry(path="README.md", sha256=sha256_hex(card), bytes=len(card))
    manifest.files = [entries[p] for p in sorted(entries)]
    manifest_path.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return {"release": str(folder), "file": RESULTS_FILE, "rows": table.num_rows}
