"""Untrusted text made safe for a terminal: documents, file names, headings and model output.

A file named `esc\\x1b[2Jname.md` cleared the screen and `\\x1b[31m` in a heading turned the output
red: text from documents reaches a terminal only through `printable` (and, where rich parses
markup, `render.markup_safe`), which shows control characters as visible escapes instead.
Kept free of rich so the CLI's error line can use it without loading it.
"""

from __future__ import annotations

import logging
import re

# C0 controls (ESC starts ANSI and OSC sequences), DEL, C1 controls (0x9b is a one-byte CSI) and
# lone surrogates (undecodable bytes of a file name, which would crash the write instead).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\ud800-\udfff]")  # json.dumps escapes C0 itself


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, multiline: bool = False) -> str:
    """`text` with every control character shown as an escape like `\\x1b`, so none acts on the terminal.

    With `multiline`, newlines and tabs are kept (an answer's lines); otherwise they are escaped too,
    so a file name or heading cannot forge an extra line.
    """

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        return char if multiline and char in "\n\t" else _visible(match)

    return _UNSAFE.sub(replace, text)


def json_printable(dumped: str) -> str:
    """JSON text from `json.dumps(..., ensure_ascii=False)` with DEL, C1 and lone surrogates escaped as `\\uXXXX`.

    json.dumps escapes C0 controls only; outside strings its output is plain ASCII, so this stays valid JSON.
    """
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", dumped)


class PrintableLogRecords(logging.Filter):
    """A log handler filter that shows control characters in a record's message as escapes: a bot's log on
    a terminal quotes questions and document names, which are untrusted. Tracebacks keep their lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: the handler reports it
            return True
        safe = printable(message, multiline=True)
        if safe != message:
            record.msg, record.args = safe, None
        return True
