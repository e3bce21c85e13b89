"""Every user mistake ends in one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_docbot


def assert_clean_failure(result, message: str) -> None:
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_ask_without_an_index_says_to_run_index(tmp_path):
    result = run_docbot("ask", "What is this?", "--index-dir", str(tmp_path / "none"))
    assert_clean_failure(result, "run `docbot index` first")


def test_index_built_with_another_embedder_says_to_rebuild(shipped_index, tmp_path):
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(shipped_index, copy)
    manifest_path = next(copy.glob("gen-*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    manifest["embedder"] = "someone/other-embedder"
    manifest_path.write_text(json.dumps(manifest))

    result = run_docbot("ask", "Who is the CEO?", "--index-dir", str(copy))

    assert_clean_failure(result, "docbot index --rebuild")


def test_missing_model_file(shipped_index, tmp_path):
    result = run_docbot("ask", "Who?", "--index-dir", str(shipped_index), "--model", str(tmp_path / "nope.gguf"))
    assert_clean_failure(result, "model file not found")


def test_model_file_that_is_not_gguf(shipped_index, tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_text("this is not a model")
    result = run_docbot("ask", "Who?", "--index-dir", str(shipped_index), "--model", str(fake))
    assert_clean_failure(result, "not a GGUF model file")


def test_empty_corpus(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_docbot("index", "--corpus", str(tmp_path / "empty"), "--index-dir", str(tmp_path / "index"))
    assert_clean_failure(result, "no .txt, .md, .rst, .pdf, .html,")


def test_missing_corpus_folder(tmp_path):
    result = run_docbot("index", "--corpus", str(tmp_path / "nowhere"), "--index-dir", str(tmp_path / "index"))
    assert_clean_failure(result, "corpus folder not found")


@pytest.mark.parametrize("question", ["", "   \t  "])
def test_empty_question(question, tmp_path):
    result = run_docbot("ask", question, "--index-dir", str(tmp_path))
    assert_clean_failure(result, "the question is empty")


def test_unreadable_files_are_skipped_and_the_rest_indexed(write_corpus, tmp_path):
    corpus = write_corpus({"ok.md": "# Tides\n\nTides are caused mainly by the Moon's gravity.\n"})
    (corpus / "data.txt").write_bytes(bytes(range(256)) * 10)

    result = run_docbot("index", "--corpus", str(corpus), "--index-dir", str(tmp_path / "index"))

    assert result.returncode == 0, result.stderr
    assert "skipped data.txt: looks binary" in result.stderr
    assert "1 added" in result.stderr and "1 skipped" in result.stderr


def test_bad_config_file(tmp_path: Path):
    config = tmp_path / "docbot.toml"
    config.write_text("top_k = 'many'\n")
    result = run_docbot("search", "x", "--config", str(config))
    assert_clean_failure(result, "invalid value for top_k")


def test_help_explains_every_command():
    result = run_docbot("--help")
    assert result.returncode == 0
    assert "docbot index" in result.stdout  # where to start
    for command in ("index", "search", "ask", "chat", "eval", "discord"):
        assert command in result.stdout
        assert run_docbot(command, "--help").returncode == 0
    search = run_docbot("search", "--help").stdout
    assert "DOCBOT_CORPUS" in search and "all-MiniLM-L6-v2" in search  # defaults are shown, not eaten as markup
    assert "Folder of documents ." not in search
    assert "DISCORD_TOKEN" in run_docbot("discord", "--help").stdout


@pytest.mark.slow
def test_ctrl_c_ends_with_one_line_and_exit_status_130(shipped_index):
    docbot = subprocess.Popen(
        [sys.executable, "-m", "docbot", "ask", "--json", "--index-dir", str(shipped_index)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert docbot.stdin and docbot.stdout
    docbot.stdin.write("Who leads Microsoft?\n")
    docbot.stdin.flush()
    assert json.loads(docbot.stdout.readline())["answered"]  # the models are loaded; it waits for the next line

    docbot.send_signal(signal.SIGINT)
    _, stderr = docbot.communicate(timeout=60)

    assert docbot.returncode == 130
    assert stderr.strip().splitlines() == ["docbot: interrupted"]
