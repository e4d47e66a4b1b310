"""Personal details in a post's title never reach a release, not even through its URL slug."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.release.build import build_release
from pipeline.release.verify import verify_folder
from pipeline.store import open_store
from schemas.records import Scenario
from tests.support.release_data import declare, make_workspace

TITLE = "call me 555 867 5309"
SLUG_URL = "https://www.reddit.com/r/careerguidance/comments/p000/call_me_555_867_5309/"


def _release_text(folder: Path) -> str:
    texts = [p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.suffix in {".md", ".json"}]
    texts += [json.dumps(pq.read_table(t).to_pylist()) for t in folder.glob("data/*.parquet")]
    return "\n".join(texts)


@pytest.mark.parametrize("policy", ["masked", "full"])
def test_phone_in_title_leaves_neither_title_nor_url(tmp_path: Path, policy: str) -> None:
    workspace = make_workspace(tmp_path)
    store = open_store(workspace)
    try:
        first = sorted(store.all(Scenario), key=lambda s: s.id)[0]
        store.put([first.model_copy(update={"title": TITLE, "url": SLUG_URL})])
    finally:
        store.close()
    declare(tmp_path / "releases", "0.1.0", workspace, text_policy=policy)
    folder = build_release(tmp_path / "releases", "0.1.0").release.path
    blob = _release_text(folder)
    for piece in ("555 867 5309", "867 5309", "867_5309", "call_me"):
        assert piece not in blob, piece
    rows = {r["post_id"]: r for r in pq.read_table(folder / "data" / "scenarios.parquet").to_pylist()}
    assert rows[first.post_id]["url"] == f"https://www.reddit.com/comments/{first.post_id}/"
    assert rows[first.post_id]["title"] == "call me [phone]"
    assert "rebuilt from the post id" in (folder / "README.md").read_text(encoding="utf-8")
    assert verify_folder(folder).ok
