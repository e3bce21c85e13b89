"""An index folder that cannot take a build (full, read-only, a file, gone) is one clear line, exit 1,
and the previous index goes on answering."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from docbot.index.builder import BuildEvents, build_index
from docbot.index.errors import IndexWriteError
from docbot.index.store import IndexStore
from tests.conftest import CHUNKING, REPO, run_docbot, store_at
from tests.test_index_faults import WRITE_STEPS  # every filesystem call IndexStore.write makes

VENUS = "# Venus\n\nVenus spins backwards, so the Sun rises in the west there.\n"
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c"]  # root in a mount namespace of its own
SNAPSHOT = (  # snapshot() as a command, for inside that namespace
    "import json, sys, pathlib, tests.test_index_write_faults as t; "
    "print(json.dumps(t.snapshot(pathlib.Path(sys.argv[1]))))"
)


@pytest.fixture
def built(tiny_corpus, tmp_path, embedder) -> tuple[Path, IndexStore]:
    """The tiny corpus indexed; its space.md then changed, so the next build must write."""
    store = store_at(tmp_path / "index")
    build_index(tiny_corpus, store, embedder, CHUNKING)
    (tiny_corpus / "space.md").write_text(VENUS)
    return tiny_corpus, store


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry below `folder` (but the lock): a hash of each file's bytes, "folder" for a folder."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        for path in sorted(folder.rglob("*"))
        if path.name != ".lock"
    }


def index_command(corpus: Path, store: IndexStore, *more: str) -> list[str]:
    return ["index", "--corpus", str(corpus), "--index-dir", str(store.root), *more]


def assert_one_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [f"docbot: error: {message}"]


@pytest.mark.parametrize(("owner", "name"), WRITE_STEPS, ids=[name for _, name in WRITE_STEPS])
def test_no_space_at_any_write_is_one_error_and_the_previous_index_stays(built, embedder, monkeypatch, owner, name):
    corpus, store = built
    before = snapshot(store.root)
    real = getattr(owner, name)
    disk = {"full": False}

    def write(*args, **kwargs):
        if disk["full"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, write)
    fill_the_disk = BuildEvents(on_embed_start=lambda total: disk.update(full=True))  # once the checks are done
    with pytest.raises(IndexWriteError) as error:
        build_index(corpus, store, embedder, CHUNKING, events=fill_the_disk)
    monkeypatch.undo()

    assert str(error.value) == (
        f"cannot write the index in {store.root}: no space left on device; the previous index is untouched"
    )
    assert snapshot(store.root) == before  # no staging folder or temporary file left either
    assert "Venus" not in " ".join(chunk.text for chunk in store.load().chunks)
    assert build_index(corpus, store, embedder, CHUNKING).changed == ["space.md"]  # room again: it goes through


def test_index_folder_vanishing_mid_build_is_one_error_and_the_next_build_starts_afresh(built, embedder):
    corpus, store = built

    vanish = BuildEvents(on_embed_start=lambda total: shutil.rmtree(store.root))
    with pytest.raises(IndexWriteError) as error:
        build_index(corpus, store, embedder, CHUNKING, events=vanish)

    assert str(error.value) == f"the index folder {store.root} vanished during the build: run `docbot index` again"
    assert not store.root.exists()  # not made again behind the back of a build that may be starting there
    assert sorted(build_index(corpus, store, embedder, CHUNKING).added) == [
        "animals/cats.md",
        "animals/owls.txt",
        "space.md",
    ]


def test_a_killed_build_s_leftovers_go_at_the_next_build_even_one_with_nothing_to_do(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    build_index(tiny_corpus, store, embedder, CHUNKING)
    staging = store.root / ".staging-gen-20260101T000000-0badc0de"
    staging.mkdir()
    (staging / "chunks.jsonl").write_text("{}\n")
    (store.root / ".CURRENT.0badc0de.tmp").write_text("gen-20260101T000000-0badc0de\n")
    before = snapshot(store.root)

    report = build_index(tiny_corpus, store, embedder, CHUNKING)

    assert not report.written
    assert snapshot(store.root) == {
        name: digest for name, digest in before.items() if not name.startswith((".staging-", ".CURRENT."))
    }
    assert not staging.exists()


@contextmanager
def unwritable(folder: Path) -> Iterator[str]:
    """Nothing in `folder` can be created, replaced or opened for writing; yields the reason the system gives.

    For a user, permissions do it. Root writes through permissions, so for root the folder and its
    files are made immutable (chattr +i), the `--rebuild` case of the issue; skipped where neither works.
    """
    entries = [path for path in folder.iterdir() if path.is_file()] + [folder]
    if os.geteuid() != 0:
        for path in entries:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield "permission denied"
        finally:
            for path in entries:
                path.chmod(0o755 if path.is_dir() else 0o644)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", *map(str, entries)]).returncode:
        subprocess.run(["chattr", "-i", *map(str, entries)], capture_output=True)
        pytest.skip("running as root, and this file system cannot make the index folder immutable")
    try:
        yield "operation not permitted"
    finally:
        subprocess.run(["chattr", "-i", *map(str, entries)], check=True)


def test_an_index_no_one_may_write_still_answers_and_a_build_into_it_is_one_line(built, embedder):
    corpus, store = built
    search = ["search", "--json", "--index-dir", str(store.root), "Which volcano is the tallest?"]
    before = snapshot(store.root)

    with unwritable(store.root) as reason:
        embedded = embedder.embedded_count
        with pytest.raises(IndexWriteError):
            build_index(corpus, store, embedder, CHUNKING)
        assert embedder.embedded_count == embedded  # refused before minutes of embedding, not after
        changed = run_docbot(*index_command(corpus, store))
        rebuild = run_docbot(*index_command(corpus, store, "--rebuild"))
        answer = run_docbot(*search)

    message = f"cannot write the index in {store.root}: {reason}; the previous index is untouched"
    assert_one_line(changed, message)
    assert_one_line(rebuild, message)
    assert answer.returncode == 0, answer.stderr
    assert "Olympus Mons" in json.loads(answer.stdout)["passages"][0]["text"]
    assert snapshot(store.root) == before


def test_an_unchanged_corpus_on_an_index_no_one_may_write_is_a_clean_no_op(tiny_corpus, tmp_path, embedder):
    store = store_at(tmp_path / "index")
    build_index(tiny_corpus, store, embedder, CHUNKING)

    with unwritable(store.root):
        result = run_docbot(*index_command(tiny_corpus, store))

    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("index already up to date: 0 added, 0 changed, 0 removed, 3 unchanged")


def test_index_dir_that_is_a_file_is_one_line_for_index_and_for_search(tiny_corpus, tmp_path):
    not_a_folder = tmp_path / "index"
    not_a_folder.write_text("not an index\n")

    index = run_docbot("index", "--corpus", str(tiny_corpus), "--index-dir", str(not_a_folder))
    search = run_docbot("search", "--index-dir", str(not_a_folder), "volcano")

    assert_one_line(index, f"index folder {not_a_folder} is a file, not a folder: point --index-dir at a folder")
    assert_one_line(
        search,
        f"index folder {not_a_folder} is not a folder: point --index-dir at the folder `docbot index` built",
    )
    assert not_a_folder.read_text() == "not an index\n"


def mount_namespace_works() -> bool:
    """Whether this test may mount a tmpfs in a mount namespace of its own (root, or user namespaces allowed)."""
    if shutil.which("unshare") is None:
        return False
    probe = "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=64k tmpfs /tmp"
    return subprocess.run(UNSHARE + [probe], capture_output=True).returncode == 0


@pytest.mark.skipif(not mount_namespace_works(), reason="cannot mount a tmpfs here (no user or mount namespaces)")
def test_a_full_disk_is_one_line_and_the_previous_index_stays_byte_for_byte(built, tmp_path):
    corpus, store = built
    before = snapshot(store.root)
    disk = tmp_path / "disk"  # a 1 MB tmpfs holding a copy of the index, filled up but for two pages
    disk.mkdir()
    script = f"""
        set -e
        mount -t tmpfs -o size=1m tmpfs {disk}
        cp -a {store.root}/. {disk}/
        cat /dev/zero > {disk}/filler 2>/dev/null || true
        truncate -s -8192 {disk}/filler
        {sys.executable} -m docbot index --corpus {corpus} --index-dir {disk} 2> {tmp_path}/stderr \\
            || echo $? > {tmp_path}/status
        rm {disk}/filler
        {sys.executable} -c "{SNAPSHOT}" {disk} > {tmp_path}/after.json
    """
    subprocess.run(UNSHARE + [script], cwd=REPO, check=True, timeout=120)

    assert (tmp_path / "status").read_text().strip() == "1"
    assert (tmp_path / "stderr").read_text().splitlines() == [
        f"docbot: error: cannot write the index in {disk}: no space left on device; the previous index is untouched"
    ]
    after = json.loads((tmp_path / "after.json").read_text())
    assert after == before  # nothing new, nothing changed, no staging left on the disk
