"""Writes that survive a crash and, when the disk refuses them, fail with the system's reason.

Everything goes through Python's file objects, so a full disk is OSError(ENOSPC) at the write that
hit it: numpy's own fwrite says only "1152 requested and 992 written", and faiss's own writer
prints a failed close and carries on (both seen on a full 1 MB tmpfs).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

TEMPORARY_SUFFIX = ".tmp"  # a hidden `.<name>.<random>.tmp` beside the file it will replace


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: a reader sees the old content or the new, never half."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{TEMPORARY_SUFFIX}")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync(path.parent)


def save_array(handle: BinaryIO, array: np.ndarray, dtype: type = np.float32) -> None:
    """`array` as `dtype` in .npy format (what np.load reads)."""
    array = np.ascontiguousarray(array, dtype=dtype)
    np.lib.format.write_array_header_1_0(handle, np.lib.format.header_data_from_array_1_0(array))
    handle.write(array.data)


def save_vectors(handle: BinaryIO, vectors: Any) -> None:
    """A faiss index (what faiss.read_index reads)."""
    import faiss

    writer = faiss.PyCallbackIOWriter(handle.write)  # type: ignore[attr-defined]  # missing from faiss's stubs
    faiss.write_index(vectors, writer)


def fsync(path: Path) -> None:
    """Flush a file or a folder's entries to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
