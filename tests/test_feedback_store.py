"""The feedback database: answers and votes kept in a real SQLite file, safely, and the gaps they show."""

from __future__ import annotations

import sqlite3
import time

import pytest

from docbot.feedback.gaps import group_gaps, since
from docbot.feedback.store import (
    SCHEMA_VERSION,
    AnswerRecord,
    FeedbackStore,
    FeedbackStoreError,
    UnknownAnswerError,
    Vote,
    VoteResult,
    new_answer_id,
)

SOURCES = [{"number": 1, "doc": "animals/cats.md", "location": "lines 3", "heading": "Cats", "score": 0.61}]


def answer(question: str, answered: bool = True, kb: str = "default", asked_at: float | None = None) -> AnswerRecord:
    text = "The cat sleeps fifteen hours [1]." if answered else "The documents do not say."
    return AnswerRecord(new_answer_id(), question, text, answered, SOURCES, kb, 200, asked_at or time.time())


def test_a_vote_is_kept_with_its_answer_and_a_second_press_changes_it(tmp_path):
    path = tmp_path / "new" / "folder" / "feedback.sqlite3"  # folders are made as needed
    store = FeedbackStore(path)
    cats = answer("How long do cats sleep?")
    store.record_answer(cats)
    assert store.record_vote(cats.id, 42, Vote.UP) is VoteResult.NEW
    assert store.record_vote(cats.id, 42, Vote.UP) is VoteResult.SAME
    assert store.record_vote(cats.id, 42, Vote.DOWN) is VoteResult.CHANGED
    assert store.record_vote(cats.id, 43, Vote.UP) is VoteResult.NEW
    store.close()

    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT a.question, a.answer, a.sources, a.kb, a.channel_id, v.voter, v.vote, v.voted_at "
        "FROM votes v JOIN answers a ON a.id = v.answer_id ORDER BY v.vote"
    ).fetchall()
    assert [(r[0], r[3], r[4], r[6]) for r in rows] == [
        ("How long do cats sleep?", "default", 200, "down"),
        ("How long do cats sleep?", "default", 200, "up"),
    ]
    assert "fifteen" in rows[0][1] and "animals/cats.md" in rows[0][2] and rows[0][7] > 0
    voters = {r[5] for r in rows}
    assert len(voters) == 2 and not voters & {"42", "43"}  # hashed, not the Discord ids
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_the_salt_survives_a_reopen_so_a_voter_still_has_one_vote(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    first = FeedbackStore(path)
    cats = answer("How long do cats sleep?")
    first.record_answer(cats)
    first.record_vote(cats.id, 42, Vote.UP)
    first.close()
    again = FeedbackStore(path)
    assert again.record_vote(cats.id, 42, Vote.DOWN) is VoteResult.CHANGED  # same voter, after a restart
    again.close()
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM votes").fetchone()[0] == 1


def test_a_vote_on_an_unknown_answer_is_refused(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    with pytest.raises(UnknownAnswerError, match="no answer 0123456789abcdef"):
        store.record_vote("0123456789abcdef", 42, Vote.UP)


def test_a_file_that_is_not_a_database_is_one_error_and_nothing_is_overwritten(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    garbage = b"this is not a database\n" * 200
    path.write_bytes(garbage)
    store = FeedbackStore(path)
    with pytest.raises(FeedbackStoreError, match=r"feedback database .*feedback\.sqlite3: file is not a database"):
        store.record_answer(answer("How long do cats sleep?"))
    with pytest.raises(FeedbackStoreError):
        store.gap_questions("default", 0)
    assert path.read_bytes() == garbage


def test_a_database_locked_by_another_connection_fails_after_a_short_wait_then_works(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    cats = answer("How long do cats sleep?")
    store.record_answer(cats)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(FeedbackStoreError, match="database is locked"):
        store.record_vote(cats.id, 42, Vote.UP)
    assert time.monotonic() - started < 2.5  # within Discord's 3 s to acknowledge the press
    other.execute("ROLLBACK")
    assert store.record_vote(cats.id, 42, Vote.UP) is VoteResult.NEW


def test_a_database_from_a_newer_docbot_is_refused_not_misread(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    FeedbackStore(path).record_answer(answer("How long do cats sleep?"))
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(FeedbackStoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer .*upgrade docbot"):
        FeedbackStore(path).gap_questions("default", 0)


def test_gaps_are_the_recent_refusals_and_thumbs_down_of_one_knowledge_base(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    liked, disliked = answer("How long do cats sleep?"), answer("What do owls hunt?")
    refused = answer("Who won the 1998 World Cup?", answered=False)
    elsewhere = answer("What is the holiday policy?", answered=False, kb="hr")
    old = answer("Who is the CEO?", answered=False, asked_at=since(40))
    for record in (liked, disliked, refused, elsewhere, old):
        store.record_answer(record)
    store.record_vote(liked.id, 1, Vote.UP)
    store.record_vote(disliked.id, 1, Vote.DOWN)
    store.record_vote(disliked.id, 2, Vote.DOWN)
    gaps = store.gap_questions("default", since(30))
    assert sorted((g.question, g.refused, g.thumbs_down) for g in gaps) == [
        ("What do owls hunt?", False, 2),
        ("Who won the 1998 World Cup?", True, 0),
    ]


def test_questions_are_grouped_by_meaning_most_asked_first(tmp_path, embedder):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    asked = [
        "Who won the 1998 World Cup?",
        "How much does a Tesla cost?",
        "What is the price of a Tesla?",
        "how much does a tesla cost",
        "How fast is a Tesla?",  # on the same topic, but another question
    ]
    for question in asked:
        store.record_answer(answer(question, answered=False))
    gaps = group_gaps(store.gap_questions("default", 0), embedder.embed)
    assert [(g.asked, g.refused) for g in gaps] == [(3, 3), (1, 1), (1, 1)]
    assert gaps[0].question.lower().startswith("how much does a tesla cost")
    assert gaps[0].variants == ["What is the price of a Tesla?"]
    # A tie: the most recently asked first.
    assert [(g.question, g.variants) for g in gaps[1:]] == [("How fast is a Tesla?", []), (asked[0], [])]
