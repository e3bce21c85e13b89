"""Escape sequences and rich markup in file names, headings, text and the model's reply never act on a terminal."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest

from docbot.terminal.safe_text import PrintableLogRecords
from tests.conftest import run_docbot

pytestmark = pytest.mark.slow

CLEAR_SCREEN = "esc\x1b[2Jname.md"
MARKUP = "[red]x[/red] [link=http://evil.example]click[/link]"
HEADING = f"Volcano \x1b[31m{MARKUP}"
# OSC (set the window title, ended by BEL), a one-byte C1 CSI, DEL, a carriage return and a backspace.
TEXT = "Olympus Mons is the tallest volcano \x1b]0;pwned\x07in the solar system\x9b31m at 22 km\x7f high.\r\x08"
# Any control character but newline and tab: none may reach standard output or error raw.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def assert_no_raw_controls(*outputs: str) -> None:
    for output in outputs:
        assert not RAW_CONTROL.search(output), RAW_CONTROL.findall(output)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, Path, str]:
    """A corpus of one hostile file and one corrupt PDF with a hostile name, indexed by `docbot index`."""
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / CLEAR_SCREEN).write_text(f"# {HEADING}\n\n{TEXT}\n", encoding="utf-8")
    (corpus / "broken\x1b[2J.pdf").write_bytes(b"not a pdf at all")
    index_dir = tmp_path_factory.mktemp("index")
    result = run_docbot("index", "--corpus", str(corpus), "--index-dir", str(index_dir))
    assert result.returncode == 0, result.stderr
    return corpus, index_dir, result.stderr


def where(hostile) -> list[str]:
    corpus, index_dir, _ = hostile
    return ["--corpus", str(corpus), "--index-dir", str(index_dir)]


def test_index_warnings_name_the_file_without_its_escapes(hostile):
    *_, log = hostile
    assert_no_raw_controls(log)
    assert "broken\\x1b[2J.pdf" in log  # named, visibly
    assert "1 added" in log


def test_search_shows_names_headings_and_text_without_escapes_and_markup_literally(hostile):
    result = run_docbot("search", "tallest volcano", *where(hostile))

    assert result.returncode == 0, result.stderr
    assert_no_raw_controls(result.stdout, result.stderr)
    assert "esc\\x1b[2Jname.md" in result.stdout
    assert MARKUP in result.stdout  # printed as written, not turned into colour or a link
    assert "Olympus Mons" in result.stdout


def test_search_json_keeps_every_string_as_written_in_escaped_json(hostile):
    result = run_docbot("search", "--json", "tallest volcano", *where(hostile))

    assert result.returncode == 0, result.stderr
    assert_no_raw_controls(result.stdout)
    passage = json.loads(result.stdout)["passages"][0]
    assert (passage["doc"], passage["heading"]) == (CLEAR_SCREEN, HEADING)
    assert "\x9b31m" in passage["text"] and "\x1b]0;pwned\x07" in passage["text"]


def test_ask_and_its_json_show_the_models_reply_and_sources_without_escapes(hostile, model_server):
    # The stand-in model repeats the top passage's first sentence: its reply carries the escapes too.
    env = {"DOCBOT_LLM_BACKEND": "openai", "DOCBOT_LLM_URL": model_server.url}
    question = "What is the tallest volcano in the solar system?"

    shown = run_docbot("ask", question, *where(hostile), env=env)
    as_json = run_docbot("ask", "--json", question, *where(hostile), env=env)

    assert shown.returncode == 0 and as_json.returncode == 0, shown.stderr + as_json.stderr
    assert_no_raw_controls(shown.stdout, shown.stderr, as_json.stdout, as_json.stderr)
    answer = json.loads(as_json.stdout)
    assert "\x1b]0;pwned" in answer["answer"]  # the model's reply really carried an escape sequence
    assert "Olympus Mons" in shown.stdout and "\\x1b]0;pwned" in shown.stdout
    assert f"[1] esc\\x1b[2Jname.md › Volcano \\x1b[31m{MARKUP}" in shown.stdout


def test_chat_answers_and_sources_show_no_escapes(hostile, model_server):
    env = {"DOCBOT_LLM_BACKEND": "openai", "DOCBOT_LLM_URL": model_server.url}
    session = "What is the tallest volcano in the solar system?\n/sources\n/quit\n"

    result = run_docbot("chat", *where(hostile), env=env, input=session)

    assert result.returncode == 0, result.stderr
    assert_no_raw_controls(result.stdout, result.stderr)
    assert result.stdout.count(MARKUP) >= 2  # in the answer's sources and again in /sources


def test_an_error_quoting_a_file_name_shows_its_escapes_visibly(tmp_path):
    result = run_docbot("index", "--corpus", str(tmp_path / "gone\x1b[2J\x1b]0;x\x07"), "--index-dir", str(tmp_path))

    assert result.returncode == 1
    assert_no_raw_controls(result.stderr)
    assert "gone\\x1b[2J\\x1b]0;x\\x07" in result.stderr.splitlines()[-1]


def test_the_bots_log_shows_control_characters_as_escapes_and_keeps_traceback_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PrintableLogRecords())
    logger = logging.getLogger("docbot.test.printable")
    logger.addHandler(handler)
    try:
        logger.error("re-indexed: %s", "1 skipped (1 .\x1b[2J)")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed on \x9b31m")
    finally:
        logger.removeHandler(handler)
    logged = stream.getvalue()
    assert "\x1b" not in logged and "\x9b" not in logged
    assert "\\x1b[2J" in logged and "\\x9b31m" in logged
    assert "Traceback (most recent call last):\n" in logged
