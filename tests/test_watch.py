"""`docbot index --watch`: files created, changed, removed or renamed reach the index, once per burst."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from docbot.index.builder import BuildReport, build_index
from docbot.index.embedder import Embedder
from docbot.index.search import Retriever
from docbot.index.watch import watch_corpus
from tests.conftest import CHUNKING, REPO, TINY_DOCS, store_at

QUIET = 0.3  # seconds; short so the tests are quick


@contextmanager
def watching(
    corpus: Path, rebuild: Callable[[set[str]], None], index_dir: Path | None = None, max_wait: float = 30
) -> Iterator[None]:
    """Run the watch loop on a thread while the block runs."""
    stop, ready = threading.Event(), threading.Event()
    args = (corpus, rebuild, stop, index_dir, QUIET, max_wait, ready.set)
    thread = threading.Thread(target=watch_corpus, args=args, daemon=True)
    thread.start()
    assert ready.wait(60), "the watch never started"
    try:
        yield
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def live_index(tiny_corpus: Path, tmp_path: Path, embedder: Embedder):
    """The tiny corpus indexed and watched with the real builder; yields (corpus, search, reports)."""
    index_dir = tiny_corpus / "index"  # inside the corpus: its own writes must not set off rebuilds
    store = store_at(index_dir)
    build_index(tiny_corpus, store, embedder, CHUNKING)
    reports: list[BuildReport] = []

    def search(question: str) -> list[tuple[str, str]]:
        return [(p.doc, p.text) for p in Retriever(store.load(), embedder).search(question, 5)]

    def rebuild(_changed: set[str]) -> None:
        reports.append(build_index(tiny_corpus, store, embedder, CHUNKING))

    with watching(tiny_corpus, rebuild, index_dir):
        yield tiny_corpus, search, reports
        time.sleep(3 * QUIET)  # room for a wrong rebuild, set off by the index's own writes
    assert len(reports) == 1  # each test makes one change


def test_created_file_is_found(live_index):
    corpus, search, reports = live_index
    (corpus / "whales.md").write_text("# Whales\n\nThe blue whale is the largest animal ever known.\n")
    wait_for(lambda: len(reports) == 1)
    assert reports[0].added == ["whales.md"]
    assert any("blue whale" in text for _, text in search("largest animal"))


def test_changed_file_is_found_with_its_new_text(live_index):
    corpus, search, reports = live_index
    (corpus / "space.md").write_text("# Venus\n\nVenus has a thick carbon dioxide atmosphere.\n")
    wait_for(lambda: len(reports) == 1)
    assert reports[0].changed == ["space.md"]
    texts = [text for _, text in search("Venus atmosphere")]
    assert any("carbon dioxide" in text for text in texts)
    assert not any("Olympus Mons" in text for text in texts)


def test_deleted_file_is_no_longer_found(live_index):
    corpus, search, reports = live_index
    (corpus / "space.md").unlink()
    wait_for(lambda: len(reports) == 1)
    assert reports[0].removed == ["space.md"]
    assert not any("Olympus Mons" in text for _, text in search("tallest volcano"))


def test_renamed_file_is_found_under_its_new_name(live_index):
    corpus, search, reports = live_index
    (corpus / "space.md").rename(corpus / "animals" / "mars.md")
    wait_for(lambda: len(reports) == 1)
    assert (reports[0].added, reports[0].removed) == (["animals/mars.md"], ["space.md"])
    docs = {doc for doc, _ in search("tallest volcano")}
    assert "animals/mars.md" in docs and "space.md" not in docs


def test_a_burst_of_a_thousand_files_is_one_rebuild(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    batches: list[set[str]] = []
    with watching(corpus, batches.append):
        for n in range(1000):  # ~2-3 s, longer than one watchfiles batch, each gap far shorter than QUIET
            (corpus / f"doc{n:04d}.md").write_text(f"# Note {n}\n")
            time.sleep(0.002)
        (corpus / ".hidden.md").write_text("not a document")
        (corpus / "~$lock.docx").write_text("not a document")
        wait_for(lambda: len(batches) >= 1)
        time.sleep(3 * QUIET)  # room for a wrong second rebuild
    assert len(batches) == 1
    assert {Path(path).name for path in batches[0]} == {f"doc{n:04d}.md" for n in range(1000)}


def test_a_steady_trickle_still_rebuilds_every_max_wait(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    batches: list[set[str]] = []
    with watching(corpus, batches.append, max_wait=1.0):
        for n in range(30):  # 3 s, never quiet for QUIET
            (corpus / f"doc{n:02d}.md").write_text(f"# Note {n}\n")
            time.sleep(0.1)
        during = len(batches)
        wait_for(lambda: sum(map(len, batches)) == 30)
    assert during >= 2  # without the cap: none until the trickle stops


def test_cli_watch_indexes_a_new_file_and_stops_on_ctrl_c(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "space.md").write_text(TINY_DOCS["space.md"])
    docbot = subprocess.Popen(
        [sys.executable, "-m", "docbot", "index", "--watch", "--corpus", str(corpus)]
        + ["--index-dir", str(tmp_path / "index")],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    assert docbot.stderr
    reader = threading.Thread(target=lambda: [lines.put(line) for line in docbot.stderr or ()], daemon=True)
    reader.start()

    def next_line_with(text: str) -> str:
        while True:
            line = lines.get(timeout=120)
            seen.append(line)
            if text in line:
                return line

    try:
        assert next_line_with("index updated: 1 added")
        next_line_with("watching")  # printed once the watches are in place
        (corpus / "whales.md").write_text("# Whales\n\nThe blue whale is the largest animal ever known.\n")
        assert next_line_with("index updated").startswith("index updated: 1 added, 0 changed, 0 removed, 1 unchanged")
        for doc in corpus.iterdir():  # a failed rebuild is one line, and the watch goes on
            doc.unlink()
        assert next_line_with("docbot: error: ").startswith("docbot: error: no ")
        (corpus / "space.md").write_text(TINY_DOCS["space.md"])  # as before: its vectors are reused
        assert next_line_with("index updated").startswith("index updated: 0 added, 0 changed, 1 removed, 1 unchanged")
        docbot.send_signal(signal.SIGINT)
        docbot.wait(timeout=30)
    finally:
        docbot.kill()
    reader.join(10)
    while not lines.empty():
        seen.append(lines.get())
    assert docbot.returncode == 130
    assert seen[-1].strip() == "docbot: interrupted"
    assert not any("Traceback" in line for line in seen)
