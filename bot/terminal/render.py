"""How answers, passages and build progress look in a terminal."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from docbot.engine.answer import Answer
from docbot.index.builder import BuildEvents, BuildReport
from docbot.index.search import Passage
from docbot.terminal.safe_text import json_printable, printable

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)
SNIPPET_CHARS = 240


def markup_safe(text: str, multiline: bool = False) -> str:
    """Untrusted text to put inside rich markup: controls made visible, `[red]` or `[link=…]` shown as written."""
    return escape(printable(text, multiline))


def print_json(data: Any) -> None:
    """One JSON object on one line of standard output, flushed (for pipes); no raw control character in it."""
    sys.stdout.write(json_printable(json.dumps(data, ensure_ascii=False)) + "\n")
    sys.stdout.flush()


def print_passages(passages: Sequence[Passage]) -> None:
    if not passages:
        out.print("No passages found.")
    for n, passage in enumerate(passages, start=1):
        snippet = textwrap.shorten(passage.text, SNIPPET_CHARS, placeholder="…")
        out.print(f"[bold][{n}][/bold] {markup_safe(passage.citation())}  [dim](score {passage.score:.2f})[/dim]")
        out.print(f"    {markup_safe(snippet)}")


def print_sources(answer: Answer) -> None:
    if not answer.sources:
        return
    out.print("[dim]Sources:[/dim]")
    for n, passage in enumerate(answer.sources, start=1):
        cited = n in answer.cited
        line = f"{'*' if cited else ' '}[{n}] {printable(passage.citation())}"
        out.print(line, style="" if cited else "dim", markup=False)


@contextmanager
def streaming_answer() -> Iterator[Callable[[str], None]]:
    """Show the answer's pieces as they arrive (dim, then gone); the caller prints the final answer after leaving."""
    text = Text(style="dim")
    with Live(text, console=out, transient=True, auto_refresh=False) as live:

        def on_text(piece: str) -> None:
            text.append(printable(piece, multiline=True))
            live.refresh()

        yield on_text


def print_answer(answer: Answer) -> None:
    style = "bold" if answer.answered else "yellow"
    out.print(markup_safe(answer.text, multiline=True), style=style)
    print_sources(answer)


def build_progress(
    log_seconds: float, verbose: bool = False, console: Console = err
) -> tuple[AbstractContextManager[object], BuildEvents]:
    """Build progress and warnings on standard error: a bar in a terminal, else a line every `log_seconds`.

    With `verbose`, each entry that is not a document (a .png, a FIFO, an unreadable folder) is named.
    """
    progress, events = _progress_bar(console) if console.is_terminal else _progress_log(console, log_seconds)
    events.on_warning = lambda message: console.print(f"[yellow]warning:[/yellow] {markup_safe(message)}")
    if verbose:
        events.on_ignored = lambda entry, kind: console.print(f"skipped {entry} ({kind})", markup=False)
    return progress, events


def _progress_log(console: Console, seconds: float) -> tuple[AbstractContextManager[object], BuildEvents]:
    from docbot.terminal.progress_log import ProgressLog

    log = ProgressLog(lambda line: console.print(line, markup=False, soft_wrap=True), seconds)
    return nullcontext(), log.events()


def _progress_bar(console: Console) -> tuple[AbstractContextManager[object], BuildEvents]:
    progress = Progress(
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("embed", total=0, visible=False)
    events = BuildEvents(
        on_embed_start=lambda total: progress.update(task, total=total, visible=True),
        on_embed_progress=lambda done: progress.advance(task, done),
    )
    return progress, events


def print_build_report(report: BuildReport, index_dir: Path, knowledge_base: str = "") -> None:
    """The build's one-line summary on standard error (after the knowledge base's name, when given); file
    types and the folder are shown as they are."""
    state = "index updated" if report.written else "index already up to date"
    name = f"{knowledge_base}: " if knowledge_base else ""
    err.print(
        f"{name}{state}: {markup_safe(report.summary())}  [dim]({markup_safe(str(index_dir))})[/dim]", soft_wrap=True
    )


@contextmanager
def question_progress(total: int) -> Iterator[Callable[[object], None]]:
    """A progress bar over benchmark questions; call the yielded function once per question."""
    progress = Progress(
        TextColumn("asking"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True
    )
    task = progress.add_task("ask", total=total)
    with progress:
        yield lambda _done: progress.advance(task)


def print_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    from rich.table import Table

    table = Table(title=markup_safe(title), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in rows:
        table.add_row(markup_safe(name), markup_safe(value))
    out.print(table)
