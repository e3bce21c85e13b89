"""Indexing a corpus: what gets embedded, what search finds, and that a failed build loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docbot.index.builder import BuildEvents, build_index
from docbot.index.errors import EmptyCorpusError, IndexBusyError, IndexWriteError
from docbot.index.search import Retriever
from docbot.index.store import IndexStore
from tests.conftest import CHUNKING, store_at


def build(corpus: Path, store: IndexStore, embedder, **kwargs):
    return build_index(corpus, store, embedder, CHUNKING, **kwargs)


def test_search_finds_the_passage_that_answers(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    report = build(tiny_corpus, store, embedder)
    assert sorted(report.added) == ["animals/cats.md", "animals/owls.txt", "space.md"]

    passages = Retriever(store.load(), embedder).search("Which volcano is the tallest in the solar system?", k=3)

    assert passages[0].doc == "space.md"
    assert "Olympus Mons" in passages[0].text
    assert passages[0].chunk.heading == "Mars"


def test_rebuild_embeds_only_the_changed_file(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    build(tiny_corpus, store, embedder)
    (tiny_corpus / "space.md").write_text("# Mars\n\nMars has two moons, Phobos and Deimos.\n\nIt is red.\n")
    before = embedder.embedded_count

    report = build(tiny_corpus, store, embedder)

    changed_chunks = len(store.load().chunks_of("space.md"))
    assert report.changed == ["space.md"]
    assert sorted(report.unchanged) == ["animals/cats.md", "animals/owls.txt"]
    assert embedder.embedded_count - before == changed_chunks == report.embedded
    assert "Phobos" in Retriever(store.load(), embedder).search("What are the moons of Mars?", k=1)[0].text


def test_unchanged_corpus_embeds_nothing_and_writes_nothing(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    build(tiny_corpus, store, embedder)
    generation = store.current_path()
    before = embedder.embedded_count

    report = build(tiny_corpus, store, embedder)

    assert embedder.embedded_count == before
    assert not report.written and len(report.unchanged) == 3
    assert store.current_path() == generation


def test_rebuild_flag_re_embeds_everything(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    build(tiny_corpus, store, embedder)
    before = embedder.embedded_count

    report = build(tiny_corpus, store, embedder, rebuild=True)

    assert report.embedded == embedder.embedded_count - before == store.load().manifest.chunk_count


def test_deleted_file_disappears_from_the_index(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    build(tiny_corpus, store, embedder)
    (tiny_corpus / "animals" / "owls.txt").unlink()

    report = build(tiny_corpus, store, embedder)

    index = store.load()
    assert report.removed == ["animals/owls.txt"]
    assert "animals/owls.txt" not in index.manifest.files
    assert not any("owl" in chunk.text.lower() for chunk in index.chunks)


def test_failed_write_leaves_previous_index_usable(tiny_corpus, tmp_path, embedder, monkeypatch):
    import faiss

    store = store_at(tmp_path / "index")
    build(tiny_corpus, store, embedder)
    (tiny_corpus / "space.md").write_text("# Venus\n\nVenus is the hottest planet.\n")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(IndexWriteError, match="disk full; the previous index is untouched"):
        build(tiny_corpus, store, embedder)
    monkeypatch.undo()

    index = store.load()
    assert any("Olympus Mons" in chunk.text for chunk in index.chunks)
    assert not any("Venus" in chunk.text for chunk in index.chunks)
    assert [p.name for p in (tmp_path / "index").iterdir() if p.name.startswith(".staging")] == []
    # and the next build picks the change up
    assert build(tiny_corpus, store, embedder).changed == ["space.md"]


def test_manifest_records_how_the_index_was_built(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    build(tiny_corpus, store, embedder)

    manifest = json.loads((store.current_path() / "manifest.json").read_text())

    assert manifest["embedder"] == embedder.name
    assert manifest["dimension"] == 384
    assert manifest["chunking"] == CHUNKING.as_dict()
    assert len(manifest["files"]["space.md"]["sha256"]) == 64
    assert manifest["format_version"] >= 1


def test_binary_and_broken_files_are_skipped_with_a_warning(write_corpus, tmp_path, embedder):
    corpus = write_corpus({"good.md": "# Tea\n\nGreen tea comes from Camellia sinensis leaves.\n"})
    (corpus / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (corpus / "empty.md").write_bytes(b"")
    warnings: list[str] = []
    store = store_at(tmp_path / "index")

    report = build(corpus, store, embedder, events=BuildEvents(on_warning=warnings.append))

    assert report.added == ["good.md"]
    assert {name for name, _ in report.skipped} == {"blob.txt", "broken.pdf", "empty.md"}
    assert any("blob.txt" in w and "binary" in w for w in warnings)
    assert any("broken.pdf" in w for w in warnings)


def test_html_pdf_and_nested_markdown_are_indexed(write_corpus, tmp_path, embedder):
    from pypdf import PdfWriter

    corpus = write_corpus(
        {
            "site/page.html": "<html><head><style>p{}</style></head><body><h1>Lighthouses</h1>"
            "<p>The Pharos of Alexandria was about 100 metres tall.</p><script>var x</script></body></html>",
            "deep/a/b/c/notes.md": "## Bees\n\nHoney bees communicate with a waggle dance.\n",
        }
    )
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with (corpus / "blank.pdf").open("wb") as handle:
        writer.write(handle)
    store = store_at(tmp_path / "index")

    report = build(corpus, store, embedder)

    chunks = {chunk.doc: chunk for chunk in store.load().chunks}
    assert chunks["site/page.html"].heading == "Lighthouses"
    assert "var x" not in chunks["site/page.html"].text
    assert chunks["deep/a/b/c/notes.md"].heading == "Bees"
    assert ("blank.pdf", "no text") in report.skipped


def test_markdown_headings_are_markdown_s_own_and_code_blocks_hold_none(write_corpus, tmp_path, embedder):
    guide = (
        "# Setup\n\nInstall the tool before anything else.\n\n"
        "```bash\n# download the archive\ncurl -O https://example.org/tool.tar.gz\n```\n\n"
        "Usage\n=====\n\nRun the tool with a folder to scan.\n"
    )
    store = store_at(tmp_path / "index")

    build(write_corpus({"guide.md": guide}), store, embedder)

    headings = {chunk.heading: chunk.text for chunk in store.load().chunks}
    assert set(headings) == {"Setup", "Usage"}
    assert "# download the archive" in headings["Setup"]  # a shell comment, not a section
    assert headings["Usage"] == "Run the tool with a folder to scan."


def test_empty_corpus_is_an_error(write_corpus, tmp_path, embedder):
    corpus = write_corpus({"image.png": "not a document"})
    with pytest.raises(EmptyCorpusError, match="no .txt, .md, .rst, .pdf, .html,"):
        build(corpus, store_at(tmp_path / "index"), embedder)


def test_second_concurrent_build_is_refused(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    with store.lock():
        with pytest.raises(IndexBusyError, match="another `docbot index`"):
            build(tiny_corpus, store, embedder)
