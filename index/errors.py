"""Named errors of the indexing layer. Front ends turn them into one clear line."""


class DocbotError(Exception):
    """Base of every error docbot reports to the user as a one-line message."""


class EmptyCorpusError(DocbotError):
    """The corpus folder has no readable document of a supported type."""


class CorpusNotFolderError(DocbotError):
    """The corpus path does not exist, or is a file rather than a folder."""


class IndexWriteError(DocbotError):
    """The index folder cannot be written: read-only, full, gone, or not a folder."""


class IndexNotFoundError(DocbotError):
    """No index has been built yet in the index folder."""


class IndexMismatchError(DocbotError):
    """The index was built with another embedder or an incompatible format."""


class IndexCorruptError(DocbotError):
    """The index files are damaged or incomplete."""


class IndexBusyError(DocbotError):
    """Another `docbot index` is writing this index right now."""


class EmbedderError(DocbotError):
    """The embedding model cannot be found or loaded."""
