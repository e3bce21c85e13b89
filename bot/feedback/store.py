"""The feedback database: every answer the bot gave, and the 👍/👎 votes on them, in one SQLite file.

Layout: `answers` (question, answer text, sources as JSON, knowledge base, channel, answered or
refused, when), `votes` (one row per answer and voter, the voter's id as a salted hash, up or down,
when) and `meta` (the salt, made when the file is). The schema's version is `PRAGMA user_version`;
MIGRATIONS[n] moves a file from version n to n + 1 in one transaction, so opening an older file
upgrades it and a newer one is refused with a message, never misread.

Safety: WAL journal (a reader never blocks the writer; a crash loses at most the last transactions,
never the file). Writes wait BUSY_TIMEOUT_SECONDS for another connection's lock, then fail with
FeedbackStoreError, as does a file that is not a database: the caller says "not recorded" and goes on.
The connection opens on first use and again after a failure, so a fixed file is picked up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from docbot.errors import DocbotError

# A vote must be acknowledged within Discord's 3-second interaction deadline, lock wait included.
BUSY_TIMEOUT_SECONDS = 1.0

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the first schema.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        answered INTEGER NOT NULL,
        sources TEXT NOT NULL,
        kb TEXT NOT NULL,
        channel_id INTEGER NOT NULL,
        asked_at REAL NOT NULL
    );
    CREATE INDEX answers_by_kb ON answers (kb, asked_at);
    CREATE TABLE votes (
        answer_id TEXT NOT NULL REFERENCES answers (id),
        voter TEXT NOT NULL,
        vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
        voted_at REAL NOT NULL,
        PRIMARY KEY (answer_id, voter)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class FeedbackStoreError(DocbotError):
    """The feedback database cannot be read or written (not a database, locked, newer, unwritable)."""


class UnknownAnswerError(FeedbackStoreError):
    """A vote names an answer the database does not hold (it was not recorded, or the file was replaced)."""


class Vote(StrEnum):
    UP = "up"
    DOWN = "down"


class VoteResult(Enum):
    NEW = "new"  # the voter's first vote on this answer
    CHANGED = "changed"  # replaced their other vote
    SAME = "same"  # they pressed the same button again


@dataclass(frozen=True)
class AnswerRecord:
    """An answer as sent to a channel; `id` is what its buttons carry."""

    id: str
    question: str
    answer: str
    answered: bool  # False: the bot said the documents do not answer it
    sources: list[dict[str, Any]]
    kb: str
    channel_id: int
    asked_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class GapQuestion:
    """One answer that was refused or got a 👎: a question the documents did not answer well."""

    question: str
    refused: bool
    thumbs_down: int  # voters whose vote on it is 👎 now
    asked_at: float


def new_answer_id() -> str:
    """A random id for an answer, short enough for a button's custom id."""
    return secrets.token_hex(8)


class FeedbackStore:
    """The SQLite file at `path` (made, with its folder, on first use). Not thread-safe: one caller at a time."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._salt = b""

    def record_answer(self, record: AnswerRecord) -> None:
        """Keep an answer, so a vote on it (even after a restart) and /gaps find its question."""
        row = (record.id, record.question, record.answer, int(record.answered), json.dumps(record.sources))
        self._write(
            "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, record.kb, record.channel_id, record.asked_at),
        )

    def record_vote(self, answer_id: str, voter_id: int, vote: Vote) -> VoteResult:
        """Store one user's vote on an answer; a second press replaces their first."""
        db = self._open()
        voter = self._voter(voter_id)
        try:
            with _transaction(db):
                if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                    raise UnknownAnswerError(f"feedback database {self.path} holds no answer {answer_id}")
                before = db.execute(
                    "SELECT vote FROM votes WHERE answer_id = ? AND voter = ?", (answer_id, voter)
                ).fetchone()
                db.execute(
                    "INSERT INTO votes VALUES (?, ?, ?, ?) ON CONFLICT (answer_id, voter) "
                    "DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
                    (answer_id, voter, vote.value, self._clock()),
                )
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        if before is None:
            return VoteResult.NEW
        return VoteResult.SAME if before[0] == vote.value else VoteResult.CHANGED

    def gap_questions(self, kb: str, since: float) -> list[GapQuestion]:
        """Answers in knowledge base `kb` since `since` (Unix time) that were refused or got a 👎, newest first."""
        rows = self._read(
            """
            SELECT a.question, a.answered, COUNT(v.voter), a.asked_at
            FROM answers a LEFT JOIN votes v ON v.answer_id = a.id AND v.vote = 'down'
            WHERE a.kb = ? AND a.asked_at >= ?
            GROUP BY a.id
            HAVING a.answered = 0 OR COUNT(v.voter) > 0
            ORDER BY a.asked_at DESC
            """,
            (kb, since),
        )
        return [GapQuestion(question, not answered, downs, asked_at) for question, answered, downs, asked_at in rows]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _write(self, sql: str, parameters: Sequence[Any]) -> None:
        db = self._open()
        try:
            with _transaction(db):
                db.execute(sql, parameters)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _read(self, sql: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
        db = self._open()
        try:
            return db.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _voter(self, user_id: int) -> str:
        """The voter's id as a salted hash: one vote per person is enforceable, their id is not stored."""
        return hmac.new(self._salt, str(user_id).encode(), hashlib.sha256).hexdigest()

    def _open(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable at checkpoints, never corrupt
            db.execute("PRAGMA foreign_keys = ON")
            self._migrate(db)
            self._salt = self._salt_of(db)
        except (sqlite3.Error, FeedbackStoreError) as exc:
            db.close()
            raise exc if isinstance(exc, FeedbackStoreError) else self._error(exc) from None
        self._db = db
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Bring the file to SCHEMA_VERSION, one migration per transaction; refuse a newer file."""
        while True:
            with _transaction(db):  # the version is read under the lock: two openers never both migrate
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise FeedbackStoreError(
                        f"feedback database {self.path} has schema version {version}, newer than this docbot's "
                        f"{SCHEMA_VERSION}: upgrade docbot or set feedback_db to another file"
                    )
                if version == SCHEMA_VERSION:
                    return
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")

    @staticmethod
    def _salt_of(db: sqlite3.Connection) -> bytes:
        with _transaction(db):
            db.execute("INSERT OR IGNORE INTO meta VALUES ('voter_salt', ?)", (secrets.token_bytes(16),))
            return bytes(db.execute("SELECT value FROM meta WHERE key = 'voter_salt'").fetchone()[0])

    def _error(self, exc: BaseException) -> FeedbackStoreError:
        """The failure as one line naming the file; the connection is dropped so the next call opens afresh."""
        self.close()
        return FeedbackStoreError(f"feedback database {self.path}: {exc}")


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, its lock taken at the start (so the busy wait happens there), or nothing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
