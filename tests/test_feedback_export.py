"""`docbot feedback export`: unanswered questions become a `docbot eval` file, which runs once gold is filled in."""

from __future__ import annotations

import json

import pytest

from docbot.feedback.store import AnswerRecord, FeedbackStore, new_answer_id
from tests.conftest import TINY_DOCS, run_docbot

CAT = "How many hours a day does the domestic cat sleep?"
TESLA = ["How much does a Tesla cost?", "How much does a Tesla cost?", "What is the price of a Tesla?"]
WORLD_CUP = "Who won the 1998 football World Cup?"


def refused(question: str, kb: str = "default") -> AnswerRecord:
    return AnswerRecord(new_answer_id(), question, "I couldn't find the answer in the documents.", False, [], kb, 200)


@pytest.fixture
def feedback_db(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    for question in [*TESLA, CAT, WORLD_CUP]:
        store.record_answer(refused(question))
    store.record_answer(refused("What is the holiday policy?", kb="hr"))
    store.close()
    return path


@pytest.mark.slow
def test_export_writes_grouped_questions_that_round_trip_into_eval_once_gold_is_filled(
    tmp_path, feedback_db, write_corpus
):
    corpus = write_corpus(TINY_DOCS)
    out = tmp_path / "gaps.jsonl"
    exported = run_docbot("feedback", "export", "--kb", "default", "--out", str(out), "--feedback-db", str(feedback_db))
    assert exported.returncode == 0, exported.stderr
    assert "3 questions (5 answers refused or 👎) from knowledge base 'default'" in exported.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # Most asked first; a tie, most recently asked first.
    assert [(line["question"], line["asked"]) for line in lines] == [(TESLA[0], 3), (WORLD_CUP, 1), (CAT, 1)]
    assert lines[0]["variants"] == [TESLA[2]] and lines[0]["refused"] == 3
    assert all(line["answers"] == [] and line["answerable"] is None for line in lines)

    eval_args = ["eval", str(out), "--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "--json"]
    unfilled = run_docbot(*eval_args)
    assert unfilled.returncode == 1
    assert "none of its 3 questions has a gold answer yet" in unfilled.stderr.strip().splitlines()[-1]

    lines[2]["answers"] = ["fifteen"]  # a maintainer fills in the gold answer...
    lines[1]["answerable"] = False  # ...marks what the documents should not answer, and leaves the rest
    out.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    filled = run_docbot(*eval_args)
    assert filled.returncode == 0, filled.stderr
    report = json.loads(filled.stdout)
    assert (report["questions"], report["answerable"], report["unanswerable"], report["unlabeled"]) == (2, 1, 1, 1)
    assert report["context_hit"] == 1.0  # the cat's gold answer is in the sources found


def test_export_without_a_feedback_database_is_one_clear_line(tmp_path):
    result = run_docbot("feedback", "export", "--feedback-db", str(tmp_path / "missing.sqlite3"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"docbot: error: no feedback database at {tmp_path / 'missing.sqlite3'}: docbot discord makes it with its "
        "first answer (set feedback_db if it lives elsewhere)"
    ]
