"""docbot's configuration: one typed object, read once and passed down.

Precedence, highest first: command-line flags, `DOCBOT_*` environment variables, the TOML config
file (`--config`, `$DOCBOT_CONFIG` or `./docbot.toml`), built-in defaults.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from docbot.errors import ConfigError
from docbot.knowledge_base_config import (
    DEFAULT_KNOWLEDGE_BASE,
    KnowledgeBaseConfig,
    UnknownKnowledgeBaseError,
    read_knowledge_bases,
)

CONFIG_ENV = "DOCBOT_CONFIG"
DEFAULT_CONFIG_FILE = "docbot.toml"
ENV_PREFIX = "DOCBOT_"


@dataclass(frozen=True)
class Settings:
    """Every tunable of docbot, and the one place its default is written. Empty model names mean
    "the packaged default". components.py hands the values to the classes that use them."""

    corpus: Path = Path("corpus")
    index_dir: Path | None = None  # None: a per-corpus folder in the user cache dir
    embedder: str = ""  # sentence-transformers name or path; "" = packaged all-MiniLM-L6-v2
    llm_model: str = ""  # GGUF path; "" = packaged SmolLM2-135M-Instruct
    llm_backend: str = "llama-cpp"  # "llama-cpp" (in process) or "openai" (HTTP server)
    llm_url: str = "http://127.0.0.1:8080/v1"  # for llm_backend = "openai"
    llm_api_model: str = "default"  # model name sent to an OpenAI-compatible server
    llm_api_key: str = field(default="", repr=False)  # bearer token for that server, if it wants one
    llm_timeout_seconds: float = 60.0  # longest wait for that server to connect or send the next piece
    threads: int = 0  # 0 = every usable core (see resolved_threads)
    context_size: int = 2048  # llama.cpp context window, tokens
    max_answer_tokens: int = 32  # the model answers in a few words; the quote carries the detail
    max_answer_chars: int = 400  # whole answer, quote included
    max_answer_lines: int = 1  # the model's reply is cut after this many lines (0 = no limit)
    temperature: float = 0.0
    top_k: int = 5  # passages listed as sources
    prompt_chars: int = 450  # character budget for the evidence sentences in the prompt
    answer_sentences: int = 2  # at most this many evidence sentences reach the model
    refuse_below_coverage: float = 0.1  # refuse when no sentence holds this share of the question's terms
    refuse_below_similarity: float = 0.2  # refuse when no passage is this similar to the question
    paraphrase_similarity: float = 0.6  # a sentence this similar to the question may answer it in other words
    answer_reader: bool = True  # the first line quotes where the reader finds the answer (false: claim or word cues)
    chunk_chars: int = 700
    chunk_overlap_sentences: int = 1
    embed_batch_size: int = 32  # texts per batch through sentence-transformers (not the ONNX export's path)
    index_int8: bool = True  # documents embedded with int8 weights: ~2.5x faster builds, same context hit
    build_nice: int = 10  # niceness added to a build's embedding thread, so answers meanwhile go first (0 = off)
    approximate_above: int = 100_000  # vectors; above this the store searches approximately (IVF; see store.py)
    progress_seconds: float = 15.0  # builds log a progress line this often when stderr is not a terminal
    feedback_db: Path | None = None  # answers and 👍/👎 votes (SQLite); None: feedback.sqlite3 in the user data dir
    gaps_days: int = 30  # /gaps and `docbot feedback export` look this many days back
    watch: bool = False  # `docbot discord` keeps the index current as corpus files change
    # Discord front end
    discord_token: str = field(default="", repr=False)
    discord_guild_ids: tuple[int, ...] = ()  # sync slash commands here (instant); else global
    discord_channel_ids: tuple[int, ...] = ()  # answer only here; empty = everywhere
    discord_allow_dms: bool = True
    discord_admin_role: str = ""  # role allowed to /reindex (Manage Server always is)
    discord_cooldown_seconds: float = 5.0
    discord_queue_size: int = 8
    discord_threads: bool = False  # answer each mention in its own thread
    discord_edit_seconds: float = 1.0  # least time between edits of a streaming answer (rate limits)
    discord_api_base: str = ""  # another Discord-compatible REST API, e.g. http://127.0.0.1:8080/api/v10
    discord_retry_seconds: float = 1.0  # first wait before reaching Discord again; doubles on each failure
    discord_retry_max_seconds: float = 60.0  # the longest wait between two tries
    add_max_bytes: int = 20 * 1024 * 1024  # largest file /add takes
    add_types: tuple[str, ...] = ()  # file types /add takes, e.g. (".md", ".pdf"); empty = every supported format
    # Named corpora besides the default one (`[kb.NAME]` tables; see knowledge_base_config.py)
    knowledge_bases: tuple[KnowledgeBaseConfig, ...] = ()

    def resolved_index_dir(self) -> Path:
        """The index folder: configured, or one per corpus under the user cache dir."""
        if self.index_dir is not None:
            return Path(self.index_dir)
        from platformdirs import user_cache_path

        corpus = Path(self.corpus).resolve()
        digest = hashlib.sha1(os.fsencode(corpus)).hexdigest()[:10]  # a path's bytes need not be UTF-8
        return user_cache_path("docbot") / "indexes" / f"{corpus.name}-{digest}"

    def resolved_feedback_db(self) -> Path:
        """The feedback database: configured, or one file in the user data dir (~/.local/share/docbot/)."""
        if self.feedback_db is not None:
            return Path(self.feedback_db)
        from platformdirs import user_data_path

        return user_data_path("docbot") / "feedback.sqlite3"

    def query_encoder_dir(self) -> Path:
        """Where `docbot index` keeps the ONNX exports that embed questions without torch (user cache)."""
        from platformdirs import user_cache_path

        return user_cache_path("docbot") / "query-encoders"

    def resolved_threads(self) -> int:
        """Threads for llama.cpp and batch embedding: every core this process may use, unless configured.

        Measured on 2 cores (`DOCBOT_THREADS=1|2 python scripts/bench.py --quick --only warm`):
        idle, 2 threads reach the first token in 628 ms against 970 ms with 1; with one core
        taken by another process, 1074 ms against 968 ms. On a crowded machine set `threads`
        below the core count: llama.cpp's threads wait for each other at every step.
        """
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return self.threads or max(1, usable)

    def knowledge_base_names(self) -> list[str]:
        """Every knowledge base: "default" (the top-level corpus), then the `[kb.NAME]` ones in config order."""
        return [DEFAULT_KNOWLEDGE_BASE, *(base.name for base in self.knowledge_bases)]

    def for_knowledge_base(self, name: str) -> Settings:
        """These settings with the corpus and index folder of knowledge base `name`."""
        if name == DEFAULT_KNOWLEDGE_BASE:
            return self
        for base in self.knowledge_bases:
            if base.name == name:
                return self.replace(corpus=base.corpus, index_dir=base.index_dir)
        raise UnknownKnowledgeBaseError(name, self.knowledge_base_names())

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from the config file, the environment and explicit overrides."""
    values: dict[str, tuple[Any, str]] = {}
    config_path, from_file, knowledge_bases = _read_config_file(config_file)
    values.update({k: (v, str(config_path)) for k, v in from_file.items()})
    values.update({k: (v, ENV_PREFIX + k.upper()) for k, v in _read_environment().items()})
    flags = {k: (v, "--" + k.replace("_", "-")) for k, v in overrides.items() if v is not None}
    values.update(flags)
    checked = {k: _check_range(k, _coerce(k, v, src), src) for k, (v, src) in values.items()}
    return Settings(**checked, knowledge_bases=knowledge_bases)


# The allowed range of each numeric setting (inclusive; None = unbounded). A new int or float
# setting declares its range here; _check_range applies it to every source alike.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "threads": (0, 256),
    "context_size": (256, 131072),
    "max_answer_tokens": (1, 1024),
    "max_answer_chars": (80, 4000),
    "max_answer_lines": (0, 20),
    "temperature": (0, 2),
    "top_k": (1, 50),
    "prompt_chars": (1, None),
    "answer_sentences": (1, None),
    "refuse_below_coverage": (0, 1),
    "refuse_below_similarity": (0, 1),
    "paraphrase_similarity": (0, 1),
    "chunk_chars": (100, 1000),
    "chunk_overlap_sentences": (0, 5),
    "embed_batch_size": (1, 1024),
    "build_nice": (0, 19),
    "approximate_above": (1000, None),
    "progress_seconds": (0, 3600),
    "gaps_days": (1, 3650),
    "llm_timeout_seconds": (0.1, 3600),
    "discord_cooldown_seconds": (0, None),
    "discord_queue_size": (1, 1000),
    "discord_edit_seconds": (0, None),
    "discord_retry_seconds": (0.01, 3600),
    "discord_retry_max_seconds": (0.01, 3600),
    "add_max_bytes": (1, 64 * 1024 * 1024),  # larger files are skipped by the build (documents.MAX_FILE_BYTES)
}


_TYPES = get_type_hints(Settings)
_NAMES = {f.name for f in fields(Settings)} - {"knowledge_bases"}  # tables, from the config file only


def _read_config_file(config_file: Path | None) -> tuple[Path | None, dict[str, Any], tuple[KnowledgeBaseConfig, ...]]:
    """The config file's path, its flat settings and its knowledge bases."""
    path = config_file or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if path is None:
        path = Path(DEFAULT_CONFIG_FILE)
        if not path.is_file():
            return None, {}, ()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    # Accept both flat keys and a [docbot] table; [discord] keys get the discord_ prefix.
    flat = dict(data.get("docbot", {}))
    flat.update({f"discord_{k}": v for k, v in data.get("discord", {}).items()})
    flat.update({k: v for k, v in data.items() if not isinstance(v, dict) and k != "kb"})
    unknown = sorted(set(flat) - _NAMES)
    if unknown:
        raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
    return path, flat, read_knowledge_bases(data.get("kb", {}), str(path))


def _read_environment() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _NAMES:
        raw = os.environ.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = raw
    # The Discord token conventionally lives in DISCORD_TOKEN.
    if os.environ.get("DISCORD_TOKEN") and "discord_token" not in values:
        values["discord_token"] = os.environ["DISCORD_TOKEN"]
    if os.environ.get("DISCORD_API_BASE") and "discord_api_base" not in values:
        values["discord_api_base"] = os.environ["DISCORD_API_BASE"]
    return values


def _check_range(name: str, value: Any, source: str) -> Any:
    """Raise ConfigError naming the setting, its source and its range when value lies outside it."""
    low, high = RANGES.get(name, (None, None))
    if (low is not None and value < low) or (high is not None and value > high):
        allowed = f"{low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(f"{name} = {value!r} (from {source}) is out of range: allowed {allowed}")
    return value


def _coerce(name: str, value: Any, source: str = "") -> Any:
    """Turn strings (env vars) and TOML values into the field's declared type; no silent coercion."""
    if name not in _NAMES:
        raise ConfigError(f"unknown setting: {name}")
    kind = _TYPES[name]
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() in {"1", "true", "yes", "on"}:
                    return True
                if value.lower() in {"0", "false", "no", "off"}:
                    return False
            if isinstance(value, bool):
                return value
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool | float):
                raise ValueError(value)
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if kind == tuple[int, ...]:
            if isinstance(value, str):
                value = [v for v in value.replace(",", " ").split() if v]
            return tuple(int(v) for v in value)
        if kind == tuple[str, ...]:
            if isinstance(value, str):
                value = value.replace(",", " ").split()
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(value)
            return tuple(value)
        if kind == Path | None or kind is Path:
            return Path(value).expanduser()
        return str(value)
    except (TypeError, ValueError):
        where = f" (from {source})" if source else ""
        raise ConfigError(f"invalid value for {name}{where}: {value!r} is not {_kind_name(kind)}") from None


def _kind_name(kind: Any) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number"}
    return names.get(kind, "valid")
