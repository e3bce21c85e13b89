"""A long build shows how far it is: a bar in a terminal, a line every few seconds in a log."""

from __future__ import annotations

import io
import re

from rich.console import Console

from docbot.index.builder import build_index
from docbot.terminal.progress_log import ProgressLog
from docbot.terminal.render import build_progress
from tests.conftest import CHUNKING, run_docbot, store_at

LOG_LINE = re.compile(r"(reading \d+/\d+ files|embedding \d+/\d+ chunks) \(\d+%\), [\d.]+ \w+/s, ETA \w+")


def test_a_build_logging_to_a_file_writes_progress_lines_with_rate_and_eta(tiny_corpus, tmp_path):
    index = ["index", "--corpus", str(tiny_corpus), "--index-dir", str(tmp_path / "index")]

    result = run_docbot(*index, env={"DOCBOT_PROGRESS_SECONDS": "0"})  # captured: standard error is no terminal

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("reading")][-1].startswith("reading 3/3 files (100%), ")
    assert re.fullmatch(r"embedding 3/3 chunks \(100%\), [\d.]+ chunks/s, ETA 0s", lines[-2])
    assert lines[-1].startswith("index updated: 3 added")
    assert all(LOG_LINE.fullmatch(line) for line in lines[:-1])


def test_progress_lines_come_every_interval_with_the_rate_and_time_left():
    lines: list[str] = []
    now = iter([0.0, 3.0, 10.0, 12.0, 25.0])  # start, then four batches
    log = ProgressLog(lines.append, interval=10, clock=lambda: next(now))

    log.start("embedding", "chunks", 100)
    for _ in range(4):
        log.advance(20)

    assert lines == [
        "embedding 40/100 chunks (40%), 4.0 chunks/s, ETA 15s",
        "embedding 80/100 chunks (80%), 3.2 chunks/s, ETA 6s",
    ]


def test_a_terminal_gets_the_bar_and_no_log_lines(tiny_corpus, tmp_path, embedder):
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)

    progress, events = build_progress(log_seconds=0, console=terminal)
    with progress:
        build_index(tiny_corpus, store_at(tmp_path / "index"), embedder, CHUNKING, events=events)

    assert "embedding" in screen.getvalue() and "3/3" in screen.getvalue()
    assert "chunks/s" not in screen.getvalue() and "reading" not in screen.getvalue()
