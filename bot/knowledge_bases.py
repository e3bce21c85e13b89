"""Every knowledge base one process serves, reachable by name: each its own corpus, index and engine, all
sharing one embedder and one language model (loaded once, however many knowledge bases there are).

A knowledge base whose index cannot be loaded is disabled, with one log line, and the others go on; a
re-index that succeeds brings it back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from docbot.components import build_engine, index_corpus, load_llm, make_embedder, open_retriever
from docbot.engine.answer import Engine
from docbot.engine.llm import LanguageModel
from docbot.errors import DocbotError
from docbot.index.builder import BuildReport
from docbot.index.embedder import Embedder
from docbot.index.search import Retriever
from docbot.knowledge_base_config import DEFAULT_KNOWLEDGE_BASE, UnknownKnowledgeBaseError
from docbot.live_index import LiveIndex
from docbot.settings import Settings

log = logging.getLogger("docbot.knowledge_bases")

UNAVAILABLE_TEXT = "the documents for this channel cannot be searched right now (the bot's log says why)"


class KnowledgeBaseUnavailableError(DocbotError):
    """The knowledge base's index could not be loaded; its message is fit to show to users."""


@dataclass
class KnowledgeBase:
    """One named corpus with its index: `settings` carry its corpus and index folder."""

    name: str
    settings: Settings
    live: LiveIndex | None = None  # None: the index could not be loaded (`problem` says why)
    problem: str = ""

    @property
    def engine(self) -> Engine | None:
        return self.live.engine if self.live else None

    @property
    def corpus(self) -> Path:
        return self.settings.corpus

    @property
    def index_dir(self) -> Path:
        return self.settings.resolved_index_dir()


class KnowledgeBases:
    """The knowledge bases by name, over one embedder and one language model."""

    def __init__(self, bases: list[KnowledgeBase], embedder: Embedder, llm: LanguageModel) -> None:
        self._bases = {base.name: base for base in bases}
        self.embedder = embedder
        self.llm = llm

    @classmethod
    def load(
        cls, settings: Settings, embedder: Embedder | None = None, llm: LanguageModel | None = None
    ) -> KnowledgeBases:
        """Every knowledge base's index, then one embedder and one language model for all (loaded here unless
        given); a broken index is logged and its knowledge base disabled.

        If no index loads, the first one's error is raised: the bot would have nothing to answer from.
        """
        embedder = embedder or make_embedder(settings)
        bases = [KnowledgeBase(name, settings.for_knowledge_base(name)) for name in settings.knowledge_base_names()]
        retrievers: dict[str, Retriever] = {}
        failures: list[tuple[KnowledgeBase, DocbotError]] = []
        for base in bases:
            try:
                retriever = open_retriever(base.settings, embedder)
                retriever.search("warm up", 1)  # BM25 and the embedder load now, not in the first user's wait
                retrievers[base.name] = retriever
            except DocbotError as exc:
                failures.append((base, exc))
        if not retrievers:
            raise failures[0][1]
        for base, error in failures:
            base.problem = str(error)
            log.error("knowledge base %s is disabled, its channels are told so: %s", base.name, error)
        llm = llm or load_llm(settings)
        for base in bases:
            if base.name in retrievers:
                base.live = LiveIndex(base.settings, build_engine(base.settings, retrievers[base.name], llm))
        return cls(bases, embedder, llm)

    @classmethod
    def of_engine(cls, settings: Settings, engine: Engine) -> KnowledgeBases:
        """The default knowledge base alone, answered by an engine already loaded."""
        default = KnowledgeBase(DEFAULT_KNOWLEDGE_BASE, settings, LiveIndex(settings, engine))
        return cls([default], engine.retriever.embedder, engine.llm)

    def names(self) -> list[str]:
        return list(self._bases)

    def get(self, name: str) -> KnowledgeBase:
        """The knowledge base called `name` (UnknownKnowledgeBaseError if there is none)."""
        if name not in self._bases:
            raise UnknownKnowledgeBaseError(name, self._bases)
        return self._bases[name]

    def engine(self, name: str) -> Engine:
        """The engine answering from `name` (KnowledgeBaseUnavailableError while its index is broken)."""
        return self.live(name).engine

    def live(self, name: str) -> LiveIndex:
        """The corpus, index and engine of `name`, which /reindex, /add and the watch change
        (KnowledgeBaseUnavailableError while its index is broken)."""
        live = self.get(name).live
        if live is None:
            raise KnowledgeBaseUnavailableError(UNAVAILABLE_TEXT)
        return live

    def enabled(self) -> list[LiveIndex]:
        """The knowledge bases whose index is loaded."""
        return [base.live for base in self._bases.values() if base.live is not None]

    def reindex(self, name: str) -> BuildReport:
        """Bring one knowledge base's index up to date and answer from it from now on, answers going on
        meanwhile (blocking: run it off the event loop). A disabled knowledge base comes back when this succeeds."""
        base = self.get(name)
        if base.live is not None:
            return base.live.refresh()
        report = index_corpus(base.settings, self.embedder)
        retriever = open_retriever(base.settings, self.embedder)
        base.live, base.problem = LiveIndex(base.settings, build_engine(base.settings, retriever, self.llm)), ""
        log.info("knowledge base %s is answering again", name)
        return report

    def close(self) -> None:
        """Release the language model they share."""
        self.llm.close()
