"""``valact release ...`` and ``valact import valact-original`` end to end, Prefect flows included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.support.hub_server import HubServer
from tests.support.release_data import declare, make_workspace

pytestmark = pytest.mark.integration
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
REFERENCE_LOG = REFERENCE / "grok_result_exp_default_reddit.txt"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_build_publish_verify_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = make_workspace(tmp_path)
    releases = tmp_path / "releases"
    declare(releases, "0.1.0", workspace)
    code, out, err = run("release", "build", "0.1.0", "--releases-dir", str(releases), "--json")
    assert code == 0, err
    folder = Path(json.loads(out)["path"])

    code, out, _ = run("release", "publish", "0.1.0", "--releases-dir", str(releases), "--dry-run", "--json")
    assert code == 0 and "data/questions.parquet" in {f["path"] for f in json.loads(out)["files"]}
    assert not (releases / "0.1.0.manifest.json").exists()

    with HubServer(token="hf_cli") as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", "hf_cli")
        args = ("release", "publish", "0.1.0", "--releases-dir", str(releases), "--to", "hf://org/set",
                "--json")
        code, out, err = run(*args)
        assert code == 0, err
        assert json.loads(out)["tag"] == "v0.1.0" and "hf_cli" not in out
        assert (releases / "0.1.0.manifest.json").is_file()
        code, _, err = run(*args)
        assert code == 2 and "already has tag v0.1.0" in err  # a fatal error, not a finding

    code, out, err = run("release", "publish", "0.1.0", "--releases-dir", str(releases),
                         "--repo", str(tmp_path / "hubrepo"), "--json")
    assert code == 0 and json.loads(out)["tag"] == "v0.1.0", err

    code, out, _ = run("release", "verify", str(folder), "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = run("release", "diff", str(folder), "0.1.0", "--releases-dir", str(releases), "--json")
    assert code == 0 and all(not t["changed"] for t in json.loads(out)["tables"].values())

    target = folder / "data" / "scenarios.parquet"
    data = bytearray(target.read_bytes())
    data[-20] ^= 0xFF
    target.write_bytes(bytes(data))
    code, _, err = run("release", "verify", str(folder))
    assert code == 1 and "data/scenarios.parquet: checksum mismatch" in err


def test_missing_declaration_fails_readably(tmp_path: Path) -> None:
    code, _, err = run("release", "build", "9.9.9", "--releases-dir", str(tmp_path))
    assert code == 2 and "no declaration" in err  # a configuration error


@pytest.mark.skipif(not REFERENCE_LOG.is_file(), reason="reference files not available")
def test_import_reports_single_model_pairs(tmp_path: Path) -> None:
    code, out, err = run("import", "valact-original", "--questions", str(REFERENCE_LOG),
                         "--workspace", str(tmp_path / "ws"), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["scenarios"], report["questions"], report["single_model_value_pairs"]) == (300, 1500, 1478)
    assert "1478 of 3000 value pairs" in err
