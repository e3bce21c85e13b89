"""The on-disk index: chunks, their vectors and a manifest, swapped in atomically.

Layout of an index folder:

    CURRENT              name of the live generation (replaced atomically)
    gen-<id>/            manifest.json, chunks.jsonl, offsets.npy, embeddings.npy, vectors.faiss,
                         keywords/ (BM25); chunks are stored file by file, in the order of the names
    .lock                held by the build writing a new generation
    .staging-<id>/       a generation being written (a killed build's is removed by the next one)

A build writes a whole new generation beside the live one and only then points CURRENT at it,
so a build that fails or is killed at any moment leaves the previous index in service. A folder
that cannot be written (read-only, full, gone) is one IndexWriteError naming the reason; an index
nobody may write is still served, and refreshing it is a no-op while its corpus is unchanged.

Opening a generation reads only its manifest and BM25 vocabulary: vectors, BM25 scores and chunk
offsets are memory-mapped and chunk texts are read when asked for, so an 80k-chunk index opens in
a fraction of a second (it took 13-17 s when everything was read and BM25 rebuilt).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from docbot.index.ast_race import retry_ast_race
from docbot.index.chunk_file import CHUNKS_FILE, OFFSETS_FILE, ChunkTable, write_chunks
from docbot.index.chunking import Chunk
from docbot.index.durable import TEMPORARY_SUFFIX, fsync, save_array, save_vectors, write_atomically
from docbot.index.errors import IndexBusyError, IndexCorruptError, IndexNotFoundError, IndexWriteError
from docbot.index.keywords import KEYWORDS_DIR, build_keywords, load_keywords, save_keywords

# 2: chunk locations are {kind, start, end} objects, not "lines 3-5" strings;
# 3: BM25 and chunk offsets saved, chunks in file-name order (an older index is rebuilt by `docbot index`)
FORMAT_VERSION = 3
REBUILD_ADVICE = ": rebuild with `docbot index --rebuild`"  # ends every IndexCorruptError
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
STAGING_PREFIX = ".staging-"
# The .lock file cannot be opened for these reasons when the folder is read-only to this user.
READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
MANIFEST_FILE = "manifest.json"
EMBEDDINGS_FILE = "embeddings.npy"
VECTORS_FILE = "vectors.faiss"
GENERATION_FILES = (CHUNKS_FILE, OFFSETS_FILE, EMBEDDINGS_FILE, VECTORS_FILE, MANIFEST_FILE)
# Above `approximate_above` vectors (a setting) the store switches from exact search to an
# inverted-file index (IVF): it built 1M vectors in 3 minutes on 2 busy cores, where HNSW takes
# tens of minutes, and probing IVF_PROBED_LISTS of ~2*sqrt(n) lists keeps recall@10 above 0.95
# (scripts/bench.py).
# One question is one small search: a second OpenMP thread only adds waiting, and on a busy
# machine made exact search over 100k vectors 3x slower (45 vs 14 ms).
SEARCH_THREADS = 1
IVF_LISTS_PER_SQRT_N = 2
IVF_MIN_VECTORS_PER_LIST = 39  # faiss's k-means wants at least this many training points per list
IVF_TRAINING_VECTORS_PER_LIST = 64  # a sample of this size trains as well as all vectors, much faster
IVF_PROBED_LISTS = 32
TRAINING_SEED = 0


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int
    mtime_ns: int
    chunks: int


@dataclass
class Manifest:
    """What an index was built from and with; decides what a rebuild may reuse."""

    embedder: str
    dimension: int
    chunking: dict[str, int]
    files: dict[str, FileEntry] = field(default_factory=dict)
    chunk_count: int = 0
    index_type: str = "flat"
    built_at: float = 0.0
    format_version: int = FORMAT_VERSION
    embedding_precision: str = "float32"  # of the documents' vectors (document_embedding.py); questions: float32

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        files = {name: FileEntry(**entry) for name, entry in data.pop("files").items()}
        return cls(files=files, **data)


@dataclass
class StoredIndex:
    """An open generation: everything search needs, mapped from disk and read as it is used."""

    manifest: Manifest
    chunks: Sequence[Chunk]  # a ChunkTable when loaded from disk
    embeddings: np.ndarray  # (n, dimension) float32, row i = chunks[i]; memory-mapped when loaded
    vectors: Any  # faiss.Index over `embeddings`
    path: Path
    _keywords: Any = field(default=None, repr=False)  # bm25s.BM25, loaded on first use

    def chunks_of(self, doc: str) -> range:
        """Rows of `doc`'s chunks: files are stored one after another in the order of their names."""
        start = 0
        for name in sorted(self.manifest.files):
            count = self.manifest.files[name].chunks
            if name == doc:
                return range(start, start + count)
            start += count
        return range(0)

    def keywords(self) -> Any:
        """The BM25 index over the chunks (bm25s.BM25), memory-mapped on first use."""
        if self._keywords is None:
            try:
                keywords = load_keywords(self.path / KEYWORDS_DIR)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise _damaged(self.path, exc) from None
            if keywords.scores.get("num_docs") != len(self.chunks):
                raise _damaged(self.path, ValueError("the keyword index does not match the chunks"))
            self._keywords = keywords
        return self._keywords

    def nearest(self, query: np.ndarray, n: int) -> list[int]:
        """Rows of the n vectors most similar to `query` (a unit vector), best first."""
        import faiss

        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(SEARCH_THREADS)
        try:
            _, rows = self.vectors.search(query.reshape(1, -1).astype(np.float32), n)
        finally:
            faiss.omp_set_num_threads(before)
        return [int(row) for row in rows[0] if row >= 0]


class IndexStore:
    """Reads and atomically replaces the index kept in one folder."""

    def __init__(self, root: Path, approximate_above: int) -> None:
        self.root = Path(root)
        self.approximate_above = approximate_above

    def exists(self) -> bool:
        return (self.root / CURRENT_FILE).is_file()

    def current_path(self) -> Path:
        try:
            name = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexNotFoundError(f"no index in {self.root}: run `docbot index` first") from None
        except NotADirectoryError:
            raise IndexNotFoundError(
                f"index folder {self.root} is not a folder: point --index-dir at the folder `docbot index` built"
            ) from None
        except OSError as exc:
            raise IndexCorruptError(f"cannot read {self.root / CURRENT_FILE}: {exc}") from None
        if not name.startswith("gen-") or "/" in name:
            raise IndexCorruptError(f"index pointer {self.root / CURRENT_FILE} is damaged" + REBUILD_ADVICE)
        return self.root / name

    def read_manifest(self) -> Manifest:
        path = self.current_path() / MANIFEST_FILE
        try:
            manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise IndexCorruptError(f"index manifest {path} is unreadable ({exc})" + REBUILD_ADVICE) from None
        if manifest.format_version != FORMAT_VERSION:
            raise IndexCorruptError(
                f"index in {self.root} has format {manifest.format_version}, this docbot reads "
                f"{FORMAT_VERSION}" + REBUILD_ADVICE
            )
        return manifest

    def load(self) -> StoredIndex:
        """The live generation, fully loaded. Raises a named error if absent or damaged."""
        import faiss

        manifest = self.read_manifest()
        path = self.current_path()
        mapped = faiss.IO_FLAG_MMAP_IFC if manifest.index_type == "flat" else faiss.IO_FLAG_MMAP
        try:
            chunks = ChunkTable.open(path)
            embeddings = retry_ast_race(lambda: np.load(path / EMBEDDINGS_FILE, mmap_mode="r", allow_pickle=False))
            vectors = faiss.read_index(str(path / VECTORS_FILE), mapped | faiss.IO_FLAG_READ_ONLY)
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise _damaged(path, exc) from None
        if not (len(chunks) == embeddings.shape[0] == vectors.ntotal == manifest.chunk_count):
            raise IndexCorruptError(f"index files in {path} disagree on the number of chunks" + REBUILD_ADVICE)
        return StoredIndex(manifest, chunks, embeddings, vectors, path)

    def write(self, manifest: Manifest, chunks: list[Chunk], embeddings: np.ndarray) -> Path:
        """Write a new generation and make it live in one atomic step; returns its folder.

        Raises IndexWriteError if the folder cannot take it; the live generation is then untouched.
        """
        generation = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        staging = self.root / f"{STAGING_PREFIX}{generation}"
        previous = self._live_generation()
        try:
            # Not created again if gone: the lock lived in it, so another build may be starting there.
            staging.mkdir()
            manifest.index_type = "ivf" if len(chunks) > self.approximate_above else "flat"
            manifest.chunk_count = len(chunks)
            manifest.built_at = time.time()
            self._write_generation(staging, manifest, chunks, embeddings)
            os.rename(staging, self.root / generation)
            write_atomically(self.root / CURRENT_FILE, generation + "\n")
        except BaseException as exc:
            swapped = self._live_generation() == generation  # only syncing the folder after the swap failed
            if not swapped:
                for folder in (staging, self.root / generation):
                    shutil.rmtree(folder, ignore_errors=True)
            if not isinstance(exc, OSError):
                raise
            if not self.root.is_dir():
                raise IndexWriteError(
                    f"the index folder {self.root} vanished during the build: run `docbot index` again"
                ) from None
            raise self._write_error(exc, previous_kept=not swapped) from None
        # The previous generation stays one more round for readers that are loading it right now.
        self._remove_stale(keep={generation, previous})
        return self.root / generation

    @contextmanager
    def vector_scratch(self, count: int, dimension: int) -> Iterator[np.ndarray]:
        """A (count, dimension) float32 array on disk in the index folder, for a build to fill
        batch by batch and hand to write(); removed afterwards (a killed build's by the next)."""
        path = self.root / f".vectors-{uuid.uuid4().hex[:8]}{TEMPORARY_SUFFIX}"
        try:
            with path.open("wb") as handle:
                # Reserved now: a full disk is ENOSPC here, not a crash when a mapped page is written.
                if count and hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(handle.fileno(), 0, count * dimension * 4)
            vectors = np.memmap(path, np.float32, "r+", shape=(count, dimension)) if count else None
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise self._write_error(exc) from None
        try:
            yield vectors if vectors is not None else np.zeros((0, dimension), np.float32)
        finally:
            del vectors
            path.unlink(missing_ok=True)

    def build_vectors(self, embeddings: np.ndarray) -> Any:
        """An exact inner-product index for small stores, IVF above `approximate_above`."""
        import faiss

        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        count, dimension = embeddings.shape
        exact = faiss.IndexFlatIP(dimension)
        index: faiss.Index = exact
        if count > self.approximate_above:
            lists = ivf_list_count(count)
            ivf = faiss.IndexIVFFlat(exact, dimension, lists, faiss.METRIC_INNER_PRODUCT)  # exact holds the centroids
            sample = np.random.default_rng(TRAINING_SEED).permutation(count)[: lists * IVF_TRAINING_VECTORS_PER_LIST]
            ivf.train(embeddings[np.sort(sample)])
            ivf.nprobe = min(IVF_PROBED_LISTS, lists)  # saved with the index
            index = ivf
        if count:
            index.add(embeddings)
        return index

    def _write_generation(self, folder: Path, manifest: Manifest, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        _check_file_order(manifest, chunks)
        with (folder / CHUNKS_FILE).open("wb") as handle:
            offsets = write_chunks(handle, chunks)
        with (folder / OFFSETS_FILE).open("wb") as handle:
            save_array(handle, offsets, dtype=np.int64)
        with (folder / EMBEDDINGS_FILE).open("wb") as handle:
            save_array(handle, embeddings)
        with (folder / VECTORS_FILE).open("wb") as handle:
            # Built here and dropped when saved: the vector index (a copy of every vector) and BM25,
            # built next, are never in memory at once (~120 MB less at the peak of an 80k-chunk build).
            save_vectors(handle, self.build_vectors(embeddings))
        keywords = save_keywords(build_keywords(chunk.embedding_text() for chunk in chunks), folder / KEYWORDS_DIR)
        # The manifest goes last: a generation without one is never complete.
        (folder / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
        for path in (*keywords, *(folder / name for name in (KEYWORDS_DIR, *GENERATION_FILES))):
            fsync(path)
        fsync(folder)

    def _remove_stale(self, keep: set[str]) -> None:
        for entry in self._entries():
            if entry.is_dir() and entry.name not in keep and entry.name.startswith(("gen-", STAGING_PREFIX)):
                shutil.rmtree(entry, ignore_errors=True)

    def remove_leftovers(self) -> None:
        """Remove what a killed build left behind: staging folders and temporary files. Call under the lock."""
        for entry in self._entries():
            if entry.name.startswith(STAGING_PREFIX):
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(".") and entry.name.endswith(TEMPORARY_SUFFIX):
                with suppress(OSError):  # a read-only index keeps it; the next build that can write removes it
                    entry.unlink()

    def _entries(self) -> list[Path]:
        try:
            return list(self.root.iterdir())
        except OSError:  # the folder is gone or unreadable: nothing of ours to tidy
            return []

    def check_writable(self) -> None:
        """Raise IndexWriteError now, before any embedding, if a new generation cannot be written here."""
        try:
            Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root)).rmdir()
        except OSError as exc:
            raise self._write_error(exc) from None

    def _live_generation(self) -> str:
        try:
            return self.current_path().name
        except (IndexNotFoundError, IndexCorruptError):
            return ""

    def _write_error(self, exc: OSError, previous_kept: bool = True) -> IndexWriteError:
        why = exc.strerror.lower() if exc.strerror else str(exc)
        kept = "; the previous index is untouched" if previous_kept and self.exists() else ""
        return IndexWriteError(f"cannot write the index in {self.root}: {why}{kept}")

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive right to build this index; a second builder gets IndexBusyError.

        An index this user may not write needs no lock (nobody here can change it): the build goes
        on, so an unchanged corpus is a clean no-op, and check_writable stops one that would write.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise IndexWriteError(
                f"index folder {self.root} is a file, not a folder: point --index-dir at a folder"
            ) from None
        except OSError as exc:
            raise self._write_error(exc) from None
        lock = FileLock(self.root / LOCK_FILE, timeout=0)  # the OS releases it if the build dies
        try:
            lock.acquire()
        except Timeout:
            raise IndexBusyError(f"another `docbot index` is building {self.root}; wait for it to finish") from None
        except OSError as exc:
            if exc.errno not in READ_ONLY_ERRNOS:
                raise self._write_error(exc) from None
            yield
            return
        try:
            yield
        finally:
            lock.release()


def _check_file_order(manifest: Manifest, chunks: list[Chunk]) -> None:
    """Chunks must come file by file in name order (StoredIndex.chunks_of finds them by counting)."""
    expected = [name for name in sorted(manifest.files) for _ in range(manifest.files[name].chunks)]
    if [chunk.doc for chunk in chunks] != expected:
        raise ValueError("chunks must be stored file by file, in the order of the file names")


def _damaged(path: Path, exc: BaseException) -> IndexCorruptError:
    return IndexCorruptError(f"index files in {path} are damaged ({str(exc).splitlines()[0]})" + REBUILD_ADVICE)


def ivf_list_count(count: int) -> int:
    """How many inverted lists an IVF index over `count` vectors gets (~2 sqrt(n))."""
    return max(1, min(int(IVF_LISTS_PER_SQRT_N * count**0.5), count // IVF_MIN_VECTORS_PER_LIST))
