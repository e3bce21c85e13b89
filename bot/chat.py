"""`docbot chat`: a read-answer loop in the terminal over one loaded engine."""

from __future__ import annotations

from types import ModuleType

from bot.engine import Answer, Engine
from bot.errors import EmptyQuestionError
from bot.prompt import Exchange

PROMPT = "? "
QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
HELP = "Ask a question about the documents. /sources shows the passages behind the last answer, /quit leaves."


def run_chat(engine: Engine, terminal: ModuleType) -> None:
    """Read questions until end of input or /quit; follow-ups see the previous exchange."""
    terminal.err.print(f"[dim]{HELP}[/dim]")
    last: Answer | None = None
    while True:
        try:
            line = input(PROMPT).strip()
        except (EOFError, KeyboardInterrupt):
            terminal.err.print()
            return
        if line.lower() in QUIT_WORDS:
            return
        if line in {"/help", "help"}:
            terminal.err.print(HELP)
            continue
        if line == "/sources":
            terminal.print_passages(last.sources if last else [])
            continue
        if not line:
            continue
        history = [Exchange(last.question, last.text)] if last and last.answered else []
        try:
            with terminal.streaming_answer() as on_token:
                last = engine.answer(line, on_token=on_token, history=history)
        except EmptyQuestionError as exc:
            terminal.err.print(f"[yellow]{exc}[/yellow]")
            continue
        terminal.print_answer(last)
