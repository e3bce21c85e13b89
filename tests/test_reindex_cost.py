"""Re-indexing costs only what changed: nothing changed means no model and no embedding."""

from __future__ import annotations

from pathlib import Path

from docbot.components import index_corpus, make_embedder
from docbot.settings import Settings
from tests.conftest import TINY_DOCS


def test_unchanged_corpus_embeds_nothing_and_loads_no_model(tiny_corpus: Path, tmp_path: Path, embedder) -> None:
    settings = Settings(corpus=tiny_corpus, index_dir=tmp_path / "index")
    index_corpus(settings, embedder)
    fresh = make_embedder(settings)

    report = index_corpus(settings, fresh)

    assert (report.embedded, report.written, fresh.embedded_count) == (0, False, 0)
    assert not fresh.is_loaded
    assert report.chunks == len(TINY_DOCS)


def test_one_changed_file_embeds_only_its_chunks(tiny_corpus: Path, tmp_path: Path, embedder) -> None:
    settings = Settings(corpus=tiny_corpus, index_dir=tmp_path / "index")
    index_corpus(settings, embedder)
    (tiny_corpus / "space.md").write_text("# Mars\n\nMars has two small moons, Phobos and Deimos.\n")
    before = embedder.embedded_count

    report = index_corpus(settings, embedder)

    assert report.changed == ["space.md"]
    assert report.embedded == embedder.embedded_count - before == 1
