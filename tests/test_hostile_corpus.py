"""Whatever people drop into the corpus folder, the build completes and names what it skipped."""

from __future__ import annotations

import os
import time
from pathlib import Path

from docbot.index import builder as builder_module
from docbot.index.builder import BuildEvents, build_index
from docbot.index.chunking import chunk_paragraphs
from docbot.index.documents import MAX_FILE_BYTES, read_paragraphs
from tests.conftest import CHUNKING, rss_sampled, store_at

GOOD = {"good.md": "# Rivers\n\nThe Nile flows north into the Mediterranean Sea.\n"}


def build(corpus: Path, tmp_path: Path, embedder):
    warnings: list[str] = []
    report = build_index(
        corpus,
        store_at(tmp_path / "index"),
        embedder,
        CHUNKING,
        events=BuildEvents(on_warning=warnings.append),
    )
    return report, warnings


def test_invalid_utf8_is_indexed_as_legacy_text(write_corpus, tmp_path, embedder):
    corpus = write_corpus(GOOD)
    (corpus / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me costs four euros in the old town.".encode("latin-1"))

    report, _ = build(corpus, tmp_path, embedder)

    assert "latin1.txt" in report.added
    texts = [c.text for c in store_at(tmp_path / "index").load().chunks if c.doc == "latin1.txt"]
    assert "Café crème" in texts[0]


def test_symlinks_out_of_the_corpus_are_not_followed(write_corpus, tmp_path, embedder):
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwords.txt").write_text("The root password is hunter2.")
    corpus = write_corpus(GOOD)
    os.symlink(outside / "passwords.txt", corpus / "link.txt")
    os.symlink(outside, corpus / "linked-dir")
    os.symlink(corpus / "good.md", corpus / "alias.md")  # inside the corpus: fine

    report, _ = build(corpus, tmp_path, embedder)

    chunks = store_at(tmp_path / "index").load().chunks
    assert not any("hunter2" in c.text for c in chunks)
    assert sorted(report.added) == ["alias.md", "good.md"]


def test_a_dangling_symlink_is_skipped_with_a_warning_naming_it(write_corpus, tmp_path, embedder):
    corpus = write_corpus(GOOD)
    os.symlink(corpus / "deleted.md", corpus / "dangling.md")

    report, warnings = build(corpus, tmp_path, embedder)

    assert report.added == ["good.md"]
    assert [name for name, _ in report.skipped] == ["dangling.md"]
    assert warnings == ["skipped dangling.md: cannot read: No such file or directory"]


def test_a_long_text_file_of_short_lines_is_read_and_chunked_in_linear_time(tmp_path):
    def seconds_to_chunk(lines: int) -> float:
        path = tmp_path / f"{lines}.txt"
        path.write_text("".join(f"entry {n} of the log\n" for n in range(lines)))
        started = time.perf_counter()
        chunks = chunk_paragraphs(path.name, read_paragraphs(path), CHUNKING)
        assert " ".join(c.text for c in chunks).count("entry") == lines
        return time.perf_counter() - started

    seconds_to_chunk(1000)  # warm up
    small, large = seconds_to_chunk(20_000), seconds_to_chunk(200_000)
    assert large < 5  # re-reading the rest of the file for each short line took minutes here
    assert large < 30 * small  # 10x the lines: ~10x the time, where the square would be 100x


def test_huge_file_is_skipped_by_name_without_reading_it(write_corpus, tmp_path, embedder):
    corpus = write_corpus(GOOD)
    huge = corpus / "huge.txt"
    with huge.open("wb") as handle:  # sparse: 200 MB on paper, nothing on disk
        handle.truncate(200 * 1024 * 1024)
    build(corpus, tmp_path / "warm-up", embedder)  # a first build into another index: its one-off buffers

    with rss_sampled() as rss:  # current memory, sampled while the build runs: reading the file would show
        report, warnings = build(corpus, tmp_path, embedder)

    assert report.added == ["good.md"]
    assert any("huge.txt" in w and f"larger than {MAX_FILE_BYTES // 2**20} MB" in w for w in warnings)
    assert max(rss) - rss[0] < 100, f"grew {max(rss) - rss[0]:.0f} MB over {len(rss)} samples"


def test_deeply_nested_folders_are_indexed(write_corpus, tmp_path, embedder):
    deep = "/".join(f"level{i}" for i in range(40))
    corpus = write_corpus({**GOOD, f"{deep}/bottom.md": "# Depth\n\nThe Mariana Trench is about 11 km deep.\n"})

    report, _ = build(corpus, tmp_path, embedder)

    assert f"{deep}/bottom.md" in report.added


def test_file_vanishing_during_the_build_is_skipped(write_corpus, tmp_path, embedder, monkeypatch):
    corpus = write_corpus({**GOOD, "ghost.md": "# Ghost\n\nThis file disappears mid-build.\n"})
    real_hash = builder_module.file_sha256

    def hash_then_vanish(path: Path) -> str:
        digest = real_hash(path)
        if path.name == "ghost.md":
            path.unlink()
        return digest

    monkeypatch.setattr(builder_module, "file_sha256", hash_then_vanish)
    report, warnings = build(corpus, tmp_path, embedder)

    assert report.added == ["good.md"]
    assert any("ghost.md" in w and "cannot read" in w for w in warnings)


def test_file_changing_during_the_build_is_picked_up_next_time(write_corpus, tmp_path, embedder, monkeypatch):
    corpus = write_corpus(GOOD)
    real_hash = builder_module.file_sha256

    def hash_then_edit(path: Path) -> str:
        digest = real_hash(path)
        path.write_text("# Rivers\n\nThe Amazon carries the most water of any river.\n")
        return digest

    monkeypatch.setattr(builder_module, "file_sha256", hash_then_edit)
    build(corpus, tmp_path, embedder)
    monkeypatch.undo()

    report, _ = build(corpus, tmp_path, embedder)

    assert report.changed == ["good.md"]
    assert "Amazon" in store_at(tmp_path / "index").load().chunks[0].text
