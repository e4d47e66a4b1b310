"""Prefect gets valact's settings even though it reads them only once, at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.valact_cli import ROOT, fresh_env

SETTINGS = """
import json, sys
from pathlib import Path
{before}
from flows.prefect_env import configure_prefect
configure_prefect(Path(sys.argv[1]))
from prefect.settings import get_current_settings
s = get_current_settings()
print(json.dumps({{"home": str(s.home), "timeout": s.server.ephemeral.startup_timeout_seconds,
                  "analytics": s.server.analytics_enabled, "api_url": s.api.url}}))
"""


def _settings(tmp_path: Path, before: str, **env: str) -> dict[str, object]:
    script = SETTINGS.format(before=before)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ws")], capture_output=True,
                            text=True, cwd=ROOT, env=fresh_env(tmp_path / "home", **env), timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_settings_apply_when_prefect_is_imported_after(tmp_path: Path) -> None:
    settings = _settings(tmp_path, before="")
    assert settings["home"] == str((tmp_path / "ws" / ".prefect").resolve())
    assert settings["timeout"] == 600
    assert settings["analytics"] is False
    assert settings["api_url"] is None  # no valact server: Prefect's ephemeral one


def test_settings_apply_even_when_prefect_was_imported_first(tmp_path: Path) -> None:
    settings = _settings(tmp_path, before="import prefect")
    assert settings["home"] == str((tmp_path / "ws" / ".prefect").resolve())
    assert settings["timeout"] == 600


def test_what_the_user_exported_wins(tmp_path: Path) -> None:
    settings = _settings(tmp_path, before="", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="77",
                         PREFECT_API_URL="http://127.0.0.1:9/api")
    assert settings["timeout"] == 77
    assert settings["api_url"] == "http://127.0.0.1:9/api"
    assert "PREFECT_API_URL" not in os.environ  # the probe ran in its own process
