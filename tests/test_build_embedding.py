"""How a build embeds documents: int8 weights that find what float32 finds, on a thread that
yields to answers, and a change of precision re-embeds everything."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from docbot.index.builder import BuildEvents, build_index
from docbot.index.document_embedding import DocumentEmbedding
from docbot.index.search import Retriever
from tests.conftest import CHUNKING, run_docbot, store_at

QUESTIONS = [
    "Which volcano is the tallest in the solar system?",
    "How many moons does Mars have?",
    "What do owls eat?",
    "How long do cats sleep?",
    "Why is the sky of Mars red?",
]


def test_int8_documents_find_the_passages_float32_documents_find(tiny_corpus, tmp_path, embedder):
    found = {}
    for embedding in (DocumentEmbedding(int8=False), DocumentEmbedding(int8=True)):
        store = store_at(tmp_path / embedding.precision)
        build_index(tiny_corpus, store, embedder, CHUNKING, embedding=embedding)
        assert store.load().manifest.embedding_precision == embedding.precision
        retriever = Retriever(store.load(), embedder)
        found[embedding.precision] = [[(p.doc, p.chunk.chunk) for p in retriever.search(q, k=3)] for q in QUESTIONS]
    assert found["int8"] == found["float32"]


@pytest.mark.parametrize(("int8", "min_cosine"), [(False, 0.999), (True, 0.98)])
def test_document_vectors_stay_those_of_sentence_transformers(tiny_corpus, tmp_path, embedder, int8, min_cosine):
    store = store_at(tmp_path / "index")
    build_index(tiny_corpus, store, embedder, CHUNKING, embedding=DocumentEmbedding(int8=int8))
    stored = store.load()
    texts = [chunk.embedding_text() for chunk in stored.chunks]

    reference = embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)  # the embedder of record

    assert np.sum(np.asarray(stored.embeddings) * reference, axis=1).min() >= min_cosine


def test_a_change_of_precision_re_embeds_every_chunk(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    build_index(tiny_corpus, store, embedder, CHUNKING, embedding=DocumentEmbedding(int8=True))
    warnings: list[str] = []

    report = build_index(
        tiny_corpus,
        store,
        embedder,
        CHUNKING,
        events=BuildEvents(on_warning=warnings.append),
        embedding=DocumentEmbedding(int8=False),
    )

    assert report.embedded == report.chunks == store.load().manifest.chunk_count > 0
    assert warnings == ["embedder or chunking settings changed: re-embedding everything"]


def test_the_embedding_thread_runs_at_lower_priority_and_the_caller_keeps_its_own(tiny_corpus, tmp_path, embedder):
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []
    events = BuildEvents(
        on_embed_progress=lambda n: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    )

    build_index(
        tiny_corpus,
        store_at(tmp_path / "index"),
        embedder,
        CHUNKING,
        events=events,
        embedding=DocumentEmbedding(nice=7),
    )

    assert seen and set(seen) == {min(19, own + 7)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own


def test_a_build_leaves_no_scratch_vectors_behind(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    build_index(tiny_corpus, store, embedder, CHUNKING)
    (tiny_corpus / "space.md").write_text("# Mars\n\nMars has two moons, Phobos and Deimos.\n")

    build_index(tiny_corpus, store, embedder, CHUNKING)

    left = sorted(entry.name for entry in store.root.iterdir() if not entry.name.startswith("gen-"))
    assert left == [".lock", "CURRENT"]


def test_the_first_build_on_a_new_machine_prints_only_its_summary(tiny_corpus, tmp_path):
    """Making the int8 export (a fresh cache) must not leave other libraries' debug lines printing."""
    built = run_docbot(
        "index",
        "--corpus",
        str(tiny_corpus),
        "--index-dir",
        str(tmp_path / "index"),
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert built.returncode == 0, built.stderr
    printed = [line for line in (built.stdout + built.stderr).splitlines() if line.strip()]
    assert not [line for line in printed if "DEBUG" in line or "WARNING" in line], printed
    assert printed[-1].startswith("index updated:")
