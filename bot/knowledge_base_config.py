"""The `[kb.NAME]` tables of the config file: named corpora, each with its own index, and where in Discord
each one answers.

```toml
[kb.docs]
corpus = "docs/"
channels = [123456789012345678]     # these channels (and their threads) answer from docs/
[kb.handbook]
corpus = "handbook/"
index_dir = "indexes/handbook"       # optional; else a per-corpus folder in the user cache
guilds = [987654321098765432]        # every other channel of this server answers from handbook/
```

A channel's own mapping wins over its server's; anything unmapped answers from the knowledge base named
"default": the top-level `corpus` (and `index_dir`), so a config without `[kb.*]` tables behaves as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docbot.errors import ConfigError

DEFAULT_KNOWLEDGE_BASE = "default"
_KEYS = ("corpus", "index_dir", "channels", "guilds")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class UnknownKnowledgeBaseError(ConfigError):
    """A --kb name (or a lookup) names no configured knowledge base."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(f"unknown knowledge base {name!r}: the known ones are {', '.join(known)}")


@dataclass(frozen=True)
class KnowledgeBaseConfig:
    """One `[kb.NAME]` table: its corpus, its index folder, and the Discord channels and servers it answers in."""

    name: str
    corpus: Path
    index_dir: Path | None = None  # None: a per-corpus folder in the user cache dir
    channels: tuple[int, ...] = ()
    guilds: tuple[int, ...] = ()


def read_knowledge_bases(tables: Any, source: str) -> tuple[KnowledgeBaseConfig, ...]:
    """The `kb` table of a config file as KnowledgeBaseConfigs; ConfigError (one line) on anything wrong."""
    if not isinstance(tables, Mapping):
        raise ConfigError(f'kb in {source} must be tables such as [kb.docs] with corpus = "docs/"')
    bases = tuple(_read_one(name, table, source) for name, table in tables.items())
    _check_each_place_once(bases, "channel", source)
    _check_each_place_once(bases, "guild", source)
    return bases


def knowledge_base_for(
    bases: Iterable[KnowledgeBaseConfig], channel_ids: Iterable[int | None], guild_id: int | None
) -> str:
    """The knowledge base that answers in a channel (any of `channel_ids`: a thread and its parent), else
    the one of its server, else the default."""
    bases = tuple(bases)
    channels = {channel for channel in channel_ids if channel is not None}
    for base in bases:
        if channels & set(base.channels):
            return base.name
    for base in bases:
        if guild_id is not None and guild_id in base.guilds:
            return base.name
    return DEFAULT_KNOWLEDGE_BASE


def _read_one(name: str, table: Any, source: str) -> KnowledgeBaseConfig:
    where = f"[kb.{name}] in {source}"
    if name == DEFAULT_KNOWLEDGE_BASE:
        raise ConfigError(f"{where}: the name 'default' is taken by the top-level corpus and index_dir settings")
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{where}: a knowledge base name is 1-64 letters, digits, '-' or '_'")
    if not isinstance(table, Mapping):
        raise ConfigError(f'{where} must be a table with corpus = "folder/"')
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(unknown)} (allowed: {', '.join(_KEYS)})")
    if "corpus" not in table:
        raise ConfigError(f'{where} has no corpus: add corpus = "folder/"')
    index_dir = table.get("index_dir")
    return KnowledgeBaseConfig(
        name=name,
        corpus=_path(table["corpus"], "corpus", where),
        index_dir=None if index_dir is None else _path(index_dir, "index_dir", where),
        channels=_ids(table.get("channels", []), "channels", where),
        guilds=_ids(table.get("guilds", []), "guilds", where),
    )


def _path(value: Any, key: str, where: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"invalid value for {key} in {where}: {value!r} is not a folder name")
    return Path(value).expanduser()


def _ids(value: Any, key: str, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise ConfigError(f"invalid value for {key} in {where}: {value!r} is not a list of Discord ids")
    return tuple(value)


def _check_each_place_once(bases: tuple[KnowledgeBaseConfig, ...], kind: str, source: str) -> None:
    """A channel (or server) answers from one knowledge base: mapping it to two is an error."""
    owner: dict[int, str] = {}
    for base in bases:
        for place in base.channels if kind == "channel" else base.guilds:
            if place in owner and owner[place] != base.name:
                raise ConfigError(
                    f"{kind} {place} is mapped to two knowledge bases in {source}: {owner[place]} and {base.name}"
                )
            owner[place] = base.name
