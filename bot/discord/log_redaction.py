"""Secrets kept out of the logs: the bot token, and the interaction and webhook tokens Discord hands out.

discord.py logs request URLs (on rate limits and at DEBUG) and, at DEBUG, every gateway event. An
interaction's follow-up URL and its INTERACTION_CREATE event carry a token that lets anyone answer as
the bot for 15 minutes, so each log record is rewritten before any handler writes it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
# .../webhooks/<id>/<token>... and .../interactions/<id>/<token>/callback: the segment after the id.
_URL_TOKEN = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/\s?#'\"]+")
# "token": "..." in a logged JSON payload or dict repr, such as a raw INTERACTION_CREATE event.
_TOKEN_FIELD = re.compile(r"""(['"]\w*token['"]\s*:\s*['"])[^'"]*""", re.IGNORECASE)
_FORMATTER = logging.Formatter()


class SecretRedactor(logging.Filter):
    """A handler filter that replaces the bot token and any interaction or webhook token in a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = {secret for secret in secrets if secret}

    def redact(self, text: str) -> str:
        """`text` with every known secret and every token-looking URL segment or field replaced."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _URL_TOKEN.sub(rf"\g<1>{REDACTED}", text)
        return _TOKEN_FIELD.sub(rf"\g<1>{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: the handler reports it, with nothing formatted to leak
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # Tracebacks can quote URLs too; formatters reuse exc_text, so the redacted one is what they print.
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def redact_logs(*secrets: str) -> None:
    """Redact `secrets` and Discord tokens in every handler already set up (root, discord and docbot loggers)."""
    for logger in (logging.getLogger(), logging.getLogger("discord"), logging.getLogger("docbot")):
        for handler in logger.handlers:
            redactor = next((f for f in handler.filters if isinstance(f, SecretRedactor)), None)
            if redactor is None:
                handler.addFilter(SecretRedactor(secrets))
            else:
                redactor.secrets.update(secret for secret in secrets if secret)
