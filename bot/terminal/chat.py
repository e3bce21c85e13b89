"""`docbot chat`: a read-answer loop in the terminal over one loaded engine."""

from __future__ import annotations

from docbot.engine.answer import Answer, Engine
from docbot.engine.prompt import Exchange
from docbot.errors import EmptyQuestionError
from docbot.terminal import render

PROMPT = "? "
QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
INTERRUPTED = "[yellow]interrupted[/yellow] [dim](Ctrl+C again leaves)[/dim]"
HELP = "Ask a question about the documents. /sources shows the passages behind the last answer, /quit leaves."


def run_chat(engine: Engine) -> None:
    """Read questions until end of input or /quit; follow-ups see the previous exchange.

    Ctrl+C during an answer stops that answer and asks for the next question; Ctrl+C at the
    prompt (so a second one in quick succession too) leaves, as KeyboardInterrupt (exit 130).
    """
    render.err.print(f"[dim]{HELP}[/dim]")
    last: Answer | None = None
    while True:
        try:
            line = input(PROMPT).strip()
        except EOFError:
            render.err.print()
            return
        except KeyboardInterrupt:
            render.err.print()  # end the prompt's line before "docbot: interrupted"
            raise
        if line.lower() in QUIT_WORDS:
            return
        if line in {"/help", "help"}:
            render.err.print(HELP)
            continue
        if line == "/sources":
            render.print_passages(last.sources if last else [])
            continue
        if not line:
            continue
        history = [Exchange(last.question, last.text)] if last and last.answered else []
        try:
            with render.streaming_answer() as on_text:
                last = engine.answer(line, on_text=on_text, history=history)
            render.print_answer(last)
        except EmptyQuestionError as exc:
            render.err.print(f"[yellow]{render.markup_safe(str(exc))}[/yellow]")
        except KeyboardInterrupt:
            render.err.print(INTERRUPTED)  # the previous exchange stays the one follow-ups see
