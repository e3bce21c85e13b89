"""Long answers are split for Discord at clean places: never over the limit, never inside a citation."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from docbot.discord.render import MESSAGE_LIMIT, render_answer, split_message
from docbot.engine.answer import Answer
from docbot.index.chunking import Chunk
from docbot.index.paragraphs import Location
from docbot.index.search import Passage

words = st.sampled_from(["owl", "lemming", "tundra.", "Mars,", "volcano!", "[1]", "[12]", "\n", "\n\n", "x" * 40])


@given(st.lists(words, min_size=1, max_size=900), st.integers(min_value=60, max_value=MESSAGE_LIMIT))
def test_split_pieces_fit_keep_every_word_and_every_citation_whole(tokens, limit):
    text = " ".join(tokens)
    pieces = split_message(text, limit)
    assert all(0 < len(piece) <= limit for piece in pieces)
    assert " ".join(pieces).split() == text.split()  # nothing lost, nothing cut inside a word
    assert re.findall(r"\[\d+\]", "".join(pieces)) == re.findall(r"\[\d+\]", text)


def test_a_citation_stays_with_the_sentence_it_supports():
    sentence = "The snowy owl hunts lemmings across the tundra."
    text = " ".join([sentence] * 40) + " [1]"
    limit = len(text) - 3
    pieces = split_message(text, limit)
    assert len(pieces) == 2
    assert pieces[1].endswith(f"{sentence} [1]")


def test_a_final_answer_names_file_and_place_of_each_cited_passage_only():
    chunk = Chunk("animals/owls_*notes*.md", 0, "Owls", Location("line", 3, 4), "The snowy owl hunts lemmings.")
    other = Chunk("space.md", 0, "Mars", Location("line", 3, 3), "Olympus Mons is tall.")
    answer = Answer("q", "It hunts lemmings [1].", True, [Passage(chunk, 1, 0.8, 2.0), Passage(other, 2, 0.1, 0)], [1])
    (message,) = render_answer(answer)
    assert message.startswith("It hunts lemmings [1].")
    assert r"-# [1] animals/owls\_\*notes\*.md › Owls › lines 3-4" in message  # markdown in names is escaped
    assert "space.md" not in message
