"""Large stores switch to approximate search above a configured size and still find neighbours."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from docbot.components import index_corpus, open_retriever
from docbot.index.store import IndexStore
from docbot.settings import Settings

DIMENSION = 64


def clustered_vectors(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, DIMENSION)).astype(np.float32)
    vectors = centres[rng.integers(0, 50, count)] + 0.5 * rng.standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_store_goes_approximate_above_the_configured_size_with_high_recall() -> None:
    vectors = clustered_vectors(20_000, seed=1)
    queries = clustered_vectors(100, seed=2)
    exact = IndexStore(Path("unused"), approximate_above=len(vectors)).build_vectors(vectors)
    approximate = IndexStore(Path("unused"), approximate_above=len(vectors) - 1).build_vectors(vectors)

    _, truth = exact.search(queries, 10)
    _, found = approximate.search(queries, 10)

    assert approximate.ntotal == len(vectors)
    assert not hasattr(exact, "nprobe") and hasattr(approximate, "nprobe")
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.95


def test_approximate_index_is_saved_and_answers_searches(tiny_corpus: Path, tmp_path: Path, embedder) -> None:
    settings = Settings(corpus=tiny_corpus, index_dir=tmp_path / "index", approximate_above=1)
    index_corpus(settings, embedder)
    retriever = open_retriever(settings, embedder)

    passages = retriever.search("tallest volcano in the solar system", k=3)

    assert retriever.index.manifest.index_type == "ivf"
    assert passages[0].doc == "space.md"
