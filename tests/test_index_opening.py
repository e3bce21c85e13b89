"""Opening an index reads only what a question needs: BM25 comes saved, chunk texts are read on demand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from docbot.index.builder import build_index
from docbot.index.chunk_file import CHUNKS_FILE
from docbot.index.keywords import KEYWORDS_DIR, load_keywords
from docbot.index.search import Retriever
from tests.conftest import CHUNKING, TINY_DOCS, run_docbot, store_at

MANY_DOCS = {f"notes/day-{n:03}.md": f"# Day {n}\n\nThe crew logged {n * 7} kilometres.\n" for n in range(40)}


def garble_chunks_except(generation: Path, keep: str) -> None:
    """Overwrite every chunk line that does not mention `keep` with junk of the same length."""
    path = generation / CHUNKS_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(line if keep.encode() in line else b"#" * (len(line) - 1) + b"\n" for line in lines))


def test_a_question_reads_only_the_chunks_it_shows(write_corpus, tmp_path, embedder) -> None:
    corpus = write_corpus({**TINY_DOCS, **MANY_DOCS})
    store = store_at(tmp_path / "index")
    build_index(corpus, store, embedder, CHUNKING)
    garble_chunks_except(store.current_path(), keep="Olympus Mons")

    passages = Retriever(store.load(), embedder).search("Olympus Mons", 1)

    assert passages[0].doc == "space.md" and "22 km" in passages[0].text


def test_bm25_is_saved_with_the_index_not_rebuilt_by_every_process(tiny_corpus, tmp_path, embedder) -> None:
    store = store_at(tmp_path / "index")
    build_index(tiny_corpus, store, embedder, CHUNKING)
    assert (store.current_path() / KEYWORDS_DIR).is_dir()
    shutil.rmtree(store.current_path() / KEYWORDS_DIR)

    result = run_docbot("search", "lemmings", "--index-dir", str(store.root))

    assert result.returncode == 1
    assert "damaged" in result.stderr and "docbot index --rebuild" in result.stderr


def test_an_unchanged_corpus_is_refreshed_without_reading_the_chunks(write_corpus, tmp_path, embedder) -> None:
    corpus = write_corpus({**TINY_DOCS, **MANY_DOCS})
    store = store_at(tmp_path / "index")
    build_index(corpus, store, embedder, CHUNKING)
    garble_chunks_except(store.current_path(), keep="no chunk says this")

    report = build_index(corpus, store, embedder, CHUNKING)

    assert not report.written and len(report.unchanged) == len(TINY_DOCS) + len(MANY_DOCS)


def test_a_changed_file_keeps_every_other_files_chunks_in_place(write_corpus, tmp_path, embedder) -> None:
    corpus = write_corpus({**TINY_DOCS, **MANY_DOCS})
    store = store_at(tmp_path / "index")
    build_index(corpus, store, embedder, CHUNKING)
    (corpus / "animals" / "owls.txt").write_text("Owls\nThe barn owl hunts voles at night.\n", encoding="utf-8")
    (corpus / "zebra.md").write_text("# Zebras\n\nZebras have black and white stripes.\n", encoding="utf-8")

    build_index(corpus, store, embedder, CHUNKING)
    index = store.load()

    for doc in [*TINY_DOCS, *MANY_DOCS, "zebra.md"]:
        rows = index.chunks_of(doc)
        assert rows and all(index.chunks[row].doc == doc for row in rows)
    assert "voles" in index.chunks[index.chunks_of("animals/owls.txt")[0]].text
    assert Retriever(index, embedder).search("black and white stripes", 1)[0].doc == "zebra.md"


def test_a_first_search_that_meets_cpythons_ast_race_still_answers(tiny_corpus, tmp_path, embedder, monkeypatch):
    """np.load parses .npy headers with ast; beside another thread's parsing, CPython 3.11 may fail it once."""
    import bm25s  # imported by the store when a search first needs it

    store = store_at(tmp_path / "index")
    build_index(tiny_corpus, store, embedder, CHUNKING)
    real_load, calls = bm25s.BM25.load, []

    def racing_load(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise SystemError("AST constructor recursion depth mismatch (before=54, after=213)")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(bm25s.BM25, "load", racing_load)

    passages = Retriever(store.load(), embedder).search("Olympus Mons", 1)

    assert passages[0].doc == "space.md" and len(calls) == 2


def test_other_system_errors_are_not_retried(monkeypatch, tmp_path):
    import bm25s

    def broken_load(*args, **kwargs):
        raise SystemError("something else entirely")

    monkeypatch.setattr(bm25s.BM25, "load", broken_load)
    with pytest.raises(SystemError, match="something else"):
        load_keywords(tmp_path)
