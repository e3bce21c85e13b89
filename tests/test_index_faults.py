"""A damaged index gives a clear error or is rebuilt; a build that dies at any step loses nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from docbot.index import store as store_module
from docbot.index.builder import build_index
from docbot.index.errors import IndexCorruptError
from docbot.index.store import IndexStore
from tests.conftest import CHUNKING, run_docbot, store_at

# Every filesystem step of IndexStore.write, in the order a build takes them.
WRITE_STEPS = [
    (store_module.Path, "mkdir"),
    (store_module.Path, "open"),
    (store_module, "save_array"),
    (store_module, "fsync"),
    (store_module.os, "rename"),
    (store_module.os, "replace"),
]


class InjectedFault(Exception):
    pass


def fail_on_call(monkeypatch, owner, name: str, at: int) -> None:
    """Make owner.name raise on its `at`-th call (0-based) from now on."""
    real = getattr(owner, name)
    calls = {"n": 0}

    def faulty(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] - 1 == at:
            raise InjectedFault(f"{name} #{at}")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, faulty)


@pytest.fixture
def built(tiny_corpus, tmp_path, embedder) -> tuple[Path, IndexStore]:
    store = store_at(tmp_path / "index")
    build_index(tiny_corpus, store, embedder, CHUNKING)
    return tiny_corpus, store


@pytest.mark.parametrize(("owner", "name"), WRITE_STEPS, ids=[name for _, name in WRITE_STEPS])
@pytest.mark.parametrize("at", [0, 1, 3])
def test_build_killed_at_any_write_step_keeps_previous_index(built, embedder, monkeypatch, owner, name, at):
    corpus, store = built
    before = [c.text for c in store.load().chunks]
    (corpus / "space.md").write_text("# Venus\n\nVenus spins backwards.\n")

    fail_on_call(monkeypatch, owner, name, at)
    try:
        build_index(corpus, store, embedder, CHUNKING)
        crashed = False
    except InjectedFault:
        crashed = True
    monkeypatch.undo()

    after = [c.text for c in store.load().chunks]
    if crashed:
        assert after == before
    else:  # the fault hit a call the build does not make that often: the new index is complete
        assert any("Venus" in text for text in after)
    assert not [p for p in store.root.iterdir() if p.name.startswith(".staging")]


def test_truncated_vectors_file_is_a_clear_error_and_index_rebuilds(built, tmp_path):
    corpus, store = built
    vectors = store.current_path() / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:50])

    ask = run_docbot("search", "volcano", "--index-dir", str(store.root))
    assert ask.returncode == 1 and "damaged" in ask.stderr and "--rebuild" in ask.stderr
    assert "Traceback" not in ask.stderr

    rebuild = run_docbot("index", "--corpus", str(corpus), "--index-dir", str(store.root))
    assert rebuild.returncode == 0, rebuild.stderr
    assert "rebuilding from scratch" in rebuild.stderr
    assert len(store.load().chunks) == 3


def test_an_index_in_the_previous_format_asks_for_a_rebuild_and_docbot_index_does_it(built):
    corpus, store = built
    generation = store.current_path()
    manifest = json.loads((generation / "manifest.json").read_text())
    manifest["format_version"] = 1  # locations were "lines 3-5" strings then
    (generation / "manifest.json").write_text(json.dumps(manifest))
    chunks = [json.loads(line) for line in (generation / "chunks.jsonl").read_text().splitlines()]
    old_chunks = [{**chunk, "location": "lines 1-2"} for chunk in chunks]
    (generation / "chunks.jsonl").write_text("".join(json.dumps(chunk) + "\n" for chunk in old_chunks))

    search = run_docbot("search", "volcano", "--index-dir", str(store.root))
    assert search.returncode == 1 and "has format 1" in search.stderr and "--rebuild" in search.stderr

    rebuild = run_docbot("index", "--corpus", str(corpus), "--index-dir", str(store.root))
    assert rebuild.returncode == 0, rebuild.stderr
    assert "rebuilding from scratch" in rebuild.stderr
    assert "--rebuild" not in rebuild.stderr  # it is rebuilding: no advice to do what it does
    assert str(store.load().chunks[0].location) == "line 3"


def test_missing_metadata_file(built):
    _, store = built
    (store.current_path() / "chunks.jsonl").unlink()
    with pytest.raises(IndexCorruptError, match="damaged"):
        store.load()


def test_chunks_and_vectors_disagreeing_is_detected(built):
    _, store = built
    path = store.current_path() / "embeddings.npy"
    np.save(path, np.load(path)[:1])
    with pytest.raises(IndexCorruptError, match="disagree"):
        store.load()


def test_manifest_from_another_format_version(built):
    _, store = built
    path = store.current_path() / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 99
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="format 99"):
        store.load()


@pytest.mark.parametrize("pointer", ["../../etc", "garbage\x00", ""])
def test_damaged_current_pointer(built, pointer):
    _, store = built
    (store.root / "CURRENT").write_text(pointer)
    with pytest.raises(IndexCorruptError):
        store.load()


def test_concurrent_index_run_exits_with_a_clear_message(built):
    corpus, store = built
    with store.lock():
        result = run_docbot("index", "--corpus", str(corpus), "--index-dir", str(store.root))
    assert result.returncode == 1
    assert "another `docbot index` is building" in result.stderr


def test_old_generation_survives_one_swap_for_readers_mid_load(built, embedder):
    corpus, store = built
    first = store.current_path()
    (corpus / "space.md").write_text("# Venus\n\nVenus spins backwards.\n")
    build_index(corpus, store, embedder, CHUNKING)
    assert first.is_dir() and store.current_path() != first
    (corpus / "space.md").write_text("# Venus\n\nVenus has no moons.\n")
    build_index(corpus, store, embedder, CHUNKING)
    assert not first.exists()
    assert sorted(os.listdir(store.root)).count("CURRENT") == 1
