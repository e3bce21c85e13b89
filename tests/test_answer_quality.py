"""Answer quality on small inputs: keywords win retrieval, unanswerable questions are refused,
and `docbot eval` measures a benchmark sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, engine_over, run_docbot

PARTS = {
    "pumps.md": "# Pumps\n\nThe circulation pump moves coolant through the engine block at high pressure.\n",
    "valves.md": "# Valves\n\nThe relief valve opens when the coolant pressure in the engine gets too high.\n",
    "codes.md": "# Codes\n\nPart XK-4417 is a spare gasket kept in the second drawer of the workshop.\n",
}


@pytest.fixture(scope="module")
def parts_engine(tmp_path_factory, embedder, llm):
    return engine_over(PARTS, tmp_path_factory, embedder, llm)


def test_hybrid_search_ranks_the_exact_keyword_passage_first(parts_engine):
    passages = parts_engine.search("XK-4417")
    assert passages[0].doc == "codes.md"
    assert passages[0].keyword_score > 0


def test_a_question_the_documents_do_not_answer_is_refused(parts_engine):
    answer = parts_engine.answer("Who won the football World Cup in 1998?")
    assert answer.answered is False
    assert "couldn't find" in answer.text
    assert answer.cited == []


def test_an_answerable_question_is_answered_with_the_right_source(parts_engine):
    answer = parts_engine.answer("Where is part XK-4417 kept?")
    assert answer.answered is True
    assert "drawer" in answer.text
    assert answer.sources[answer.cited[0] - 1].doc == "codes.md"


@pytest.mark.slow
def test_eval_smoke_run_on_a_benchmark_sample(tmp_path: Path):
    lines = (REPO / "bench" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(lines[:: len(lines) // 20][:20]) + "\n", encoding="utf-8")

    result = run_docbot(
        "eval", str(sample), "--corpus", str(REPO / "bench" / "corpus"), "--json", "--index-dir", str(tmp_path / "i")
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["questions"] == 20
    assert report["context_hit"] >= 0.8
    assert report["answer_accuracy"] >= 0.4
    assert report["refusal_rate"] >= 0.1
    assert report["false_refusal_rate"] <= 0.4
