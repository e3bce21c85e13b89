"""The `docbot` command: index documents, then search, ask or chat about them.

Heavy modules (torch, llama.cpp, faiss) are imported inside the commands that need them, so
`docbot --help` answers at once and `docbot search` never loads the language model.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from docbot.errors import ConfigError, DocbotError
from docbot.index.openmp_waiting import set_openmp_waiting
from docbot.knowledge_base_config import DEFAULT_KNOWLEDGE_BASE
from docbot.settings import Settings, load_settings
from docbot.terminal.safe_text import PrintableLogRecords, printable  # messages quote untrusted names

INTERRUPTED = 130  # exit status after Ctrl+C, as shells report a SIGINT

set_openmp_waiting()  # before torch, faiss or llama.cpp loads (docbot.index.openmp_waiting says why)

app = typer.Typer(
    name="docbot",
    help=(
        "Ask questions about a folder of documents; a local model answers, citing the passages it used.\n\n"
        'Start with `docbot index`, then `docbot ask "your question"`.'
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

CorpusOpt = Annotated[
    Path | None,
    typer.Option("--corpus", help="Folder of documents.", show_default="corpus/ or DOCBOT_CORPUS"),
]
IndexDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--index-dir",
        help="Where the index lives.",
        show_default="a per-corpus folder in the user cache",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file.", show_default="DOCBOT_CONFIG or ./docbot.toml"),
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        "--embedder",
        help="sentence-transformers model name or folder.",
        show_default="packaged all-MiniLM-L6-v2",
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="GGUF model file.", show_default="packaged SmolLM2-135M-Instruct"),
]
TopKOpt = Annotated[
    int | None,
    typer.Option("-k", "--top-k", help="How many passages to retrieve.", show_default=str(Settings.top_k)),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
KbOpt = Annotated[
    str | None,
    typer.Option(
        "--kb", help="Knowledge base: a [kb.NAME] table of the config file.", show_default="default (--corpus)"
    ),
]


def _settings(config: Path | None = None, kb: str | None = None, **overrides: object) -> Settings:
    """Settings from every source; with `kb`, those of that knowledge base (its corpus and index folder)."""
    settings = load_settings(config, **overrides)
    if kb is None:
        return settings
    if overrides.get("corpus") is not None or overrides.get("index_dir") is not None:
        raise ConfigError("--kb names a corpus and its index: leave out --corpus and --index-dir")
    return settings.for_knowledge_base(kb)


@app.command()
def index(
    corpus: CorpusOpt = None,
    index_dir: IndexDirOpt = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed every file, even unchanged ones.")] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Name every skipped entry, not only the counts.")
    ] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Then keep the index current as files change, until Ctrl+C.")
    ] = False,
    embedder: EmbedderOpt = None,
    kb: KbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Index the corpus: chunk and embed new or changed files, drop removed ones.

    Without --kb, every knowledge base of the config file is indexed, one after another.
    """
    from docbot.components import index_corpus, make_embedder
    from docbot.terminal import render

    settings = _settings(config, kb, corpus=corpus, index_dir=index_dir, embedder=embedder)
    names = [kb] if kb is not None else settings.knowledge_base_names()
    if watch and len(names) > 1:
        raise ConfigError("--watch follows one knowledge base: add --kb NAME (one of " + ", ".join(names) + ")")
    embedder_model = make_embedder(settings)

    def build(base: Settings, rebuild: bool = False, name: str = "") -> None:
        progress, events = render.build_progress(base.progress_seconds, verbose)
        with progress:
            report = index_corpus(base, embedder_model, rebuild, events)
        render.print_build_report(report, base.resolved_index_dir(), name)

    if len(names) == 1:
        build(settings, rebuild)
    else:
        _build_each(settings, names, build, rebuild)
    if watch:
        _watch(settings, lambda: build(settings))


def _build_each(
    settings: Settings, names: list[str], build: Callable[[Settings, bool, str], None], rebuild: bool
) -> None:
    """Index every knowledge base, its name on its line; one that fails is one error line and the rest go on."""
    failed = 0
    for name in names:
        try:
            build(settings.for_knowledge_base(name), rebuild, name)
        except DocbotError as exc:
            _print_error(DocbotError(f"knowledge base {name}: {exc}"))
            failed += 1
    if failed:
        raise typer.Exit(1)


def _watch(settings: Settings, build: Callable[[], None]) -> None:
    """Rebuild once per burst of changes until Ctrl+C; a failed rebuild is one line and the watch goes on."""
    import threading

    from docbot.index.watch import watch_corpus

    def rebuild(_changed: set[str]) -> None:  # the build re-walks the corpus: the paths are only a hint
        try:
            build()
        except DocbotError as exc:
            _print_error(exc)

    def ready() -> None:
        sys.stderr.write(f"watching {printable(str(settings.corpus))} for changes (Ctrl+C stops)\n")

    watch_corpus(settings.corpus, rebuild, threading.Event(), settings.resolved_index_dir(), on_ready=ready)


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="What to look for.")],
    top_k: TopKOpt = None,
    json_output: JsonOpt = False,
    corpus: CorpusOpt = None,
    index_dir: IndexDirOpt = None,
    embedder: EmbedderOpt = None,
    kb: KbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show the passages that best match a question (retrieval only, no language model)."""
    from docbot.components import open_retriever
    from docbot.engine.answer import clean_question
    from docbot.terminal import render

    settings = _settings(config, kb, corpus=corpus, index_dir=index_dir, embedder=embedder, top_k=top_k)
    question = clean_question(question)
    passages = open_retriever(settings).search(question, settings.top_k)
    if json_output:
        passages_json = [p.to_json(n) for n, p in enumerate(passages, start=1)]
        render.print_json({"question": question, "passages": passages_json})
    else:
        render.print_passages(passages)


@app.command()
def ask(
    question: Annotated[
        str | None,
        typer.Argument(
            help="The question. With --json and no question, questions are read from standard input, one per line.",
            show_default=False,
        ),
    ] = None,
    top_k: TopKOpt = None,
    json_output: JsonOpt = False,
    corpus: CorpusOpt = None,
    index_dir: IndexDirOpt = None,
    embedder: EmbedderOpt = None,
    model: ModelOpt = None,
    kb: KbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Answer a question from the documents, citing the passages used as [1], [2]..."""
    from docbot.components import build_engine
    from docbot.engine.answer import clean_question
    from docbot.terminal import render

    settings = _settings(
        config, kb, corpus=corpus, index_dir=index_dir, embedder=embedder, llm_model=model, top_k=top_k
    )
    if question is None and not json_output:
        raise typer.BadParameter(
            "give a question, or use --json to read questions from standard input", param_hint="QUESTION"
        )
    if question is not None:
        clean_question(question)  # an empty question fails before any model loads
    with closing(build_engine(settings)) as engine:
        if question is None:
            for line in sys.stdin:
                if line.strip():
                    render.print_json(engine.answer(line).to_json())
        elif json_output:
            render.print_json(engine.answer(question).to_json())
        else:
            with render.streaming_answer() as on_text:
                answer = engine.answer(question, on_text=on_text)
            render.print_answer(answer)


@app.command()
def chat(
    top_k: TopKOpt = None,
    corpus: CorpusOpt = None,
    index_dir: IndexDirOpt = None,
    embedder: EmbedderOpt = None,
    model: ModelOpt = None,
    kb: KbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Ask questions one after another (models load once). Follow-ups see the last answer."""
    from docbot.components import build_engine
    from docbot.terminal.chat import run_chat

    settings = _settings(
        config, kb, corpus=corpus, index_dir=index_dir, embedder=embedder, llm_model=model, top_k=top_k
    )
    with closing(build_engine(settings)) as engine:
        run_chat(engine)


@app.command(name="eval")
def evaluate(
    questions: Annotated[
        Path, typer.Argument(help="JSON lines with 'question', 'answers' (gold strings) and 'answerable'.")
    ],
    corpus: CorpusOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N questions.", show_default=False)
    ] = None,
    json_output: JsonOpt = False,
    index_dir: IndexDirOpt = None,
    embedder: EmbedderOpt = None,
    model: ModelOpt = None,
    kb: KbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Measure retrieval, answers and refusals on a QA benchmark (indexes the corpus if needed)."""
    from docbot.components import build_engine, index_corpus, make_embedder, open_retriever
    from docbot.engine.evaluation import load_questions, run_eval, summarize
    from docbot.terminal import render

    settings = _settings(config, kb, corpus=corpus, index_dir=index_dir, embedder=embedder, llm_model=model)
    bench = load_questions(questions, limit)
    embedder_model = make_embedder(settings)
    progress, events = render.build_progress(settings.progress_seconds)
    with progress:
        index_corpus(settings, embedder_model, events=events)
    engine = build_engine(settings, open_retriever(settings, embedder_model))
    with closing(engine), render.question_progress(len(bench.questions)) as on_done:
        report = summarize(run_eval(engine, bench.questions, on_done), bench.unlabeled)
    if json_output:
        render.print_json(report.to_json())
    else:
        render.print_table(f"docbot eval: {questions}", report.rows())


@app.command()
def discord(
    corpus: CorpusOpt = None,
    index_dir: IndexDirOpt = None,
    embedder: EmbedderOpt = None,
    model: ModelOpt = None,
    watch: Annotated[
        bool | None,
        typer.Option("--watch", help="Keep the index current as files change (setting `watch`).", show_default=False),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Run the Discord bot until Ctrl+C: it answers mentions, replies to its answers, and /ask.

    Run `docbot index` first. The bot token comes from DISCORD_TOKEN or the config file, where the
    discord table also sets servers, channels, cooldown and more (README › Discord).
    """
    import logging

    import discord as discord_py

    from docbot.discord.client import run_discord

    settings = _settings(config, corpus=corpus, index_dir=index_dir, embedder=embedder, llm_model=model, watch=watch)
    discord_py.utils.setup_logging(level=logging.INFO)
    for handler in logging.getLogger().handlers:
        handler.addFilter(PrintableLogRecords())
    run_discord(settings)


feedback_app = typer.Typer(
    help="Feedback from Discord (👍/👎 and refusals): the questions the documents did not answer.",
    no_args_is_help=True,
)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
def feedback_export(
    kb: KbOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file.", show_default="standard output")
    ] = None,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="How far back to look.", show_default=str(Settings.gaps_days)),
    ] = None,
    feedback_db: Annotated[
        Path | None,
        typer.Option("--feedback-db", help="The feedback database.", show_default="feedback_db setting"),
    ] = None,
    embedder: EmbedderOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the recent questions that were refused or got a 👎 as a `docbot eval` questions file.

    One line per question, most asked first. Fill in 'answers' on those to measure; eval skips the rest.
    """
    from docbot.components import make_embedder, make_feedback_store
    from docbot.feedback.gaps import group_gaps, since, write_eval_questions
    from docbot.feedback.store import FeedbackStoreError

    settings = _settings(config, kb, embedder=embedder, feedback_db=feedback_db, gaps_days=days)  # checks the name
    kb = kb or DEFAULT_KNOWLEDGE_BASE
    if not settings.resolved_feedback_db().is_file():
        raise FeedbackStoreError(
            f"no feedback database at {settings.resolved_feedback_db()}: docbot discord makes it with its first "
            "answer (set feedback_db if it lives elsewhere)"
        )
    with closing(make_feedback_store(settings)) as store:
        questions = store.gap_questions(kb, since(settings.gaps_days))
    gaps = group_gaps(questions, make_embedder(settings).embed_queries) if questions else []
    text = write_eval_questions(gaps)
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise DocbotError(f"cannot write {out}: {exc.strerror or exc}") from None
    where = f" to {out}" if out else ""
    sys.stderr.write(
        f"{len(gaps)} questions ({len(questions)} answers refused or 👎) from knowledge base {kb!r}, "
        f"last {settings.gaps_days} days{printable(where)}\n"
    )


def _print_error(exc: DocbotError) -> None:
    sys.stderr.write(f"docbot: error: {printable(str(exc))}\n")


def main() -> None:
    """Console entry point: named errors become one line on stderr and exit status 1; Ctrl+C, 130."""
    try:
        app(prog_name="docbot")
    except DocbotError as exc:
        _print_error(exc)
        sys.exit(1)
    except SystemExit as exc:
        if exc.code == INTERRUPTED:  # typer turns Ctrl+C into this exit status, silently
            sys.stderr.write("docbot: interrupted\n")
        raise
