"""One model, many users: a bounded first-come queue whose jobs run one at a time off the event loop.

The language model is CPU-bound and not thread-safe, so every job (answers and re-indexing alike)
runs on a single worker thread; the asyncio event loop stays free for the gateway heartbeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from docbot.errors import DocbotError

T = TypeVar("T")
PositionCallback = Callable[[int], None]  # called on the event loop; must not block


class QueueFullError(DocbotError):
    """Every place in the answer queue is taken."""


@dataclass(eq=False)
class _Job:
    work: Callable[[], Any]
    done: asyncio.Future[Any]
    on_position: PositionCallback | None = None
    position: int = -1  # last place told; 0 = running


class AnswerQueue:
    """Runs blocking jobs in arrival order on one worker thread; at most `size` jobs wait."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._waiting: list[_Job] = []
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docbot-model")
        self._runner: asyncio.Task[None] | None = None
        self.busy = False

    @property
    def waiting(self) -> int:
        """How many jobs wait for the worker (the running one excluded)."""
        return len(self._waiting)

    def submit(self, work: Callable[[], T], on_position: PositionCallback | None = None) -> asyncio.Future[T]:
        """Queue `work` now (or raise QueueFullError); the future holds its result. Call on the event loop."""
        if len(self._waiting) >= self.size:
            raise QueueFullError(f"all {self.size} places in the queue are taken")
        self._ensure_runner()
        job = _Job(work, asyncio.get_running_loop().create_future(), on_position)
        self._waiting.append(job)
        self._wakeup.set()
        self._tell_position(job, len(self._waiting) if self.busy else len(self._waiting) - 1)
        return job.done

    async def run(self, work: Callable[[], T], on_position: PositionCallback | None = None) -> T:
        """Queue `work` and wait for its result; `on_position` hears its place in line as it changes."""
        return await self.submit(work, on_position)

    async def close(self) -> None:
        """Stop taking jobs; the running one finishes, waiting ones are cancelled."""
        if self._runner:
            self._runner.cancel()
        for job in self._waiting:
            job.done.cancel()
        self._waiting.clear()
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)

    def _ensure_runner(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run_jobs(), name="docbot-answer-queue")

    async def _run_jobs(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._waiting:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            job = self._waiting.pop(0)
            if job.done.cancelled():
                continue
            self.busy = True
            self._tell_position(job, 0)
            for place, queued in enumerate(self._waiting, start=1):
                self._tell_position(queued, place)
            try:
                result = await loop.run_in_executor(self._executor, job.work)
            except Exception as exc:  # handed to the waiting caller, who reports it to the user
                if not job.done.done():
                    job.done.set_exception(exc)
            else:
                if not job.done.done():
                    job.done.set_result(result)
            finally:
                self.busy = False

    @staticmethod
    def _tell_position(job: _Job, place: int) -> None:
        if job.on_position is None or job.position == place:
            return
        job.position = place
        job.on_position(place)
