"""Named errors of the answering layer. Front ends turn them into one clear line."""

from docbot.index.errors import DocbotError

__all__ = ["ConfigError", "DocbotError", "EmptyQuestionError", "ModelError", "ModelServerError", "ReaderUnavailable"]


class ConfigError(DocbotError):
    """A setting, flag or config file is invalid."""


class ModelError(DocbotError):
    """The language model file is missing, unreadable or not a model."""


class ModelServerError(ModelError):
    """The model server cannot be reached, did not answer in time, or failed (HTTP 5xx)."""


class EmptyQuestionError(DocbotError):
    """The question is empty or only white space."""


class ReaderUnavailable(DocbotError):
    """The answer reader's files are missing or unreadable (answers go on without it)."""
