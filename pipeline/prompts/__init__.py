"""Prompts live in versioned TOML files next to this module; their hash is in every call."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pipeline.hashing import sha256_hex


@dataclass(frozen=True)
class Prompt:
    """A named, versioned prompt: a system message and a user template."""

    name: str
    version: str
    system: str
    user: str
    hash: str

    def messages(self, **variables: str) -> list[dict[str, str]]:
        """Chat messages with the variables filled into the user template."""
        return [
            {"role": "system", "content": self.system.strip()},
            {"role": "user", "content": self.user.strip().format(**variables)},
        ]


@cache
def load_prompt(name: str) -> Prompt:
    """Read ``<name>.toml``; the hash covers its whole text, so any edit changes it."""
    path = resources.files("pipeline.prompts") / f"{name}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"no prompt file {name}.toml in pipeline/prompts")
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return Prompt(
        name=data["name"],
        version=str(data["version"]),
        system=data["system"],
        user=data["user"],
        hash=f"{data['version']}-{sha256_hex(text)[:10]}",
    )
