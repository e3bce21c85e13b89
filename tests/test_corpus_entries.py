"""Every entry of the corpus folder is indexed or accounted for: odd names, FIFOs, other file types."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from docbot.index.builder import BuildEvents, build_index
from docbot.index.errors import EmptyCorpusError
from docbot.index.search import Retriever
from tests.conftest import CHUNKING, run_docbot, store_at

GOOD = {"good.md": "# Rivers\n\nThe Nile flows north into the Mediterranean Sea.\n"}
ESCAPED = "d\\xe9j\\xe0/bad\\xff\\xfe.txt"  # how the index names b"d\xe9j\xe0/bad\xff\xfe.txt"


def write_raw(corpus: Path, name: bytes, text: str) -> None:
    """Write a file whose name is raw bytes, creating its folders."""
    path = os.path.join(os.fsencode(corpus), name)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(text.encode())
    except OSError as exc:  # some file systems (ZFS utf8only, most macOS volumes) refuse such names
        pytest.skip(f"this file system refuses names that are not UTF-8: {exc}")


def unlistable_folder(parent: Path) -> None:
    """A folder below `parent` holding a document, which the system refuses to list.

    No permission does it for a user; root reads through permissions, so for root the folder's path
    is made longer than PATH_MAX (created one level at a time, relative to the one above).
    """
    if os.geteuid() != 0:
        locked = parent / "locked"
        locked.mkdir()
        (locked / "secret.md").write_text("# Secret\n\nNobody may read this folder.\n")
        locked.chmod(0)
        return
    fd = os.open(parent, os.O_RDONLY)
    try:
        for _ in range(18):  # 18 x 251 characters > 4096
            os.mkdir("d" * 250, dir_fd=fd)
            deeper = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = deeper
        with open(os.open("deep.md", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as handle:
            handle.write("# Deep\n\nToo deep to list.\n")
    finally:
        os.close(fd)


def test_a_file_name_that_is_not_utf8_is_indexed_with_its_bytes_escaped(write_corpus, tmp_path, embedder):
    corpus = write_corpus(GOOD)
    write_raw(corpus, b"d\xe9j\xe0/bad\xff\xfe.txt", "The grey heron waits motionless in the shallow reeds at dawn.")
    store = store_at(tmp_path / "index")

    report = build_index(corpus, store, embedder, CHUNKING)

    assert sorted(report.added) == [ESCAPED, "good.md"] and report.skipped == []
    best = Retriever(store.load(), embedder).search("Where does the heron wait?", k=1)[0]
    assert (best.doc, best.citation()) == (ESCAPED, ESCAPED + " › line 1")
    assert "heron" in best.text

    # The escaped name still leads back to the file: a change is seen and re-read.
    write_raw(corpus, b"d\xe9j\xe0/bad\xff\xfe.txt", "The grey heron flies south before the first frost.")
    report = build_index(corpus, store, embedder, CHUNKING)

    assert (report.changed, report.unchanged) == ([ESCAPED], ["good.md"])
    assert [c.text for c in store.load().chunks if c.doc == ESCAPED] == [
        "The grey heron flies south before the first frost."
    ]


def test_two_names_that_read_the_same_once_escaped_keep_the_first_and_warn(write_corpus, tmp_path, embedder):
    corpus = write_corpus({**GOOD, "x\\xff.txt": "The file whose name spells out a backslash is about otters."})
    write_raw(corpus, b"x\xff.txt", "The file whose name holds the byte is about beavers.")
    warnings: list[str] = []
    store = store_at(tmp_path / "index")

    report = build_index(corpus, store, embedder, CHUNKING, events=BuildEvents(on_warning=warnings.append))

    assert sorted(report.added) == ["good.md", "x\\xff.txt"]
    assert "otters" in " ".join(c.text for c in store.load().chunks if c.doc == "x\\xff.txt")
    assert warnings == ["skipped x\\xff.txt: another file's name reads the same once escaped: rename one"]


def test_a_corpus_folder_whose_own_name_is_not_utf8_gets_its_default_index(tmp_path):
    corpus = os.path.join(os.fsencode(tmp_path), b"docs\xff")
    write_raw(Path(os.fsdecode(corpus)), b"notes.md", GOOD["good.md"])
    cache = tmp_path / "cache"  # where the default index folder goes (platformdirs reads XDG_CACHE_HOME)

    result = run_docbot("index", "--corpus", os.fsdecode(corpus), env={"XDG_CACHE_HOME": str(cache)})

    assert result.returncode == 0, result.stderr
    assert "index updated: 1 added" in result.stderr
    assert len(list(cache.glob("docbot/indexes/docs*/CURRENT"))) == 1


def corpus_of_odd_entries(write_corpus, monkeypatch) -> Path:
    """GOOD, plus one entry of each kind that is not a document."""
    others = {"photos/cat.png": "png", "photos/dog.png": "png", "old.zip": "zip", "Makefile": "x", "notes.[red]": "x"}
    corpus = write_corpus({**GOOD, **others})  # "[red]": rich markup, if it were not escaped
    os.mkfifo(corpus / "pipe.txt")  # a document's name: opening it would wait for a writer forever
    monkeypatch.chdir(corpus)  # a socket's path must be short
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind("agent.sock")  # the file stays when the socket closes
    unlistable_folder(corpus)
    return corpus


SUMMARY = (
    "1 added, 0 changed, 0 removed, 0 unchanged, "
    "8 skipped (2 .png, 1 .[red], 1 .zip, 1 FIFO, 1 extensionless file, 1 socket, 1 unreadable folder);"
)


def test_entries_that_are_not_documents_are_counted_by_kind(write_corpus, tmp_path, embedder, monkeypatch):
    corpus = corpus_of_odd_entries(write_corpus, monkeypatch)
    ignored: list[tuple[str, str]] = []
    events = BuildEvents(on_ignored=lambda entry, kind: ignored.append((entry, kind)))

    report = build_index(corpus, store_at(tmp_path / "index"), embedder, CHUNKING, events=events)

    assert report.added == ["good.md"] and report.skipped == []
    assert report.ignored == ignored
    named = dict(ignored)
    assert (named["pipe.txt"], named["agent.sock"], named["Makefile"]) == ("FIFO", "socket", "extensionless file")
    assert (named["photos/cat.png"], named["photos/dog.png"], named["old.zip"]) == (".png", ".png", ".zip")
    assert [kind for kind in named.values()].count("unreadable folder") == 1
    assert report.summary().startswith(SUMMARY)


def test_docbot_index_counts_what_it_skipped_and_names_it_with_verbose(write_corpus, tmp_path, monkeypatch):
    corpus = corpus_of_odd_entries(write_corpus, monkeypatch)
    index = ["index", "--corpus", str(corpus), "--index-dir", str(tmp_path / "index")]

    quiet = run_docbot(*index, timeout=120)  # a FIFO opened by mistake would hang it: the timeout fails the test
    verbose = run_docbot(*index, "--verbose", timeout=120)

    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert SUMMARY in quiet.stderr and "pipe.txt" not in quiet.stderr
    assert "index already up to date: 0 added, 0 changed, 0 removed, 1 unchanged, 8 skipped (2 .png" in verbose.stderr
    named = ("skipped pipe.txt (FIFO)", "skipped agent.sock (socket)", "skipped photos/dog.png (.png)")
    for line in (*named, "skipped notes.[red] (.[red])"):
        assert line in verbose.stderr.splitlines()


def test_a_corpus_without_documents_says_what_it_holds(write_corpus, tmp_path, embedder):
    corpus = write_corpus({"a.png": "png", "b.png": "png", "notes.zip": "zip"})

    with pytest.raises(EmptyCorpusError) as error:
        build_index(corpus, store_at(tmp_path / "index"), embedder, CHUNKING)

    formats = ".txt, .md, .rst, .pdf, .html, .docx, .pptx, .xlsx, .csv or .epub"
    assert str(error.value) == f"no {formats} files in {corpus} (2 .png, 1 .zip)"


def test_corpus_that_is_a_file_says_so_in_one_line(tmp_path):
    document = tmp_path / "notes.md"
    document.write_text("# Notes\n\nA file, not a folder.\n")

    result = run_docbot("index", "--corpus", str(document), "--index-dir", str(tmp_path / "index"))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"docbot: error: corpus {document} is a file, not a folder: point --corpus at the folder of documents"
    ]
