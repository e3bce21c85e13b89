"""Shared fixtures: real models loaded once per test session, tiny corpora per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from docbot.components import chunking_params, index_corpus, load_llm, make_embedder
from docbot.engine.llm import LanguageModel
from docbot.index.embedder import Embedder
from docbot.index.store import IndexStore
from docbot.settings import Settings
from tests.fake_llm_server import StandInServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Feedback from the bots the tests start (in process or not) goes to a throwaway data folder, never the user's.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="docbot-test-data-")

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = REPO / "corpus"
SHIPPED_DOC = "microsoft-meta-ai-partnership.txt"

TINY_DOCS = {
    "animals/cats.md": "# Cats\n\nThe domestic cat sleeps about fifteen hours a day. Cats purr when content.\n",
    "animals/owls.txt": "Owls\nThe snowy owl hunts lemmings across the Arctic tundra during the long polar day.\n",
    "space.md": "# Mars\n\nOlympus Mons on Mars is the tallest volcano in the solar system, about 22 km high.\n",
}


DEFAULTS = Settings()
CHUNKING = chunking_params(DEFAULTS)  # the default chunking, for tests that call build_index


def store_at(path: Path) -> IndexStore:
    """An index store in `path` with the default settings."""
    return IndexStore(path, DEFAULTS.approximate_above)


def engine_over(docs: dict[str, str], tmp_path_factory, embedder: Embedder, llm: LanguageModel, top_k: int = 3):
    """The real engine over a corpus of `docs` ({file name: text}), indexed in temporary folders."""
    from docbot.components import build_engine, open_retriever
    from docbot.index.builder import build_index

    corpus = tmp_path_factory.mktemp("corpus")
    for name, text in docs.items():
        (corpus / name).write_text(text, encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("index")
    build_index(corpus, store_at(index_dir), embedder, CHUNKING)
    settings = Settings(index_dir=index_dir, top_k=top_k)
    return build_engine(settings, retriever=open_retriever(settings, embedder), llm=llm)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once."""
    model = make_embedder(DEFAULTS)
    model.embed(["warm up"])
    return model


@pytest.fixture(scope="session")
def llm() -> LanguageModel:
    """The packaged SmolLM2-135M GGUF, loaded once."""
    return load_llm(DEFAULTS)


@pytest.fixture
def write_corpus(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write {relative path: text} into a fresh corpus folder and return it."""

    def write(docs: dict[str, str]) -> Path:
        root = tmp_path / "corpus"
        for name, text in docs.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        root.mkdir(exist_ok=True)
        return root

    return write


@pytest.fixture
def tiny_corpus(write_corpus) -> Path:
    return write_corpus(TINY_DOCS)


@pytest.fixture
def model_server() -> Iterator[StandInServer]:
    """A stand-in OpenAI-compatible model server on 127.0.0.1 (tests/fake_llm_server.py): it answers
    with the first sentence of fact [1]; set `word_delay` to pace its stream."""
    server = StandInServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory, embedder) -> Path:
    """The shipped corpus indexed once into a temporary index folder; returns that folder."""
    index_dir = tmp_path_factory.mktemp("shipped-index")
    corpus = tmp_path_factory.mktemp("shipped-corpus")
    shutil.copytree(SHIPPED_CORPUS, corpus, dirs_exist_ok=True)
    index_corpus(Settings(corpus=corpus, index_dir=index_dir), embedder)
    return index_dir


def run_docbot(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the real `docbot` command line in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "docbot", *args],
        cwd=REPO,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rss_mb() -> float:
    """This process's resident memory now, in MB (not the lifetime peak `ru_maxrss` reports)."""
    return psutil.Process().memory_info().rss / 2**20


@contextmanager
def rss_sampled(every_seconds: float = 0.005) -> Iterator[list[float]]:
    """Resident memory (MB) sampled in a thread while the block runs: before, during, after."""
    samples = [rss_mb()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every_seconds):
            samples.append(rss_mb())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        done.set()
        thread.join()
        samples.append(rss_mb())
