"""docbot answers the question that was asked, or says the documents don't: a sentence about the
question's subject that does not hold what it asks is never passed off as an answer."""

from __future__ import annotations

import json

import pytest

from docbot.engine.answer_text import compose_answer
from docbot.engine.contradiction import contradicts, swapped_word
from docbot.engine.evaluation import BenchQuestion, judge, summarize
from docbot.engine.evidence import Evidence
from docbot.engine.prompt import NOT_FOUND_TEXT
from docbot.engine.question_shape import AnswerKind, holds_answer_kind, question_shape
from docbot.engine.refusal import missing_specifics
from docbot.index.chunking import Chunk
from docbot.index.search import Passage
from tests.conftest import engine_over, run_docbot

CITY = {
    "sports.md": (
        "# Sports\n\nProfessional teams in the city include the Harbor Dodgers in baseball and the Bay Sharks "
        "in hockey. The Harbor Dodgers play their home games at Seaside Park, which opened in 1962.\n"
    ),
    "climate.md": (
        "# Climate\n\nMost districts of the city lie along the northern shore. Summers are warm and dry, "
        "and the harbour rarely freezes.\n"
    ),
    "company.md": (
        "# Acme\n\nAcme has 4,222,000 customers across Europe. There will be continuous developments, "
        "with new announcements and product releases. Acme was established in 1820 by Maria Lopez, "
        "a clockmaker from Seville.\n"
    ),
    "mountain.md": "# Mars\n\nOlympus Mons on Mars is the tallest volcano in the solar system, about 22 km high.\n",
    "history.md": (
        "# History\n\nIn 1066 Duke William took the old town, killing its king Harold at the Battle of Hastings. "
        "Hervé became the first bishop of the town in 1070.\n"
    ),
    "harbour.md": (
        "# Wexmouth harbour\n\nThe lighthouse keepers of Wexmouth are usually paid in salted herring. "
        "By 1650 the harbour exported 20 million bales of wool to the Baltic ports each year. "
        "The northern pier was built by the Corvin guild in 1702. The harbour's population grew fastest in the "
        "13th and 14th centuries.\n"
    ),
}


@pytest.fixture(scope="module")
def city_engine(tmp_path_factory, embedder, llm):
    return engine_over(CITY, tmp_path_factory, embedder, llm)


@pytest.mark.parametrize(
    ("question", "kind", "focus"),
    [
        ("In what year was Rollo born?", AnswerKind.TIME, {"born"}),
        ("How many employees does Acme have?", AnswerKind.QUANTITY, {"employe"}),
        ("Who owns the Harbor Dodgers?", AnswerKind.PERSON, {"own"}),
        ("In which city is the headquarters?", AnswerKind.PLACE, {"headquart"}),
        ("What is the average annual rainfall?", AnswerKind.OTHER, {"averag", "annual", "rainfal"}),
        ("What kind of region is Wexmouth?", AnswerKind.OTHER, set()),  # a kind: "a coastal region", no name
        ("As what kind of state was Texas admitted?", AnswerKind.OTHER, {"admit"}),
    ],
)
def test_a_question_is_read_for_the_kind_of_answer_and_what_it_asks(question, kind, focus):
    shape = question_shape(question)
    assert shape.kind is kind
    assert shape.focus == focus


def test_a_sentence_about_the_subject_without_the_relation_asked_is_refused(city_engine):
    answer = city_engine.answer("Who owns the Harbor Dodgers?")
    assert not answer.answered
    assert answer.text == NOT_FOUND_TEXT
    assert "sports.md" in {p.doc for p in answer.sources}  # the closest passages are still listed


def test_a_sentence_without_the_kind_of_answer_asked_is_refused(city_engine):
    answer = city_engine.answer("When will the first product of Acme be released?")
    assert not answer.answered  # "product releases" is there, a date is not


def test_no_irrelevant_quote_stands_in_for_an_answer(city_engine):
    answer = city_engine.answer("What is the average annual rainfall in the city?")
    assert not answer.answered
    assert answer.text == NOT_FOUND_TEXT  # no quote stands in
    assert answer.sources  # nothing hidden: the reader can still look


def test_a_number_is_grounded_only_with_what_the_claim_says_it_counts():
    fact = Evidence("Acme has 4,222,000 customers across Europe.", source=1, coverage=0.5, score=0.5)
    shape = question_shape("How many people does Acme employ?")
    text, _ = compose_answer("Acme employs 4,222,000 people [1].", [fact], 400, shape)
    assert not text.startswith("Acme employs")
    assert "employs 4,222,000 people" not in text


LONG_FACT = Evidence(
    "Most Wexmouth fishermen remained poor and short of land, and by 1650 the harbour had been exporting "
    "salted herring and wool to the Baltic ports for more than a generation.",
    source=1,
    coverage=0.5,
    score=0.5,
)


def test_a_quoted_first_line_shows_the_part_of_a_long_sentence_that_answers():
    shape = question_shape("What was one of Wexmouth's major exports?")
    text, _ = compose_answer("nothing useful here", [LONG_FACT], 400, shape)
    first_line = text.split("\n")[0]
    assert first_line.startswith('"')
    assert "salted herring" in first_line
    assert "fishermen" not in first_line  # the part that answers, not the whole sentence
    assert len(first_line) <= 100  # short: the quote and its citation, no lead-in


def test_a_short_sentence_is_quoted_whole_on_the_first_line():
    fact = Evidence(
        "The harbour of Wexmouth, rebuilt after the great storm, was reopened by the town council in 1873.",
        source=1,
        coverage=0.5,
        score=0.5,
    )  # 97 characters: an excerpt would cut it
    shape = question_shape("When was the harbour of Wexmouth reopened?")
    text, _ = compose_answer("nothing useful here", [fact], 400, shape)
    assert text == f'"{fact.sentence}" [1]'  # whole, once: no second quote of the same sentence


def test_a_claim_taken_from_another_part_of_the_sentence_is_not_the_first_line():
    fact = Evidence(
        "King David of Scotland, whose elder brother Alexander had married Sybilla of Normandy, was instrumental "
        "in bringing Norman knights, monks and customs to the Scottish lowlands, part of the process some "
        "scholars call the Davidian Revolution.",
        source=1,
        coverage=0.5,
        score=0.5,
    )
    shape = question_shape("Who did Alexander marry?")
    wrong, _ = compose_answer("The Davidian Revolution [1].", [fact], 400, shape)
    assert not wrong.startswith("The Davidian Revolution")
    assert "Sybilla" in wrong.split("\n")[0]
    right, _ = compose_answer("Alexander married Sybilla of Normandy [1].", [fact], 400, shape)
    assert right.startswith("Alexander married Sybilla of Normandy [1].")


@pytest.mark.parametrize("lead_in", ["The answer to the question is: ", "Answer: ", "answer is: "])
def test_the_first_line_is_the_answer_without_the_model_s_preamble(lead_in):
    fact = Evidence("The tapestry was commissioned by Odo, the Bishop of Bayeux.", source=1, coverage=0.5, score=0.5)
    shape = question_shape("Who commissioned the tapestry?")
    text, _ = compose_answer(f"{lead_in}the tapestry was commissioned by Odo [1].", [fact], 400, shape)
    assert text.startswith("The tapestry was commissioned by Odo [1].")


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("Which Californian city is the largest?", set()),  # "Californian" is about California
        ("Which Italian city is the largest?", set()),
        ("Which city did Raymond Sullivan study?", {"sullivan"}),  # the text says Smullyan
        ("Which city is the largest in 1990?", {"1990"}),
    ],
)
def test_a_name_or_number_the_passages_lack_is_missing_but_not_an_adjective_of_a_place(question, missing):
    text = "Los Angeles, in California, is larger than any city of Italy. Raymond Smullyan studied there."
    passages = [Passage(Chunk("cities.md", 0, "", None, text), 1, 0.5, 1.0)]
    assert missing_specifics(question, passages) == missing


def test_a_name_with_letters_beyond_a_to_z_is_one_name():
    text = "William of Volpiano and John of Ravenna were abbots at Fécamp Abbey, near Évreux."
    passages = [Passage(Chunk("abbeys.md", 0, "", None, text), 1, 0.5, 1.0)]
    assert missing_specifics("Who were the two abbots at Fécamp Abbey?", passages) == set()
    assert missing_specifics("Who were the two abbots at Bécamp Abbey?", passages) == {"bécamp"}
    assert missing_specifics("Which abbey lies near Évreux?", passages) == set()
    assert missing_specifics("Which abbey lies near Evreux?", passages) == set()  # typed without the accent


def test_a_paraphrased_relation_is_answered(city_engine):
    answer = city_engine.answer("Who founded Acme?")
    assert answer.answered
    assert "Maria Lopez" in answer.text


def test_a_relation_said_in_other_words_is_answered(city_engine):
    answer = city_engine.answer("Where did Harold die?")  # the text says "killing ... Harold at"
    assert answer.answered
    assert "Battle of Hastings" in answer.text.split("\n")[0]


def test_a_name_typed_without_its_accent_is_found(city_engine):
    answer = city_engine.answer("When did Herve become bishop?")
    assert answer.answered
    assert "1070" in answer.text.split("\n")[0]


def test_a_number_with_its_unit_is_answered_on_the_first_line(city_engine):
    answer = city_engine.answer("How high is Olympus Mons?")
    assert answer.answered
    first_line = answer.text.split("\n")[0]
    assert "22 km" in first_line
    assert "[1]" in first_line or "[2]" in first_line or "[3]" in first_line


def test_a_name_is_answered_and_cited(city_engine):
    answer = city_engine.answer("Where do the Harbor Dodgers play their home games?")
    assert answer.answered
    assert "Seaside Park" in answer.text.split("\n")[0]
    assert answer.sources[answer.cited[0] - 1].doc == "sports.md"


def test_eval_reports_first_line_accuracy_and_length():
    class Shown:
        def __init__(self, text: str, answered: bool) -> None:
            self.text, self.answered, self.sources = text, answered, []

    right = judge(BenchQuestion("Q?", ("1962",), True), Shown('It opened in 1962 [1].\n"quote" [1]', True), 0.1)
    buried = judge(BenchQuestion("Q?", ("1962",), True), Shown('A claim [1].\n"It opened in 1962." [1]', True), 0.1)
    report = summarize([right, buried])
    assert report.answer_accuracy == 1.0
    assert report.first_line_accuracy == 0.5
    assert report.median_first_line_chars == (len("It opened in 1962 [1].") + len("A claim [1].")) / 2


def test_eval_on_a_file_of_unanswerable_questions_reports_refusals_only(tmp_path, shipped_index):
    questions = tmp_path / "nearmiss.jsonl"
    rows = [
        {"question": "What is Microsoft's stock price?", "answers": [], "answerable": False},
        {"question": "In which city will the partnership have its headquarters?", "answers": [], "answerable": False},
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = run_docbot("eval", str(questions), "--corpus", "corpus", "--index-dir", str(shipped_index), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["refusal_rate"] == 1.0
    assert report["answer_accuracy"] is None and report["first_line_accuracy"] is None
    table = run_docbot("eval", str(questions), "--corpus", "corpus", "--index-dir", str(shipped_index))
    assert "refusal on unanswerable" in table.stdout
    assert "answer accuracy" not in table.stdout


@pytest.mark.parametrize(
    ("opposite", "plain", "expected"),
    [
        (
            "What are the lighthouse keepers of Wexmouth not usually paid in?",
            "What are the lighthouse keepers of Wexmouth usually paid in?",
            "herring",
        ),
        (
            "Which harbour exported 20 billion bales of wool by 1650?",
            "Which harbour exported 20 million bales of wool by 1650?",
            "20 million bales",
        ),
        ("Who built the southern pier in 1702?", "Who built the northern pier in 1702?", "Corvin"),
    ],
)
def test_a_sentence_saying_the_opposite_of_the_question_is_refused(city_engine, opposite, plain, expected):
    """A question that negates the sentence, or swaps one of its words for the opposite or another number,
    is not answered by it, though every other word matches; the question it was made from is."""
    answer = city_engine.answer(opposite)
    assert not answer.answered, answer.text
    assert "harbour.md" in {p.doc for p in answer.sources}  # the sentence is still there to read
    answer = city_engine.answer(plain)
    assert answer.answered
    assert expected in answer.text


@pytest.mark.parametrize(
    ("question", "sentence", "holds"),
    [
        ("In what country is Wexmouth?", "Wexmouth grew rich in the age of the wool trade.", False),
        ("In what country is Wexmouth?", "Wexmouth is a harbour town of northern Portugal.", True),
        ("Where do the boats of Wexmouth wait?", "They wait behind the northern pier.", True),
    ],
)
def test_what_country_asks_for_a_name_where_may_be_answered_by_a_described_place(question, sentence, holds):
    """A described place ("in the age of the wool trade") names no country, yet it may say where."""
    assert holds_answer_kind(question_shape(question), sentence) is holds


def test_an_ordinal_is_no_answer_to_how_many(city_engine):
    """The 13th and 14th centuries hold no population."""
    answer = city_engine.answer("What was the population of the harbour in the 13th century?")
    assert not answer.answered, answer.text


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("What was not taxed?", "Everything except salt was taxed."),  # the sentence says "not" its way
        ("Who was not only a painter but a poet?", "Anna Berg was a painter and a poet."),  # no negation asked
        ("If the tide is not high, where do boats wait?", "Boats wait at the outer mole."),  # "not" sets the scene
        ("Which field asks whether or not a problem can be solved?", "Computability theory asks it."),
        ("What was the town not allowed to build?", "A second pier was denied to the town."),
        ("What did the first expedition find?", "The first expedition found a spring."),
        ("How many bales did the harbour export?", "The harbour exported 20 million bales."),
    ],
)
def test_a_sentence_that_agrees_with_the_question_is_no_contradiction(question, sentence):
    assert not contradicts(question, sentence)


@pytest.mark.parametrize(
    ("question", "sentence", "swapped"),
    [
        ("What is the product of three integers called?", "The product of two integers is a triple.", ("3", "2")),
        ("What captures the formal notion?", "It captures the informal notion.", ("formal", "informal")),
        ("What opened on the biggest Sunday?", "It opened on the biggest Saturday.", ("sunday", "saturday")),
        ("What cost $20 million?", "The storm cost $20 billion.", ("million", "billion")),
        ("Who stopped Ten Eyes?", "Q stopped Nine Eyes.", ("10", "9")),
        ("Who ruled modern Europe?", "The dynasty ruled medieval Europe.", ("modern", "medieval")),
    ],
)
def test_a_swapped_word_beside_a_shared_one_is_found(question, sentence, swapped):
    assert swapped_word(question, sentence) == swapped
