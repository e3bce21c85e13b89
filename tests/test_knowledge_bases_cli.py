"""Knowledge bases on the command line: `[kb.NAME]` tables, `--kb` on every command, `docbot index` for all,
and one clear line for a bad table or an unknown name."""

from __future__ import annotations

import json

import pytest

from docbot.errors import ConfigError
from docbot.settings import load_settings
from tests.conftest import TINY_DOCS, run_docbot

FERRIES = {
    "ferries.md": "# Ferries\n\nThe Nordvik ferry leaves the harbour at seven every morning and returns at dusk.\n",
    "harbour.md": "# Harbour\n\nThe harbour master of Nordvik is Ingrid Solberg, who keeps the tide tables.\n",
}


@pytest.fixture
def config(tmp_path, write_corpus):
    """A config file: the default knowledge base is the tiny corpus, [kb.ferries] another folder."""
    write_corpus(TINY_DOCS)
    ferries = tmp_path / "ferries"
    ferries.mkdir()
    for name, text in FERRIES.items():
        (ferries / name).write_text(text, encoding="utf-8")
    path = tmp_path / "docbot.toml"
    path.write_text(
        f'corpus = "{tmp_path / "corpus"}"\nindex_dir = "{tmp_path / "index-default"}"\n'
        f'[kb.ferries]\ncorpus = "{ferries}"\nindex_dir = "{tmp_path / "index-ferries"}"\nchannels = [201]\n',
        encoding="utf-8",
    )
    return path


def docbot(config, *args: str, **kwargs):
    return run_docbot(*args, "--config", str(config), env={"HF_HUB_OFFLINE": "1"}, **kwargs)


def last_line(result) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_index_builds_every_knowledge_base_then_kb_builds_one(config):
    everything = docbot(config, "index")
    assert everything.returncode == 0, everything.stderr
    assert "default: index updated: 3 added" in everything.stderr
    assert "ferries: index updated: 2 added" in everything.stderr
    (config.parent / "ferries" / "timetable.md").write_text("The ferry sails at noon on Saturdays.\n")
    (config.parent / "corpus" / "dogs.md").write_text("Dogs bark at the mail.\n")
    one = docbot(config, "index", "--kb", "ferries")
    assert one.returncode == 0, one.stderr
    assert last_line(one).startswith("index updated: 1 added, 0 changed, 0 removed, 2 unchanged")
    assert "default" not in one.stderr  # the other knowledge base is left alone
    again = docbot(config, "index")
    assert "default: index updated: 1 added" in again.stderr and "ferries: index already up to date" in again.stderr


def test_search_and_ask_answer_from_the_named_knowledge_base(config):
    assert docbot(config, "index").returncode == 0
    ferries = json.loads(docbot(config, "search", "--kb", "ferries", "--json", "Nordvik ferry").stdout)
    default = json.loads(docbot(config, "search", "--json", "Nordvik ferry").stdout)
    assert ferries["passages"][0]["doc"] == "ferries.md"
    assert {p["doc"] for p in default["passages"]} <= set(TINY_DOCS)
    asked = docbot(config, "ask", "--kb", "ferries", "--json", "Who is the harbour master of Nordvik?")
    answer = json.loads(asked.stdout)
    assert asked.returncode == 0 and "Solberg" in answer["answer"]
    assert answer["sources"][0]["doc"] == "harbour.md"


def test_a_knowledge_base_that_fails_to_index_is_one_line_and_the_others_are_built(config):
    (config.parent / "ferries" / "ferries.md").unlink()
    (config.parent / "ferries" / "harbour.md").unlink()
    result = docbot(config, "index")
    assert result.returncode == 1
    assert "default: index updated: 3 added" in result.stderr
    assert "docbot: error: knowledge base ferries: no .txt, .md" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["ask", "a question?"], ["search", "a question?"], ["chat"], ["index"]])
def test_an_unknown_knowledge_base_is_one_line_naming_the_known_ones(config, command):
    result = docbot(config, command[0], "--kb", "hr", *command[1:])
    assert result.returncode == 1
    assert result.stderr.strip() == "docbot: error: unknown knowledge base 'hr': the known ones are default, ferries"


def test_eval_takes_kb_too(config, tmp_path):
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"question": "When does the ferry leave?", "answers": ["seven"], "answerable": true}\n')
    result = docbot(config, "eval", str(questions), "--kb", "nope")
    assert last_line(result) == "docbot: error: unknown knowledge base 'nope': the known ones are default, ferries"


def test_kb_with_corpus_is_refused(config):
    result = docbot(config, "search", "--kb", "ferries", "--corpus", "elsewhere", "ferry")
    assert result.returncode == 1
    assert last_line(result) == "docbot: error: --kb names a corpus and its index: leave out --corpus and --index-dir"


BAD_TABLES = [
    ('[kb.docs]\ncorpus = "docs"\nchanels = [1]\n', "unknown key(s) in [kb.docs]", "chanels"),
    ("[kb.docs]\nchannels = [1]\n", "[kb.docs]", "has no corpus"),
    ('[kb.a]\ncorpus = "a"\nchannels = [7]\n[kb.b]\ncorpus = "b"\nchannels = [7]\n', "channel 7", "a and b"),
    ('[kb.a]\ncorpus = "a"\nguilds = [5]\n[kb.b]\ncorpus = "b"\nguilds = [5]\n', "guild 5", "a and b"),
    ('[kb.docs]\ncorpus = "docs"\nchannels = ["general"]\n', "invalid value for channels", "Discord ids"),
    ('[kb.default]\ncorpus = "docs"\n', "[kb.default]", "top-level corpus"),
    ('[kb."my docs"]\ncorpus = "docs"\n', "[kb.my docs]", "letters, digits"),
    ('kb = "docs"\n', "kb in", "tables such as [kb.docs]"),
]


@pytest.mark.parametrize(("toml", "names", "says"), BAD_TABLES)
def test_a_bad_knowledge_base_table_is_one_clear_error(tmp_path, toml, names, says):
    path = tmp_path / "docbot.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert names in message and says in message and str(path) in message and "\n" not in message


def test_a_bad_table_stops_the_command_with_that_line(tmp_path):
    path = tmp_path / "docbot.toml"
    path.write_text("[kb.docs]\nchannels = [1]\n", encoding="utf-8")
    result = run_docbot("search", "--config", str(path), "anything")
    assert result.returncode == 1
    assert result.stderr.strip() == f'docbot: error: [kb.docs] in {path} has no corpus: add corpus = "folder/"'
