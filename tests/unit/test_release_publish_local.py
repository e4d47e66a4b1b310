"""The build flow's stage 6 (``publish_local``) on the shared release code."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.release.folder import ReleaseExistsError
from pipeline.release.verify import verify_folder
from pipeline.stages.publish import publish_local
from schemas.records import Question
from tests.support.release_data import change_actions, make_workspace


def test_publish_local_writes_a_verifiable_release_and_is_idempotent(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    ctx = StageContext.open(load_config("demo", workspace=str(workspace)))
    try:
        first = publish_local(ctx)
        assert first.changed and first.path == workspace.resolve() / "releases" / "valact-demo" / "0.1.0"
        assert verify_folder(first.path).ok
        assert not (first.path / "CHANGELOG.md").exists()
        assert publish_local(ctx).changed is False
        change_actions(ctx.store, [sorted(ctx.store.ids(Question))[0]])
        with pytest.raises(ReleaseExistsError):
            publish_local(ctx)
        assert publish_local(ctx, overwrite=True).changed
        assert ctx.store.get_meta("last_release")["version"] == "0.1.0"
    finally:
        ctx.close()
