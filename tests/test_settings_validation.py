"""Every setting is checked against its range wherever it comes from: one line, exit 1."""

from __future__ import annotations

import pytest

from docbot.errors import ConfigError
from docbot.settings import load_settings
from tests.conftest import run_docbot

BAD = [
    ("top_k", 0),
    ("top_k", -3),
    ("top_k", 51),
    ("chunk_chars", 0),
    ("chunk_chars", -5),
    ("chunk_overlap_sentences", 6),
    ("embed_batch_size", 0),
    ("build_nice", -1),
    ("build_nice", 20),
    ("threads", -1),
    ("context_size", 16),
    ("max_answer_chars", 0),
    ("max_answer_tokens", 0),
    ("max_answer_lines", 21),
    ("answer_sentences", 0),
    ("refuse_below_similarity", 1.5),
    ("refuse_below_coverage", -0.1),
    ("temperature", 3.0),
    ("approximate_above", 10),
    ("discord_cooldown_seconds", -1.0),
    ("discord_queue_size", 0),
    ("paraphrase_similarity", 1.2),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_out_of_range_flag_is_refused_with_setting_and_source(name, value):
    with pytest.raises(ConfigError) as err:
        load_settings(**{name: value})
    message = str(err.value)
    assert name in message and "--" + name.replace("_", "-") in message and "allowed" in message


@pytest.mark.parametrize(
    ("text", "name"),
    [("top_k = 5.7", "top_k"), ("threads = true", "threads"), ("discord_allow_dms = 1", "discord_allow_dms")],
)
def test_wrong_type_in_config_file_is_refused(tmp_path, text, name):
    config = tmp_path / "docbot.toml"
    config.write_text(text + "\n")
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert name in str(err.value) and str(config) in str(err.value)


def test_env_source_named(monkeypatch):
    monkeypatch.setenv("DOCBOT_THREADS", "-1")
    with pytest.raises(ConfigError, match="DOCBOT_THREADS"):
        load_settings()


def test_in_range_values_pass(tmp_path):
    config = tmp_path / "docbot.toml"
    config.write_text("top_k = 50\nchunk_chars = 100\ntemperature = 0\n")
    settings = load_settings(config)
    assert (settings.top_k, settings.chunk_chars, settings.temperature) == (50, 100, 0.0)


@pytest.mark.parametrize(
    ("command", "args", "env", "config", "source"),
    [
        ("search", ["--top-k", "0"], {}, "", "--top-k"),
        ("ask", [], {"DOCBOT_CONTEXT_SIZE": "16"}, "", "DOCBOT_CONTEXT_SIZE"),  # was a broadcast ValueError
        ("index", [], {"DOCBOT_THREADS": "-1"}, "", "DOCBOT_THREADS"),  # was a RuntimeError from torch
        ("index", [], {}, "embed_batch_size = 0", "docbot.toml"),  # was a ValueError
        ("index", [], {}, "chunk_chars = 0", "docbot.toml"),  # hung at 100% CPU, memory growing
    ],
)
def test_cli_prints_one_line_naming_the_setting_and_exits_1(tmp_path, command, args, env, config, source):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.md").write_text("# Notes\n\nThe index must never be built with these settings.\n")
    if config:
        (tmp_path / "docbot.toml").write_text(config + "\n")
        args = [*args, "--config", str(tmp_path / "docbot.toml")]
    question = [] if command == "index" else ["anything"]
    where = ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index")]

    result = run_docbot(command, *args, *where, *question, env=env, timeout=60)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    name = (config.split(" = ")[0] if config else source.strip("-").removeprefix("DOCBOT_")).lower()
    assert len(lines) == 1 and lines[0].startswith(f"docbot: error: {name.replace('-', '_')} = ")
    assert source in lines[0] and "out of range" in lines[0]
    assert not (tmp_path / "index").exists()


def test_every_numeric_setting_declares_its_range():
    """A new int or float setting without a range would accept any value silently."""
    from dataclasses import fields
    from typing import get_type_hints

    from docbot.settings import RANGES, Settings

    hints = get_type_hints(Settings)
    numeric = {f.name for f in fields(Settings) if hints[f.name] in (int, float)}
    assert numeric - set(RANGES) == set()
