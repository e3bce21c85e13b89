"""A live index is rebuilt while answers go on: one in flight keeps its index, the next gets the new one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from docbot.live_index import LiveIndex
from tests.bot_harness import HeldModel, bot_settings, build_test_engine
from tests.conftest import TINY_DOCS

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path, write_corpus):
    return bot_settings(write_corpus(TINY_DOCS), tmp_path / "index")


def test_an_answer_in_flight_finishes_on_its_index_while_the_next_uses_the_new_one(settings, embedder, llm):
    held = HeldModel(llm)
    engine = build_test_engine(settings, embedder, held)
    live = LiveIndex(settings, engine)
    with ThreadPoolExecutor(1) as pool:
        answering = pool.submit(engine.answer, "How many hours a day does the domestic cat sleep?")
        assert held.held.wait(120), "the answer never reached the model"
        (settings.corpus / "animals" / "cats.md").unlink()
        report = live.refresh()  # does not wait for the answer in flight
        held.gate.set()
        answer = answering.result(120)
    assert report.removed == ["animals/cats.md"]
    assert answer.answered and answer.sources[0].doc == "animals/cats.md"
    assert "animals/cats.md" not in {passage.doc for passage in engine.search("domestic cat sleep")}


def test_refreshes_at_the_same_time_take_turns(settings, embedder, llm):
    live = LiveIndex(settings, build_test_engine(settings, embedder, llm))
    (settings.corpus / "ferry.md").write_text("The Nordvik ferry leaves at seven.\n" * 40)
    start = threading.Barrier(3)

    def refresh():
        start.wait()
        return live.refresh()

    with ThreadPoolExecutor(3) as pool:
        reports = [future.result(120) for future in [pool.submit(refresh) for _ in range(3)]]
    assert sorted(len(report.added) for report in reports) == [0, 0, 1]  # one built it, the others found it done
