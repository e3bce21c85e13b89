"""Answers keep only what the sources back: invented names and numbers never reach the user."""

from __future__ import annotations

from dataclasses import replace

from docbot.engine.answer_text import compose_answer
from docbot.engine.evidence import Evidence, rank_evidence
from docbot.engine.grounding import check_grounding
from docbot.index.chunking import Chunk
from docbot.index.search import Passage

FACTS = [
    Evidence("Olympus Mons on Mars is about 22 km high.", source=2, coverage=0.8, score=0.8),
    Evidence("Mars has two small moons, Phobos and Deimos.", source=1, coverage=0.3, score=0.3),
]


def test_an_answer_with_a_number_absent_from_the_sources_is_not_grounded():
    check = check_grounding("Olympus Mons is 35 km high.", " ".join(f.sentence for f in FACTS))
    assert not check.grounded
    assert check.missing_numbers == {"35"}


def test_an_answer_with_an_invented_name_is_not_grounded():
    check = check_grounding("It was discovered by Galileo.", " ".join(f.sentence for f in FACTS))
    assert not check.grounded
    assert "galileo" in check.missing_names


def test_a_paraphrase_of_the_sources_is_grounded():
    assert check_grounding("Olympus Mons is about 22 km high", FACTS[0].sentence).grounded


def test_an_ungrounded_reply_is_replaced_by_the_best_sentence_quoted_and_cited():
    text, cited = compose_answer("Olympus Mons is 35 km high [1].", FACTS, 400)
    assert text.startswith('"')  # the documents' words, quoted: no claim of its own
    assert "35" not in text
    assert '"Olympus Mons on Mars is about 22 km high." [2]' in text
    assert cited == [2]


def test_a_grounded_reply_keeps_its_source_number_and_quotes_its_support_and_the_best_sentence():
    text, cited = compose_answer("Phobos and Deimos [2]", FACTS, 400)
    claim, best, support = text.splitlines()
    assert claim == "Phobos and Deimos [1]."  # fact 2 in the prompt is source 1
    assert best == '"Olympus Mons on Mars is about 22 km high." [2]'
    assert support == '"Mars has two small moons, Phobos and Deimos." [1]'
    assert cited == [1, 2]


def test_with_the_reader_s_reading_the_best_sentence_leads_and_the_one_the_model_answered_from_follows():
    best = FACTS[0]
    read = [replace(best, answer_chances=(0.1,) * len(best.sentence.split())), FACTS[1]]
    text, cited = compose_answer("Phobos and Deimos [2]", read, 400)
    assert text.splitlines() == [  # the claim is not the first line: the documents' words are
        '"Olympus Mons on Mars is about 22 km high." [2]',
        '"Mars has two small moons, Phobos and Deimos." [1]',
    ]
    assert cited == [1, 2]


def test_answers_fit_the_character_limit_and_never_cut_a_citation():
    long_fact = Evidence("Mars " + "is red and dusty " * 60 + "in the end.", source=3, coverage=0.9, score=0.9)
    text, _ = compose_answer("nonsense 999", [long_fact], 200)
    assert len(text) <= 200
    assert text.endswith("[3]")


def test_evidence_prefers_the_sentence_holding_the_questions_rare_terms():
    texts = [
        "Mars is the fourth planet. It is red. Olympus Mons, a volcano, is about 22 km high.",
        "Mars is high in the night sky in spring. How high it climbs depends on the season.",
    ]
    passages = [Passage(Chunk("mars.md", n, "", None, text), n + 1, 0.5, 1.0) for n, text in enumerate(texts)]
    ranked = rank_evidence("How high is Olympus Mons?", passages)
    assert "22 km" in ranked[0].sentence
    assert ranked[0].coverage > ranked[-1].coverage
