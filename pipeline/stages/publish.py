"""Stage 6, publish: write a release folder shaped like a Hub dataset repository.

``data/<table>.parquet`` per table, a ``README.md`` dataset card whose ``configs`` make
``datasets.load_dataset(folder, "questions")`` work, and ``manifest.json`` with the sha256
of every file. The folder is written beside its final place and renamed in, so a crash never
leaves half a release; rebuilding identical content leaves the existing release untouched.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pipeline.card import CardInputs, render_card
from pipeline.config import config_hash
from pipeline.context import StageContext
from pipeline.hashing import sha256_hex
from pipeline.prompts import load_prompt
from pipeline.tables import candidates_table, parquet_bytes, questions_table, scenarios_table
from schemas.manifest import FileEntry, ReleaseManifest
from schemas.records import ActionCandidate, LLMCall, Question, Scenario

MANIFEST = "manifest.json"


class ReleaseExistsError(Exception):
    """A release with this version exists and holds different content."""


@dataclass
class PublishResult:
    """Where the release is and whether this run changed it."""

    path: Path
    changed: bool
    manifest: ReleaseManifest


def code_version() -> str:
    """The installed valact version."""
    try:
        return version("valact")
    except PackageNotFoundError:
        return "unknown"


def release_dir(ctx: StageContext) -> Path:
    """``<workspace>/releases/<name>/<version>``."""
    pub = ctx.config.publish
    return ctx.workspace / "releases" / pub.name / pub.version


def _release_files(ctx: StageContext) -> tuple[dict[str, bytes], dict[str, int], dict[str, object]]:
    store = ctx.store
    scenarios_all = {s.id: s for s in store.all(Scenario)}
    questions = store.all(Question)
    used_scenarios = sorted({q.scenario_id for q in questions})
    scenarios = [scenarios_all[sid] for sid in used_scenarios]
    used_candidates = {o.candidate_id for q in questions for o in q.options}
    candidates = [c for c in store.all(ActionCandidate) if c.id in used_candidates]
    calls = store.all(LLMCall)
    models: dict[str, str] = {}
    for call in calls:
        if call.served_model:
            models.setdefault(call.model_alias, call.served_model)
    warnings = Counter(w for c in candidates for w in c.warnings)
    scrubbed: Counter[str] = Counter()
    tables = {
        "questions": questions_table(questions, scenarios_all),
        "scenarios": scenarios_table(scenarios, ctx.config.publish.text_policy, scrubbed),
        "candidates": candidates_table(candidates),
    }
    files = {f"data/{name}.parquet": parquet_bytes(table) for name, table in tables.items()}
    rows = {f"data/{name}.parquet": table.num_rows for name, table in tables.items()}
    prompts = {name: load_prompt(name).hash for name in ("screen", "generate")}
    card = render_card(
        CardInputs(
            config=ctx.config, questions=questions, scenarios=scenarios, candidates=candidates,
            models=models, prompts=prompts, warnings=dict(warnings), scrubbed=dict(scrubbed),
            cost_usd=sum(c.cost_usd for c in calls),
        )
    )
    files["README.md"] = card.encode("utf-8")
    extra = {"models": models, "prompts": prompts, "warnings": dict(warnings),
             "counts": {"scenarios": len(scenarios), "questions": len(questions),
                        "candidates": len(candidates)}}
    return files, rows, extra


def publish_local(ctx: StageContext, overwrite: bool = False) -> PublishResult:
    """Write (or confirm unchanged) the release folder for the configured version."""
    files, rows, extra = _release_files(ctx)
    entries = [
        FileEntry(path=path, sha256=sha256_hex(data), bytes=len(data), rows=rows.get(path))
        for path, data in sorted(files.items())
    ]
    target = release_dir(ctx)
    existing = _read_manifest(target)
    pub = ctx.config.publish
    if existing is not None and existing.files == entries:
        _remember(ctx, target)
        return PublishResult(target, changed=False, manifest=existing)
    if existing is not None and not overwrite:
        raise ReleaseExistsError(
            f"release {ctx.config.publish.name} {ctx.config.publish.version} already exists at {target} "
            "with different content; bump [publish].version or pass --overwrite"
        )
    manifest = ReleaseManifest(
        name=pub.name, version=pub.version, text_policy=pub.text_policy,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"), code_version=code_version(),
        config_hash=config_hash(ctx.config), profile=ctx.config.profile,
        counts=extra["counts"], models=extra["models"], prompts=extra["prompts"],  # type: ignore[arg-type]
        files=entries, warnings=extra["warnings"],  # type: ignore[arg-type]
    )
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for path, data in files.items():
        out = staging / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    _remember(ctx, target)
    return PublishResult(target, changed=True, manifest=manifest)


def _remember(ctx: StageContext, target: Path) -> None:
    pub = ctx.config.publish
    ctx.store.set_meta("last_release", {"path": str(target), "version": pub.version, "name": pub.name})


def _read_manifest(folder: Path) -> ReleaseManifest | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    return ReleaseManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
