"""Office files, reStructuredText, spreadsheets and e-books are indexed with headings and places."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from docbot.index.builder import BuildEvents, build_index
from docbot.index.chunking import Chunk, split_sentences
from docbot.index.documents import read_paragraphs
from docbot.index.paragraphs import Location
from docbot.index.search import Retriever
from tests.conftest import CHUNKING, REPO, run_docbot, store_at
from tests.format_samples import RST_FACT_LINES, write_all

HTML = (
    "<html><head><title>Site</title></head><body><h1>Guide</h1><p>Read this first.</p>"
    "<h2>Install</h2><p>Download the installer.</p><p>Run the installer twice.</p></body></html>"
)
# (document, text of one paragraph, its heading, its location)
FACTS = [
    ("manual.rst", "The Falcon widget costs 42.50 euros and ships from Zürich.", "Pricing", RST_FACT_LINES),
    ("manual.rst", "Frobnicated text about herons stays searchable.", "Pricing", ""),  # unknown directive
    ("manual.docx", "The Falcon widget costs 42.50 euros.", "Pricing", "paragraph 4"),
    ("manual.docx", "Product: Kestrel; Price (EUR): 19.99.", "Pricing", "paragraph 5"),
    ("manual.docx", "The warranty lasts 24 months.", "Warranty", "paragraph 7"),  # style based on Heading 1
    ("review.pptx", "Revenue grew 12% to 3.4 million euros", "Revenue", "slide 2"),
    ("review.pptx", "The Oslo office closes on Fridays at 15:00.", "Revenue", "slide 2"),  # speaker notes
    ("prices.xlsx", "Product: Kestrel; Price (EUR): 19.99; Stock: 230.", "Prices", "row 4"),
    ("menu.csv", "Product: Café crème; Price (EUR): 3,50; Notes: served hot.", "", "row 2"),
    ("book.epub", "Install the café driver first.", "Chapter 1: Getting Started", "chapter 1"),
    ("book.epub", "Product: Kestrel; Price: 19.99.", "Chapter 2: Prices › Price table", "chapter 2"),
    ("site/page.html", "Run the installer twice.", "Guide › Install", "paragraph 2"),
]
CONVERTERS = ("docutils", "docx", "pptx", "python_calamine", "openpyxl", "lxml")  # not PIL: the embedder loads it


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder):
    """Every format in one corpus (and a .png), indexed once: (corpus, store, report, warnings)."""
    corpus = write_all(tmp_path_factory.mktemp("formats"))
    (corpus / "site").mkdir()
    (corpus / "site" / "page.html").write_text(HTML, encoding="utf-8")
    (corpus / "logo.png").write_bytes(b"\x89PNG\r\n")
    store = store_at(tmp_path_factory.mktemp("index"))
    warnings: list[str] = []
    report = build_index(corpus, store, embedder, CHUNKING, events=BuildEvents(on_warning=warnings.append))
    return corpus, store, report, warnings


def chunk_holding(chunks: list[Chunk], doc: str, text: str) -> Chunk:
    return next(chunk for chunk in chunks if chunk.doc == doc and text in chunk.text)


def covers(span: Location | None, place: str) -> bool:
    kind, number = place.rsplit(" ", 1)
    return span is not None and span.kind == kind.rstrip("s") and span.start <= int(number) <= span.end


@pytest.mark.parametrize(("doc", "text", "heading", "place"), FACTS, ids=[f"{d}:{t[:20]}" for d, t, _, _ in FACTS])
def test_a_fact_keeps_its_heading_and_place(built, doc, text, heading, place):
    corpus, store, _, _ = built

    paragraph = next(p for p in read_paragraphs(corpus / doc) if p.text == text)
    chunk = chunk_holding(store.load().chunks, doc, text)

    assert paragraph.heading == chunk.heading == heading
    if place:
        assert str(paragraph.location) == place
        assert covers(chunk.location, place.split("-")[0])


def test_every_new_format_is_read_and_only_the_png_is_skipped(built):
    _, _, report, warnings = built

    assert sorted(report.added) == sorted({doc for doc, *_ in FACTS})
    assert warnings == []
    assert report.ignored == [("logo.png", ".png")]
    assert " 1 skipped (1 .png);" in report.summary()


def test_hidden_sheets_and_the_epub_contents_page_are_left_out(built):
    _, store, _, _ = built
    texts = " ".join(chunk.text for chunk in store.load().chunks)

    assert "hidden-sheet secret" not in texts
    assert "Table of contents" not in texts


def test_a_question_about_a_cell_finds_its_row(built, embedder):
    _, store, _, _ = built

    best = Retriever(store.load(), embedder).search("How many Bird27 are in stock?", k=3)[0]

    assert best.doc == "prices.xlsx" and best.chunk.heading == "Prices"
    assert "Product: Bird27; Price (EUR): 37.27; Stock: 189." in split_sentences(best.text)  # the row, alone
    assert covers(best.chunk.location, "row 28")


def test_docbot_search_cites_a_spreadsheet_row(built):
    _, store, _, _ = built

    result = run_docbot("search", "--json", "What is the price of Bird27?", "--index-dir", str(store.root))

    assert result.returncode == 0, result.stderr
    top = json.loads(result.stdout)["passages"][0]
    assert (top["doc"], top["heading"]) == ("prices.xlsx", "Prices")
    assert covers(Location(top["location"].split()[0].rstrip("s"), *_numbers(top["location"])), "row 28")


def _numbers(location: str) -> tuple[int, int]:
    numbers = [int(n) for n in location.split()[-1].split("-")]
    return numbers[0], numbers[-1]


def test_a_broken_file_of_each_type_is_one_warning_and_the_rest_is_indexed(tmp_path, embedder):
    corpus = write_all(tmp_path / "good")
    broken = tmp_path / "corpus"
    broken.mkdir()
    (broken / "notes.txt").write_text("The snowy owl hunts lemmings on the tundra.\n", encoding="utf-8")
    for name in ("manual.docx", "review.pptx", "prices.xlsx", "book.epub"):
        data = (corpus / name).read_bytes()
        (broken / name).write_bytes(data[: len(data) // 2])  # a truncated zip
    (broken / "empty.docx").write_bytes(b"")
    (broken / "table.csv").write_bytes(b"a,b\n\x00\x01,2\n")
    (broken / "page.rst").write_bytes(b"Title\n=====\n\x00\x00binary")
    warnings: list[str] = []

    report = build_index(
        broken, store_at(tmp_path / "index"), embedder, CHUNKING, events=BuildEvents(on_warning=warnings.append)
    )

    names = ["manual.docx", "review.pptx", "prices.xlsx", "book.epub", "empty.docx", "table.csv", "page.rst"]
    assert sorted(doc for doc, _ in report.skipped) == sorted(names)
    for name in names:
        assert len([w for w in warnings if w.startswith(f"skipped {name}:")]) == 1, warnings
    assert len(warnings) == len(names)
    assert "unreadable docx file (" in next(w for w in warnings if "manual.docx" in w)
    assert report.added == ["notes.txt"]


def test_rst_markup_docutils_cannot_parse_prints_nothing_and_keeps_its_text(tmp_path, capfd):
    page = tmp_path / "bad.rst"
    page.write_text(
        "Title\n===\n\nUse :unknownrole:`the wrench` here.\n\n.. mystery:: x\n\n   Hidden kettle fact.\n", "utf-8"
    )

    texts = [p.text for p in read_paragraphs(page)]

    assert "Use the wrench here." in texts and "Hidden kettle fact." in texts  # not the markup around them
    assert capfd.readouterr().err == ""


def test_a_txt_only_corpus_loads_no_converter(tiny_corpus, tmp_path):
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['docbot', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('docbot', run_name='__main__')\n"
        f"finally:\n    print('LOADED:' + ','.join(m for m in {CONVERTERS!r} if m in sys.modules), file=sys.stderr)\n"
    )
    index = ["index", "--corpus", str(tiny_corpus), "--index-dir", str(tmp_path / "index")]

    result = subprocess.run([sys.executable, "-c", probe, *index], cwd=REPO, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "LOADED:\n" in result.stderr + "\n"
    assert "3 added" in result.stderr


def test_the_parts_of_a_long_paragraph_each_cite_their_own_lines(tmp_path):
    from docbot.index.chunking import chunk_paragraphs

    lines = [f"Sentence {n} is about the topic numbered {n} here." for n in range(1, 41)]
    page = tmp_path / "long.md"
    page.write_text("# Long\n\n" + "\n".join(lines) + "\n", encoding="utf-8")

    chunks = chunk_paragraphs("long.md", read_paragraphs(page), CHUNKING)

    assert len(chunks) >= 3
    for chunk in chunks:
        assert chunk.location is not None and chunk.location.kind == "line"
        first_sentence = int(chunk.text.split()[1])
        last_sentence = int(chunk.text.rsplit("Sentence ", 1)[1].split()[0])
        assert (chunk.location.start, chunk.location.end) == (first_sentence + 2, last_sentence + 2)


def test_rst_code_blocks_cite_their_own_lines(tmp_path):
    page = tmp_path / "code.rst"
    code = "::\n\n   first = 1\n\n   second = 2\n\n.. code-block:: python\n\n   third = 3\n   fourth = 4\n\nAfter.\n"
    page.write_text("Title\n=====\n\n" + code)

    places = {p.text: str(p.location) for p in read_paragraphs(page)}

    assert places == {"first = 1 second = 2": "lines 6-8", "third = 3 fourth = 4": "lines 12-13", "After.": "line 15"}


def test_an_office_lock_file_beside_an_open_document_is_left_out(tmp_path, embedder):
    corpus = write_all(tmp_path / "corpus")
    (corpus / "~$manual.docx").write_bytes(b"\x05Ada Lovelace" + b"\x00" * 149)  # what Word leaves while editing
    warnings: list[str] = []

    report = build_index(
        corpus, store_at(tmp_path / "index"), embedder, CHUNKING, events=BuildEvents(on_warning=warnings.append)
    )

    assert "manual.docx" in report.added
    assert warnings == [] and report.skipped == [] and report.ignored == []


def test_a_zip_that_unpacks_too_large_is_refused_before_a_converter_opens_it(tmp_path, monkeypatch):
    from docbot.index import documents
    from docbot.index.paragraphs import UnreadableFileError

    write_all(tmp_path)
    monkeypatch.setattr(documents, "MAX_UNZIPPED_BYTES", 1000)  # a zip bomb in miniature

    with pytest.raises(UnreadableFileError, match="unpacks to more than"):
        read_paragraphs(tmp_path / "manual.docx")
    assert read_paragraphs(tmp_path / "menu.csv")  # not a zip: not measured
