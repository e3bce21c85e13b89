"""The index an engine answers from, kept current while it answers: rebuilt in place, swapped in whole.

A refresh runs the usual incremental build (only changed files are embedded) on the caller's thread,
never on the event loop, and one at a time: /reindex, /add and the corpus watch share one lock. The
new index is loaded and warmed (BM25) before the engine switches to it, so the next question gets it
at once, and an answer in flight finishes on the index it began with (Engine.use_retriever).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from docbot.components import chunking_params, index_corpus, make_store, open_retriever
from docbot.engine.answer import Engine
from docbot.errors import DocbotError
from docbot.index.builder import BuildEvents, BuildReport
from docbot.index.chunking import chunk_paragraphs
from docbot.index.documents import read_paragraphs
from docbot.index.durable import fsync
from docbot.index.paragraphs import UnreadableFileError
from docbot.index.watch import watch_corpus
from docbot.settings import Settings

log = logging.getLogger("docbot.index")


class DocumentExistsError(DocbotError):
    """A document of that name is already in the corpus, and replacing it was not asked for."""


class DocumentUnreadableError(DocbotError):
    """A document to add cannot be read (its converter failed) or holds no text."""


class DocumentSaveError(DocbotError):
    """A document to add cannot be written into the corpus folder (read-only, full, a folder of that name)."""


class DocumentNotIndexedError(DocbotError):
    """A document was added to the corpus, but the rebuild that should index it failed."""


class LiveIndex:
    """One corpus, its index, and the engine answering from it."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._building = threading.Lock()
        self._events = BuildEvents(on_warning=log.warning)

    @property
    def corpus(self) -> Path:
        return Path(self.settings.corpus)

    def refresh(self) -> BuildReport:
        """Bring the index up to date with the corpus; the next question is answered from it. Blocks."""
        with self._building:
            embedder = self.engine.retriever.embedder
            report = index_corpus(self.settings, embedder, events=self._events)
            if report.written or make_store(self.settings).current_path() != self.engine.retriever.index.path:
                retriever = open_retriever(self.settings, embedder)
                retriever.search("warm up", 1)  # BM25 is built here, not in the next user's wait
                self.engine.use_retriever(retriever)
            return report

    def has_document(self, name: str) -> bool:
        """Whether the corpus folder holds an entry named `name` (a plain file name)."""
        return os.path.lexists(self.corpus / name)

    def chunks_of(self, name: str) -> int:
        """How many chunks of the document `name` (relative to the corpus) the live index holds."""
        entry = self.engine.retriever.index.manifest.files.get(name)
        return entry.chunks if entry else 0

    def add_document(self, name: str, data: bytes, replace: bool = False) -> int:
        """Save `data` as the corpus file `name`, index it and return its chunk count.

        The file is checked with its converter first and written whole under a hidden temporary name,
        then put in place in one step, so neither the watch nor a crash ever sees half a file. Raises
        DocumentExistsError (unless `replace`), DocumentUnreadableError or DocumentSaveError, the corpus
        then unchanged; or DocumentNotIndexedError when the file was saved but the rebuild failed.
        """
        if name != Path(name).name or name.startswith(".") or name in ("", ".."):
            raise DocbotError(f"not a plain file name: {name!r}")  # front ends sanitise names first
        target = self.corpus / name
        if not replace and self.has_document(name):
            raise DocumentExistsError(f"{name} is already in the documents")
        temporary = self.corpus / f".docbot-add-{uuid.uuid4().hex[:8]}-{name}"  # keeps the suffix its reader needs
        try:
            _write_durably(temporary, data)
            _check_readable(temporary, name, self.settings)
            if replace:
                os.replace(temporary, target)
            else:
                os.link(temporary, target)  # fails if the name was taken meanwhile: never overwrites
            fsync(self.corpus)
        except FileExistsError:
            raise DocumentExistsError(f"{name} is already in the documents") from None
        except OSError as exc:
            raise DocumentSaveError(f"cannot save {name} in the documents folder: {exc.strerror or exc}") from None
        finally:
            temporary.unlink(missing_ok=True)
        try:
            self.refresh()
        except DocbotError as exc:
            raise DocumentNotIndexedError(str(exc)) from None
        return self.chunks_of(name)

    def watch(self, stop: threading.Event, on_ready: Callable[[], None] = lambda: None) -> None:
        """Refresh once per burst of corpus changes until `stop` is set; a failed refresh is one log line."""

        def rebuild(_changed: set[str]) -> None:  # the build re-walks the corpus: the paths are only a hint
            try:
                report = self.refresh()
            except DocbotError as exc:
                log.error("re-indexing after a change failed, answering from the previous index: %s", exc)
            else:  # a change already indexed (by /add, say) leaves nothing to tell
                (log.info if report.written else log.debug)("documents changed, re-indexed: %s", report.summary())

        def ready() -> None:
            log.info("watching %s for changes", self.corpus)
            on_ready()

        watch_corpus(self.corpus, rebuild, stop, self.settings.resolved_index_dir(), on_ready=ready)


def _write_durably(path: Path, data: bytes) -> None:
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _check_readable(path: Path, name: str, settings: Settings) -> None:
    """Raise DocumentUnreadableError unless the file at `path` gives at least one chunk."""
    try:
        chunks = chunk_paragraphs(name, read_paragraphs(path), chunking_params(settings))
    except UnreadableFileError as exc:
        raise DocumentUnreadableError(f"cannot read {name}: {exc}") from None
    if not chunks:
        raise DocumentUnreadableError(f"{name} holds no text")
