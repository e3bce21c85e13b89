"""The feedback store for an event loop: every call runs on one writer thread, and a failure is one log line.

One thread keeps SQLite's writes in the order they were asked for (an answer is recorded before a vote
on it can be) and off the event loop, which never waits on a lock or the disk.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from docbot.feedback.store import AnswerRecord, FeedbackStore, FeedbackStoreError, GapQuestion, Vote, VoteResult

log = logging.getLogger("docbot.feedback")

T = TypeVar("T")
NOT_RECORDED = "feedback not recorded"


class FeedbackRecorder:
    """Records answers and votes without blocking the loop; None from a call means "not recorded"."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docbot-feedback")

    async def record_answer(self, record: AnswerRecord) -> bool:
        """Keep a sent answer so votes on it find its question; False if the database failed."""

        def record_it() -> bool:
            self.store.record_answer(record)
            return True

        return bool(await self._run(NOT_RECORDED, record_it))

    async def vote(self, answer_id: str, voter_id: int, vote: Vote) -> VoteResult | None:
        """Store a user's vote on an answer (a second press replaces the first)."""
        return await self._run(NOT_RECORDED, self.store.record_vote, answer_id, voter_id, vote)

    async def gap_questions(self, kb: str, since: float) -> list[GapQuestion] | None:
        """The refused and 👎 answers of a knowledge base since `since` (Unix time)."""
        return await self._run("feedback not read", self.store.gap_questions, kb, since)

    async def close(self) -> None:
        """Finish the writes already asked for, then close the database."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self.store.close)
        self._thread.shutdown()

    async def _run(self, failure: str, call: Callable[..., T], *args: object) -> T | None:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, functools.partial(call, *args))
        except FeedbackStoreError as exc:
            log.warning("%s: %s", failure, exc)
            return None
