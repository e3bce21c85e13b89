"""Keep an index current: watch the corpus folder and rebuild once per burst of changes.

A burst ends after QUIET_SECONDS without an event, or MAX_WAIT_SECONDS after its first event, so a
steady trickle of changes cannot postpone the rebuild forever. Measured with watchfiles 1.3 on
inotify: 1,000 files written as fast as possible arrive as one batch; a folder moved in arrives as
one event for the folder, never its files. The changed paths are therefore only a hint: the rebuild
re-walks the corpus and compares every file with the manifest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

from docbot.index.corpus import OFFICE_LOCK_PREFIX
from docbot.index.documents import SUPPORTED_SUFFIXES

QUIET_SECONDS = 1.0  # an editor's save (temp file, rename) is well inside this; a person's next save is not
MAX_WAIT_SECONDS = 30.0
# watchfiles hands over a batch after _STEP_MS without an event, or _BATCH_MS after its first one;
# the burst logic below only needs batches to come regularly.
_STEP_MS = 50
_BATCH_MS = 1600


class CorpusFilter(DefaultFilter):
    """Events that can change the index: documents and folders, but not hidden entries, Office lock
    files or the index folder itself (it may sit inside the corpus, and every rebuild writes to it)."""

    def __init__(self, index_dir: Path | None = None) -> None:
        super().__init__(ignore_paths=[str(index_dir.resolve())] if index_dir else ())

    def __call__(self, change: Change, path: str) -> bool:
        entry = Path(path)
        if entry.name.startswith((".", OFFICE_LOCK_PREFIX)) or not super().__call__(change, path):
            return False
        # A folder moved in or out reports only the folder; a deleted folder can no longer be asked.
        return entry.suffix.lower() in SUPPORTED_SUFFIXES or not entry.suffix or entry.is_dir()


def watch_corpus(
    corpus: Path,
    rebuild: Callable[[set[str]], None],
    stop: threading.Event,
    index_dir: Path | None = None,
    quiet_seconds: float = QUIET_SECONDS,
    max_wait_seconds: float = MAX_WAIT_SECONDS,
    on_ready: Callable[[], None] = lambda: None,
) -> None:
    """Call `rebuild(changed_paths)` once per burst of changes below `corpus`, until `stop` is set.

    `on_ready` is called once the watches are in place (watchfiles' first batch, at the latest one
    quiet window after the start): a change made after it is never missed.

    Ctrl+C in the main thread raises KeyboardInterrupt out of here; errors from `rebuild` propagate too,
    so the caller decides which ones the watch survives.
    """
    pending: set[str] = set()
    first = 0.0
    started = False
    for changes in watch(
        corpus.resolve(),
        watch_filter=CorpusFilter(index_dir),
        debounce=_BATCH_MS,
        step=_STEP_MS,
        stop_event=stop,
        rust_timeout=int(quiet_seconds * 1000),  # this long with no event yields an empty set: the quiet signal
        yield_on_timeout=True,
    ):
        if not started:
            started = True
            on_ready()
        if changes:
            if not pending:
                first = time.monotonic()
            pending |= {path for _, path in changes}
            if time.monotonic() - first < max_wait_seconds:
                continue
        if pending and not stop.is_set():
            batch, pending = pending, set()
            rebuild(batch)
