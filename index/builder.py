"""Build or refresh an index: re-embed only what changed, then swap the new index in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from docbot.index.chunking import Chunk, ChunkingParams, chunk_paragraphs
from docbot.index.corpus import CorpusFile, count_kinds, find_corpus_files
from docbot.index.document_embedding import DocumentEmbedding, embed_chunks
from docbot.index.documents import file_sha256, read_paragraphs, supported_formats
from docbot.index.embedder import Embedder
from docbot.index.errors import EmptyCorpusError, IndexCorruptError
from docbot.index.paragraphs import UnreadableFileError, cannot_read
from docbot.index.store import FORMAT_VERSION, REBUILD_ADVICE, FileEntry, IndexStore, Manifest, StoredIndex

NO_TEXT = "no text"
Kept = tuple[str, list[Chunk], np.ndarray | None]  # (file, its chunks, their vectors or None: to embed)


@dataclass
class BuildReport:
    """What a build did, for the one-line summary."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (document, reason), each warned about
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (entry, kind): not documents (corpus.py)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    written: bool = False

    def summary(self) -> str:
        skipped = len(self.skipped) + len(self.ignored)
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {skipped} skipped{self.skipped_kinds()}; {self.chunks} chunks "
            f"({self.embedded} embedded) in {self.seconds:.1f} s"
        )

    def skipped_kinds(self) -> str:
        """What was skipped, by kind, e.g. " (12 .png, 1 unreadable document)"; "" when nothing was."""
        documents = ["empty document" if reason == NO_TEXT else "unreadable document" for _, reason in self.skipped]
        kinds = documents + [kind for _, kind in self.ignored]
        return f" ({count_kinds(kinds)})" if kinds else ""


@dataclass
class BuildEvents:
    """Hooks a front end can fill to show progress; all optional."""

    on_warning: Callable[[str], None] = lambda message: None
    on_ignored: Callable[[str, str], None] = lambda entry, kind: None  # not a document: counted, not warned
    on_read_start: Callable[[int], None] = lambda total: None  # files to check
    on_read_progress: Callable[[int], None] = lambda done: None  # files taken up (read if new or changed)
    on_embed_start: Callable[[int], None] = lambda total: None
    on_embed_progress: Callable[[int], None] = lambda done: None


def build_index(
    corpus: Path,
    store: IndexStore,
    embedder: Embedder,
    chunking: ChunkingParams,
    rebuild: bool = False,
    events: BuildEvents | None = None,
    embedding: DocumentEmbedding | None = None,
) -> BuildReport:
    """Index `corpus` into `store`, reusing the vectors of files whose content is unchanged."""
    events = events or BuildEvents()
    embedding = embedding or DocumentEmbedding()
    started = time.perf_counter()
    report = BuildReport()
    listing = find_corpus_files(corpus)
    with store.lock():
        store.remove_leftovers()
        previous = None if rebuild else _reusable(store, embedder, chunking, embedding, events)
        old_files = previous.manifest.files if previous else {}
        files = listing.files
        report.ignored = listing.ignored
        for entry, kind in listing.ignored:
            events.on_ignored(entry, kind)
        if not files and not listing.unreadable:
            raise EmptyCorpusError(f"no {supported_formats()} files in {corpus}{report.skipped_kinds()}")
        for relpath, reason in listing.unreadable:
            _skip(report, events, relpath, reason)

        entries: dict[str, FileEntry] = {}
        kept: list[Kept] = []
        reused: list[str] = []
        events.on_read_start(len(files))
        for item in files:
            events.on_read_progress(1)
            old = old_files.get(item.relpath)
            try:
                sha = (
                    old.sha256
                    if old and (old.size, old.mtime_ns) == (item.size, item.mtime_ns)
                    else file_sha256(item.path)
                )
            except OSError as exc:
                _skip(report, events, item.relpath, cannot_read(exc))
                continue
            if previous and old and old.sha256 == sha:
                reused.append(item.relpath)  # its chunks are read only if the index is rewritten
                entries[item.relpath] = FileEntry(sha, item.size, item.mtime_ns, old.chunks)
                report.unchanged.append(item.relpath)
                continue
            chunks = _chunk_file(item, chunking, report, events)
            if chunks is None:
                continue
            kept.append((item.relpath, chunks, None))
            entries[item.relpath] = FileEntry(sha, item.size, item.mtime_ns, len(chunks))
            (report.changed if old else report.added).append(item.relpath)
        report.removed = sorted(set(old_files) - {item.relpath for item in files})
        if not entries:
            raise EmptyCorpusError(f"no readable documents in {corpus}{report.skipped_kinds()}")

        if previous and not (report.added or report.changed or report.removed):
            report.chunks = previous.manifest.chunk_count
        else:
            store.check_writable()  # before minutes of embedding, not after
            kept = sorted(kept + _reused_chunks(previous, reused), key=lambda item: item[0])  # files in name order
            chunks = [chunk for _, file_chunks, _ in kept for chunk in file_chunks]
            fresh = [chunk for _, file_chunks, vectors in kept if vectors is None for chunk in file_chunks]
            # A removal alone needs no model at all: the previous index knows the dimension.
            dimension = embedder.dimension if fresh or not previous else previous.manifest.dimension
            with store.vector_scratch(len(chunks), dimension) as embeddings:
                _fill_vectors(embeddings, kept, fresh, embedder, embedding, events)
                manifest = Manifest(
                    embedder.name, dimension, chunking.as_dict(), entries, embedding_precision=embedding.precision
                )
                store.write(manifest, chunks, embeddings)
            report.embedded = len(fresh)
            report.chunks = len(chunks)
            report.written = True
    if not report.embedded:  # else embedding documents made it (Embedder.document_encoder)
        embedder.prepare_query_encoder()  # questions then load without torch: a no-op once it exists
    report.seconds = time.perf_counter() - started
    return report


def _reusable(
    store: IndexStore, embedder: Embedder, chunking: ChunkingParams, embedding: DocumentEmbedding, events: BuildEvents
) -> StoredIndex | None:
    """The live index if its vectors can be reused by this build, else None (full build)."""
    if not store.exists():
        return None
    try:
        previous = store.load()
    except IndexCorruptError as exc:
        events.on_warning(f"rebuilding from scratch: {str(exc).removesuffix(REBUILD_ADVICE)}")
        return None
    manifest = previous.manifest
    if (
        manifest.embedder != embedder.name
        or manifest.chunking != chunking.as_dict()
        or manifest.format_version != FORMAT_VERSION
        or manifest.embedding_precision != embedding.precision
    ):
        events.on_warning("embedder or chunking settings changed: re-embedding everything")
        return None
    return previous


def _reused_chunks(previous: StoredIndex | None, names: list[str]) -> list[Kept]:
    """The stored chunks and vectors of unchanged files, each file read in one piece."""
    if previous is None:
        return []
    reused: list[Kept] = []
    for name in names:
        rows = previous.chunks_of(name)
        block = slice(rows.start, rows.stop)
        reused.append((name, list(previous.chunks[block]), previous.embeddings[block]))
    return reused


def _chunk_file(
    item: CorpusFile, chunking: ChunkingParams, report: BuildReport, events: BuildEvents
) -> list[Chunk] | None:
    try:
        chunks = chunk_paragraphs(item.relpath, read_paragraphs(item.path), chunking)
    except UnreadableFileError as exc:
        _skip(report, events, item.relpath, str(exc))
        return None
    if not chunks:
        _skip(report, events, item.relpath, NO_TEXT)
        return None
    return chunks


def _skip(report: BuildReport, events: BuildEvents, relpath: str, reason: str) -> None:
    report.skipped.append((relpath, reason))
    events.on_warning(f"skipped {relpath}: {reason}")


def _fill_vectors(
    embeddings: np.ndarray,
    kept: list[Kept],
    fresh: list[Chunk],
    embedder: Embedder,
    embedding: DocumentEmbedding,
    events: BuildEvents,
) -> None:
    """Write every chunk's vector into `embeddings` (rows in corpus order), embedding the new ones.

    New vectors go to their rows batch by batch, so no second copy of the corpus's vectors is
    ever held: `embeddings` lives on disk (IndexStore.vector_scratch).
    """
    rows = np.zeros(len(fresh), dtype=np.int64)  # fresh chunk i belongs in row rows[i]
    cursor = fresh_cursor = 0
    for _, chunks, vectors in kept:
        if vectors is None:
            rows[fresh_cursor : fresh_cursor + len(chunks)] = np.arange(cursor, cursor + len(chunks))
            fresh_cursor += len(chunks)
        else:
            embeddings[cursor : cursor + len(chunks)] = vectors
        cursor += len(chunks)
    if not fresh:
        return
    events.on_embed_start(len(fresh))

    def store_batch(positions: list[int], vectors: np.ndarray) -> None:
        embeddings[rows[positions]] = vectors
        embedder.embedded_count += len(positions)
        events.on_embed_progress(len(positions))

    embed_chunks(embedder, fresh, embedding, store_batch)
