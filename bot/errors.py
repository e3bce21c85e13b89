"""Named errors of the answering layer. Front ends turn them into one clear line."""

from docbot.index.errors import DocbotError

__all__ = ["ConfigError", "DocbotError", "EmptyQuestionError", "ModelError"]


class ConfigError(DocbotError):
    """A setting, flag or config file is invalid."""


class ModelError(DocbotError):
    """The language model file is missing, unreadable or not a model."""


class EmptyQuestionError(DocbotError):
    """The question is empty or only white space."""
