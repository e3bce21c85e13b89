"""The answer reader finds where in a sentence the answer lies, and the first line of a long
supporting sentence shows that part of it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from docbot.engine.answer_reader import ADAPTERS_FILES, AnswerReader, _load_weights, span_logits
from docbot.engine.answer_text import compose_answer
from docbot.engine.evidence import Evidence
from docbot.engine.question_shape import question_shape
from docbot.index.embedder import packaged_embedder_path
from tests.conftest import engine_over

LABEL = (
    "After years of touring small clubs along the northern coast, the band signed with Harbor Records in 1998 "
    "and released its first album, Salt Roads, two years later."
)
AIRPORT = (
    "The city airport is the busiest in the region by passenger traffic and the second busiest by cargo volume, "
    "after the port airport at Kessel, which handles most freight flights."
)


@pytest.fixture(scope="module")
def reader() -> AnswerReader:
    return AnswerReader(packaged_embedder_path())


@pytest.mark.parametrize("adapters", ADAPTERS_FILES, ids=lambda path: path.name)
def test_the_numpy_reader_computes_what_the_fitted_model_computes(adapters):
    """Each fit's forward pass is the fitted model's: MiniLM in transformers with the adapters merged in."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = packaged_embedder_path()
    model = AutoModel.from_pretrained(folder).eval()
    with np.load(adapters) as fitted, torch.no_grad():
        for n, layer in enumerate(model.encoder.layer):
            maps = {
                "query": layer.attention.self.query, "key": layer.attention.self.key,
                "value": layer.attention.self.value, "attention.output.dense": layer.attention.output.dense,
                "intermediate.dense": layer.intermediate.dense, "output.dense": layer.output.dense,
            }  # fmt: skip
            for name, linear in maps.items():
                b, a = (torch.tensor(fitted[f"layer{n}.{name}.{part}"].astype(np.float32)) for part in "ba")
                linear.weight += b @ a
        head_weight, head_bias = torch.tensor(fitted["head.weight"]), torch.tensor(fitted["head.bias"])
        tokens = AutoTokenizer.from_pretrained(folder)(
            ["Which label did the band sign with?"] * 2, [LABEL, "A short one."], padding=True, return_tensors="pt"
        )
        expected = (model(**tokens).last_hidden_state @ head_weight.T + head_bias).numpy()
    start, end = span_logits(
        _load_weights(folder, adapters),
        tokens["input_ids"].numpy(),
        tokens["token_type_ids"].numpy(),
        tokens["attention_mask"].numpy().astype(np.float32),
    )
    real = tokens["attention_mask"].numpy() > 0
    assert np.abs(start[real] - expected[..., 0][real]).max() < 0.02
    assert np.abs(end[real] - expected[..., 1][real]).max() < 0.02


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Which record label did the band sign with?", "Harbor Records"),
        ("When did the band sign with Harbor Records?", "1998"),
        ("What was the name of the band's first album?", "Salt Roads"),
        ("Where did the band tour?", "northern coast"),
    ],
)
def test_the_reader_finds_the_answer_inside_a_long_sentence(reader, question, answer):
    (found,) = reader.read(question, [LABEL])
    assert answer in found.span(LABEL)
    likely = [word.strip(",.") for word, p in zip(LABEL.split(), found.word_probabilities, strict=True) if p > 0.5]
    assert " ".join(likely) == answer


def test_the_first_line_of_a_long_sentence_shows_the_part_the_reader_finds_the_answer_in(
    tmp_path_factory, embedder, llm
):
    """The answer ("second") is away from the question's words; the word cues alone quote the Kessel part."""
    engine = engine_over({"airport.md": f"# Airport\n\n{AIRPORT}\n"}, tmp_path_factory, embedder, llm)
    answer = engine.answer("What kind of ranking does the airport have for cargo?")
    assert answer.answered
    assert "second" in answer.text.split("\n")[0]


def test_a_grounded_claim_about_another_part_of_the_sentence_gives_way_to_what_the_reader_found(reader):
    """King Oswin of Tarn is in the sentence and is a person, but he is Emma's husband: with the
    reader's reading the first line quotes the part holding her brother, not the model's claim."""
    sentence = (
        "In 1002 Queen Emma of Vessen, sister of Duke Aldric of Vessen, married King Oswin of Tarn, and the "
        "marriage sealed a peace between the two coastal kingdoms that lasted for forty years."
    )
    question = "Who was Emma's brother?"
    fact = Evidence(sentence, source=1, coverage=0.6, score=0.6)
    claim = "Emma's brother is King Oswin of Tarn [1]."
    unread, _ = compose_answer(claim, [fact], 400, question_shape(question))
    assert unread.startswith("Emma's brother is King Oswin of Tarn [1].")  # without a reader the claim leads
    (reading,) = reader.read(question, [sentence])
    read = replace(fact, answer_chances=reading.word_probabilities)
    text, cited = compose_answer(claim, [read], 400, question_shape(question))
    first = text.split("\n")[0]
    assert first.startswith('"') and first.endswith("[1]")
    assert "Duke Aldric" in first and len(first) <= 100
    assert "brother is" not in text and cited == [1]


def test_a_reader_whose_files_cannot_be_read_is_dropped_and_answers_go_on(tmp_path_factory, embedder, llm, caplog):
    """A damaged install (the adapters file truncated) costs the reader, not the answer: one log line."""
    broken = tmp_path_factory.mktemp("reader") / "reader.npz"
    broken.write_bytes(ADAPTERS_FILES[1].read_bytes()[:1000])
    engine = engine_over({"airport.md": f"# Airport\n\n{AIRPORT}\n"}, tmp_path_factory, embedder, llm)
    engine.reader = AnswerReader(packaged_embedder_path(), [ADAPTERS_FILES[0], broken])
    with caplog.at_level("WARNING", logger="docbot.engine"):
        first = engine.answer("What kind of ranking does the airport have for cargo?")
        second = engine.answer("Which airport handles most freight flights?")
    assert first.answered and second.answered
    assert "[1]" in first.text.split("\n")[0]
    warnings = [r.getMessage() for r in caplog.records if "answer reader cannot load" in r.getMessage()]
    assert len(warnings) == 1
    assert engine.reader is None
