"""Build progress where no one watches a bar (nohup, a log file, CI, systemd): a line every few seconds."""

from __future__ import annotations

import time
from collections.abc import Callable

from docbot.index.builder import BuildEvents


class ProgressLog:
    """Writes "embedding 1200/5000 chunks (24%), 38.2 chunks/s, ETA 1m40s" at most every `interval` seconds."""

    def __init__(
        self, write: Callable[[str], None], interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._write = write
        self._interval = interval
        self._clock = clock
        self._phase = self._unit = ""
        self._total = self._done = 0
        self._started = self._last = 0.0

    def events(self) -> BuildEvents:
        """Build hooks that feed this log: reading files, then embedding chunks."""
        return BuildEvents(
            on_read_start=lambda total: self.start("reading", "files", total),
            on_read_progress=self.advance,
            on_embed_start=lambda total: self.start("embedding", "chunks", total),
            on_embed_progress=self.advance,
        )

    def start(self, phase: str, unit: str, total: int) -> None:
        """A phase of `total` units begins; its rate is measured from now."""
        self._phase, self._unit, self._total, self._done = phase, unit, total, 0
        self._started = self._last = self._clock()

    def advance(self, done: int) -> None:
        """`done` more units are finished; log a line if the last one is `interval` seconds old."""
        self._done += done
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            self._write(self._line(now - self._started))

    def _line(self, elapsed: float) -> str:
        rate = self._done / elapsed if elapsed > 0 else 0.0
        left = self._total - self._done
        eta = _duration(left / rate) if rate else "unknown"
        share = 100 * self._done // max(self._total, 1)
        return f"{self._phase} {self._done}/{self._total} {self._unit} ({share}%), {rate:.1f} {self._unit}/s, ETA {eta}"


def _duration(seconds: float) -> str:
    """42s, 3m05s, 1h02m."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
