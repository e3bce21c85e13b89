"""Write a large synthetic index (generated text, random unit vectors) to time how fast it opens.

    python scripts/synthetic_index.py INDEX_DIR [--chunks 80000] [--files 3000]

The vectors mean nothing, so answers over it are nonsense; what it measures is the cost of
opening an index of that size (store, BM25, chunk texts) and of a no-op `docbot index`. The
matching corpus (one small file per stored document, same size and change time) is written to
INDEX_DIR/../corpus so `docbot index` finds everything unchanged.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEED = 7
DIMENSION = 384
WORDS = (
    "index vector answer question model token cache build engine search corpus document release "
    "server client thread memory latency format version upgrade config option network storage "
    "python library module function class method error warning install package test benchmark"
).split()
CHARS_PER_CHUNK = 650


def write_synthetic_index(index_dir: Path, chunks: int, files: int) -> Path:
    """Write the index and its corpus; returns the corpus folder."""
    from docbot.index.chunking import Chunk, ChunkingParams
    from docbot.index.documents import file_sha256
    from docbot.index.embedder import PACKAGED_EMBEDDER
    from docbot.index.paragraphs import Location
    from docbot.index.store import FileEntry, IndexStore, Manifest

    rng = np.random.default_rng(SEED)
    corpus = index_dir.parent / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    names = sorted(f"docs/file-{n:05}.md" for n in range(files))
    per_file = np.full(files, chunks // files)
    per_file[: chunks % files] += 1
    entries: dict[str, FileEntry] = {}
    stored: list[Chunk] = []
    for name, count in zip(names, per_file, strict=True):
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {name}\n\nA stand-in for a document of {count} chunks.\n", encoding="utf-8")
        stat = path.stat()
        entries[name] = FileEntry(file_sha256(path), stat.st_size, stat.st_mtime_ns, int(count))
        for ordinal in range(int(count)):
            words = rng.choice(WORDS, CHARS_PER_CHUNK // 7)
            text = " ".join(words) + f" {name} part {ordinal}."
            stored.append(Chunk(name, ordinal, f"Section {ordinal}", Location("line", ordinal + 1, ordinal + 9), text))
    vectors = rng.standard_normal((len(stored), DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunking = ChunkingParams(max_chars=700, overlap_sentences=1).as_dict()
    store = IndexStore(index_dir, approximate_above=100_000)
    with store.lock():
        store.write(Manifest(PACKAGED_EMBEDDER, DIMENSION, chunking, entries), stored, vectors)
    return corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--chunks", type=int, default=80_000)
    parser.add_argument("--files", type=int, default=3_000)
    args = parser.parse_args()
    corpus = write_synthetic_index(args.index_dir, args.chunks, args.files)
    print(f"{args.chunks} chunks of {args.files} files in {args.index_dir} (corpus {corpus})")


if __name__ == "__main__":
    main()
