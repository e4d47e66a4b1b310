from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.release.declarations import (
    DeclarationError,
    declared_versions,
    load_declaration,
    previous_version,
)
from schemas.release import ReleaseDeclaration, semver_key


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text(text, encoding="utf-8")


def test_declaration_reads_policy_license_and_source(tmp_path: Path) -> None:
    write(tmp_path, "1.2.0", 'text_policy = "full"\nlicense = "cc-by-nc-4.0"\n[source]\nprofile = "demo"\n')
    decl = load_declaration(tmp_path, "1.2.0")
    assert (decl.version, decl.text_policy, decl.license, decl.source.profile) == ("1.2.0", "full",
                                                                                  "cc-by-nc-4.0", "demo")
    assert decl.tag == "v1.2.0"


def test_masked_is_the_default_text_policy() -> None:
    assert ReleaseDeclaration(version="0.1.0").text_policy == "masked"


@pytest.mark.parametrize("text, needle", [
    ('version = "2.0.0"\n', "declares version 2.0.0"),
    ('text_polcy = "full"\n', "text_polcy"),
    ('text_policy = "everything"\n', "text_policy"),
    ("version = \n", "invalid TOML"),
])
def test_bad_declarations_say_what_is_wrong(tmp_path: Path, text: str, needle: str) -> None:
    write(tmp_path, "1.0.0", text)
    with pytest.raises(DeclarationError, match=needle):
        load_declaration(tmp_path, "1.0.0")


def test_missing_declaration_lists_the_known_versions(tmp_path: Path) -> None:
    write(tmp_path, "0.1.0", "")
    with pytest.raises(DeclarationError, match=r"declared versions: 0\.1\.0"):
        load_declaration(tmp_path, "0.2.0")


def test_versions_sort_semantically(tmp_path: Path) -> None:
    for v in ("0.10.0", "0.2.0", "0.2.0-rc.1", "1.0.0"):
        write(tmp_path, v, "")
    write(tmp_path, "README", "")
    assert declared_versions(tmp_path) == ["0.2.0-rc.1", "0.2.0", "0.10.0", "1.0.0"]
    assert previous_version("0.10.0", declared_versions(tmp_path)) == "0.2.0"
    assert previous_version("0.2.0-rc.1", declared_versions(tmp_path)) is None


def test_non_semver_is_rejected() -> None:
    with pytest.raises(ValueError, match="semantic version"):
        semver_key("1.0")
