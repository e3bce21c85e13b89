"""The vector store's own index at 100k and 1M synthetic vectors: build time, latency, recall."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from speed.common import percentile

SEED = 1234
DIMENSION = 384
SYNTHETIC_CLUSTERS = 2000  # real sentence embeddings cluster by topic; uniform noise would not
SYNTHETIC_SPREAD = 0.8  # per-dimension noise around a centre: same-topic vectors have cosine ~0.6
SEARCH_QUERIES = 200
RECALL_AT = 10


def synthetic_vectors(count: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors clustered around topic centres, like sentence embeddings of many documents."""
    vectors = np.empty((count, DIMENSION), dtype=np.float32)
    step = 100_000
    for start in range(0, count, step):
        n = min(step, count - start)
        block = centres[rng.integers(0, len(centres), n)] + SYNTHETIC_SPREAD * rng.standard_normal(
            (n, DIMENSION), dtype=np.float32
        )
        vectors[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return vectors


def bench_search(count: int) -> dict[str, float]:
    """The store's own index choice at `count` vectors: build time, latency, recall@10 vs exact."""
    import faiss

    from docbot.index.store import IndexStore, Manifest, StoredIndex
    from docbot.settings import load_settings

    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((SYNTHETIC_CLUSTERS, DIMENSION), dtype=np.float32)
    vectors = synthetic_vectors(count, centres, rng)
    queries = synthetic_vectors(SEARCH_QUERIES, centres, rng)  # new questions on the same topics
    settings = load_settings(None)
    store = IndexStore(Path(tempfile.gettempdir()), settings.approximate_above)
    started = time.perf_counter()
    index = store.build_vectors(vectors)
    build_s = time.perf_counter() - started
    exact = faiss.IndexFlatIP(DIMENSION)
    exact.add(vectors)
    _, truth = exact.search(queries, RECALL_AT)
    stored = StoredIndex(Manifest("synthetic", DIMENSION, {}), [], vectors, index, Path())
    latencies, hits = [], 0
    for row, query in enumerate(queries):
        started = time.perf_counter()
        found = stored.nearest(query, RECALL_AT)  # the retriever's own call
        latencies.append(1000 * (time.perf_counter() - started))
        hits += len(set(found) & set(truth[row].tolist()))
    return {
        "index": type(index).__name__,
        "build_s": build_s,
        "search_p50_ms": percentile(latencies, 50),
        "search_p95_ms": percentile(latencies, 95),
        "recall_at_10": hits / (RECALL_AT * len(queries)),
    }
