"""The feedback store for an event loop: every call runs on one writer thread, and a failure is one log line.

One thread keeps SQLite's writes in the order they were asked for (an answer is recorded before a vote
on it can be) and off the event loop, which never waits on a lock or the disk.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from docbot.feedback.store import AnswerRecord, FeedbackStore, FeedbackStoreError, GapQuestion, Vote, VoteResult

log = logging.getLogger("docbot.feedback")

T = TypeVar("T")
NOT_RECORDED = "feedback not recorded"


class FeedbackRecorder:
    """Records answers and votes without blocking the loop; None from a call means "not recorded"."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docbot-feedback")
        self._closed = False

    def record_answer(self, record: AnswerRecord) -> None:
        """Queue a sent answer for the database now, ahead of any vote on it (a failure is logged)."""
        if self._closed:
            log.warning("%s: the bot is stopping", NOT_RECORDED)
            return
        written = self._thread.submit(self._logged, NOT_RECORDED, self.store.record_answer, record)
        written.add_done_callback(_log_crash)

    async def vote(self, answer_id: str, voter_id: int, vote: Vote) -> VoteResult | None:
        """Store a user's vote on an answer (a second press replaces the first)."""
        return await self._run(NOT_RECORDED, self.store.record_vote, answer_id, voter_id, vote)

    async def gap_questions(self, kb: str, since: float) -> list[GapQuestion] | None:
        """The refused and 👎 answers of a knowledge base since `since` (Unix time)."""
        return await self._run("feedback not read", self.store.gap_questions, kb, since)

    async def close(self) -> None:
        """Finish the writes already asked for, then close the database; later calls are not recorded."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self.store.close)
        self._thread.shutdown()

    async def _run(self, failure: str, call: Callable[..., T], *args: object) -> T | None:
        if self._closed:
            log.warning("%s: the bot is stopping", failure)
            return None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(self._logged, failure, call, *args))

    @staticmethod
    def _logged(failure: str, call: Callable[..., T], *args: object) -> T | None:
        """`call(*args)` on the feedback thread; a database failure is one log line and None."""
        try:
            return call(*args)
        except FeedbackStoreError as exc:
            log.warning("%s: %s", failure, exc)
            return None


def _log_crash(done: Future[Any]) -> None:
    """A write no one awaits still reports a bug, with its traceback."""
    if done.exception() is not None:
        log.error("recording feedback failed", exc_info=done.exception())
