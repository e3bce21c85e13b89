"""The chunks of a generation on disk: one JSON line each, found by an offset table, read on demand.

A large index has tens of thousands of chunks and a question shows five: parsing them all cost
seconds at every start. `offsets.npy` holds the byte offset of each line (and the file's end), so
a chunk, or a run of them, is one read of just its bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, overload

import numpy as np

from docbot.index.ast_race import retry_ast_race
from docbot.index.chunking import Chunk

CHUNKS_FILE = "chunks.jsonl"
OFFSETS_FILE = "offsets.npy"


def write_chunks(handle: BinaryIO, chunks: Iterable[Chunk]) -> np.ndarray:
    """Write `chunks` as JSON lines to `handle`; returns their offsets (one more than chunks: the end)."""
    offsets = [0]
    for chunk in chunks:
        line = (json.dumps(chunk.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
        handle.write(line)
        offsets.append(offsets[-1] + len(line))
    return np.asarray(offsets, dtype=np.int64)


class ChunkTable(Sequence[Chunk]):
    """The chunks of one generation, read from disk when asked for."""

    def __init__(self, folder: Path, offsets: np.ndarray) -> None:
        self.path = folder / CHUNKS_FILE
        self.offsets = offsets  # memory-mapped: opening the table reads nothing else

    @classmethod
    def open(cls, folder: Path) -> ChunkTable:
        """The table of `folder`; raises OSError or ValueError if its files are missing or damaged."""
        offsets = retry_ast_race(lambda: np.load(folder / OFFSETS_FILE, mmap_mode="r", allow_pickle=False))
        if offsets.ndim != 1 or not len(offsets) or offsets[-1] != (folder / CHUNKS_FILE).stat().st_size:
            raise ValueError(f"{OFFSETS_FILE} does not match {CHUNKS_FILE}")
        return cls(folder, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            start, stop, step = row.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self.rows(start, stop)
        if not -len(self) <= row < len(self):
            raise IndexError(row)
        row %= len(self)
        return self.rows(row, row + 1)[0]

    def rows(self, start: int, stop: int) -> list[Chunk]:
        """Chunks start..stop-1, in one read."""
        if start >= stop:
            return []
        begin, end = int(self.offsets[start]), int(self.offsets[stop])
        with self.path.open("rb") as handle:
            handle.seek(begin)
            data = handle.read(end - begin)
        return [Chunk.from_json(json.loads(line)) for line in data.decode("utf-8").splitlines()]

    def __iter__(self) -> Iterator[Chunk]:
        return iter(self.rows(0, len(self)))
