"""Commands load only the models they use: `--help` none, `search` no language model, a build
with the ONNX export made no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from docbot.components import index_corpus
from docbot.settings import Settings
from tests.conftest import REPO

HEAVY = ("llama_cpp", "torch", "transformers", "sentence_transformers", "faiss")
TORCH = {"torch", "transformers", "sentence_transformers"}  # ~5 s to import: only `docbot index` needs them
# Runs the real CLI, then reports which heavy modules ended up imported.
PROBE = f"""
import runpy, sys
sys.argv = ["docbot", *sys.argv[1:]]
try:
    runpy.run_module("docbot", run_name="__main__")
finally:
    print("LOADED:" + ",".join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)
"""


def loaded_modules(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True, timeout=180)
    line = next(line for line in result.stderr.splitlines() if line.startswith("LOADED:"))
    return {name for name in line.removeprefix("LOADED:").split(",") if name}, result


def test_help_loads_no_model() -> None:
    loaded, result = loaded_modules("--help")

    assert "search" in result.stdout
    assert loaded == set()


def test_search_never_loads_the_language_model(tiny_corpus: Path, tmp_path: Path, embedder) -> None:
    settings = Settings(corpus=tiny_corpus, index_dir=tmp_path / "index")
    index_corpus(settings, embedder)

    loaded, result = loaded_modules("search", "tallest volcano", "--index-dir", str(settings.index_dir))

    assert "space.md" in result.stdout
    assert "llama_cpp" not in loaded  # nothing is generated...
    assert not loaded & TORCH  # ...and the question is embedded by the ONNX export the build made


def test_ask_never_imports_torch(tiny_corpus: Path, tmp_path: Path, embedder) -> None:
    settings = Settings(corpus=tiny_corpus, index_dir=tmp_path / "index")
    index_corpus(settings, embedder)

    loaded, result = loaded_modules("ask", "How tall is Olympus Mons?", "--index-dir", str(settings.index_dir))

    assert "space.md" in result.stdout, result.stderr
    assert "llama_cpp" in loaded
    assert not loaded & TORCH


def test_a_build_embeds_documents_without_torch_once_the_export_is_made(
    tiny_corpus: Path, tmp_path: Path, embedder
) -> None:
    index_corpus(Settings(corpus=tiny_corpus, index_dir=tmp_path / "first"), embedder)  # makes the export

    loaded, result = loaded_modules("index", "--corpus", str(tiny_corpus), "--index-dir", str(tmp_path / "second"))

    assert "3 added" in result.stderr, result.stderr
    assert not loaded & TORCH  # ~5 s of imports and ~300 MB saved in every build
