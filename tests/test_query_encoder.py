"""Questions are embedded without torch, from an ONNX export, into the same vectors as the index's."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from docbot.index.builder import build_index
from docbot.index.embedder import Embedder
from docbot.index.search import Retriever
from docbot.settings import Settings
from tests.conftest import CHUNKING, REPO, run_docbot, store_at

HOSTILE = [
    "",
    "   \u200b\u00ad  ",  # nothing left after cleaning
    "?!…—,.;:()[]{}«»",  # only punctuation
    "the tallest volcano " * 500,  # 10k characters: cut at the model's 256 tokens, as sentence-transformers does
    "東京は日本の首都であり、世界最大の都市圏の一つです。",
    "Москва — столица России, крупнейший по численности населения город страны.",
    "القاهرة هي عاصمة جمهورية مصر العربية وأكبر مدنها.",
    "emoji 🌋🔥 and math ∑∫√ and Ωmega",
]
BENCH_DOCS = ("normans.md", "southern-california.md")
SAMPLED_QUESTIONS = 30
MIN_COSINE = 0.999


@pytest.fixture(scope="module")
def light(embedder: Embedder) -> Embedder:
    """The packaged embedder with its query export made (as `docbot index` makes it)."""
    embedder.prepare_query_encoder()
    assert embedder.query_encoder is not None
    return embedder


def reference_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """The vectors sentence-transformers itself gives: the embedder of record."""
    return embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


def test_the_export_gives_the_indexed_vectors_for_corpus_chunks_and_hostile_strings(light, shipped_index) -> None:
    chunks = [chunk.embedding_text() for chunk in store_at(shipped_index).load().chunks]
    texts = chunks + HOSTILE
    assert light.query_encoder is not None

    fast = light.query_encoder.encode(texts)
    cosines = np.sum(fast * reference_vectors(light, texts), axis=1)

    assert cosines.min() >= MIN_COSINE, [texts[i][:60] for i in np.flatnonzero(cosines < MIN_COSINE)]


def test_search_finds_the_same_passages_both_ways(light, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in BENCH_DOCS:
        shutil.copy(REPO / "bench" / "corpus" / name, corpus / name)
    store = store_at(tmp_path / "index")
    build_index(corpus, store, light, CHUNKING)
    rows = [json.loads(line) for line in (REPO / "bench" / "questions.jsonl").read_text().splitlines()]
    sample = [row["question"] for row in rows if row["doc"] in BENCH_DOCS][::5][:SAMPLED_QUESTIONS]
    index = store.load()
    fast = Retriever(index, light)
    reference = Retriever(index, Embedder(light.name, light.batch_size, light.threads, query_encoders=None))
    reference.embedder._model = light.model  # the same weights, already loaded: only the runtime differs

    for question in sample:
        assert [p.chunk for p in fast.search(question, 5)] == [p.chunk for p in reference.search(question, 5)]


def test_a_damaged_export_is_one_notice_then_sentence_transformers_then_remade(light, tmp_path, caplog) -> None:
    assert light.query_encoders is not None
    cache = tmp_path / "encoders"
    shutil.copytree(light.query_encoders, cache)
    for model_file in cache.glob("*/model.onnx"):
        model_file.write_bytes(b"not a model")
    damaged = Embedder(light.name, light.batch_size, light.threads, query_encoders=cache)
    damaged._model = light.model

    with caplog.at_level(logging.WARNING):
        vector = damaged.embed_query("tallest volcano")

    notices = [record.getMessage() for record in caplog.records]
    assert len(notices) == 1 and "damaged" in notices[0] and "docbot index" in notices[0]
    assert float(vector @ light.embed_query("tallest volcano")) > MIN_COSINE  # still answered
    damaged.prepare_query_encoder()  # what the next `docbot index` does
    assert damaged.query_encoder is not None


def test_search_without_the_export_still_answers_and_says_how_to_get_the_fast_path(
    tiny_corpus: Path, tmp_path: Path, light
) -> None:
    settings = Settings(corpus=tiny_corpus, index_dir=tmp_path / "index")
    build_index(tiny_corpus, store_at(tmp_path / "index"), light, CHUNKING)

    result = run_docbot(
        "search", "tallest volcano", "--index-dir", str(settings.index_dir), env={"XDG_CACHE_HOME": str(tmp_path)}
    )

    assert result.returncode == 0, result.stderr
    assert "space.md" in result.stdout
    notice = result.stderr.strip().splitlines()
    assert len(notice) == 1 and "run `docbot index`" in notice[0], result.stderr


def test_the_build_that_makes_the_export_does_not_call_it_missing(tiny_corpus: Path, tmp_path: Path) -> None:
    result = run_docbot(
        "index", "--corpus", str(tiny_corpus), "--index-dir", str(tmp_path / "index"),
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "note:" not in result.stderr, result.stderr


def test_texts_embedded_one_at_a_time_get_the_vectors_of_a_batch(light, shipped_index) -> None:
    texts = [chunk.embedding_text() for chunk in store_at(shipped_index).load().chunks][:12] + HOSTILE
    assert light.query_encoder is not None

    alone = light.query_encoder.encode_each(texts)

    # Unpadded and one by one: the same numbers, so an answer's evidence ranks as it did batched.
    assert np.abs(alone - light.query_encoder.encode(texts)).max() <= 1e-6


def test_an_answer_runs_the_model_on_its_question_once(light) -> None:
    encoder = light.query_encoder
    assert encoder is not None
    question = "Which volcano on Mars is the tallest?"
    runs: list[str] = []
    encode = encoder.encode
    encoder.encode = lambda texts: runs.extend(texts) or encode(texts)  # type: ignore[method-assign]
    try:
        light.embed_query(question)  # retrieval
        light.similarities(question, ["Olympus Mons is the tallest volcano.", "Mars has two moons."])  # evidence
    finally:
        del encoder.encode

    assert runs.count(question) == 1


def test_words_embedded_in_one_batch_get_the_vectors_each_gets_alone(light) -> None:
    words = ["die", "killing", "enemy", "fighting", "née", "x", "counterrevolutionaries"]

    together = light.embed_words(words)

    # The word-similarity check batches new words; it must see what a question of one word would.
    assert np.abs(together - light.embed_queries(words)).max() <= 1e-5
