"""Build the real components from Settings: the one place that decides which models load."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, TypeVar

from docbot.engine.answer import Engine, EngineOptions
from docbot.engine.answer_reader import AnswerReader
from docbot.engine.llm import LanguageModel, LlamaCppModel
from docbot.engine.refusal import RefusalPolicy
from docbot.errors import ConfigError
from docbot.feedback.store import FeedbackStore
from docbot.index.builder import BuildEvents, BuildReport, build_index
from docbot.index.chunking import ChunkingParams
from docbot.index.document_embedding import DocumentEmbedding
from docbot.index.embedder import Embedder, packaged_embedder_path
from docbot.index.search import Retriever
from docbot.index.store import IndexStore
from docbot.settings import Settings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Options = TypeVar("Options", bound="DataclassInstance")


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder; its model loads on first use."""
    return Embedder(
        settings.embedder,
        batch_size=settings.embed_batch_size,
        threads=settings.resolved_threads(),
        query_encoders=settings.query_encoder_dir(),
    )


def make_store(settings: Settings) -> IndexStore:
    """The configured index folder."""
    return IndexStore(settings.resolved_index_dir(), settings.approximate_above)


def make_feedback_store(settings: Settings) -> FeedbackStore:
    """The configured feedback database (opened on first use)."""
    return FeedbackStore(settings.resolved_feedback_db())


def chunking_params(settings: Settings) -> ChunkingParams:
    """How the configured index cuts documents."""
    return ChunkingParams(max_chars=settings.chunk_chars, overlap_sentences=settings.chunk_overlap_sentences)


def index_corpus(
    settings: Settings, embedder: Embedder, rebuild: bool = False, events: BuildEvents | None = None
) -> BuildReport:
    """Build or refresh the configured corpus's index."""
    embedding = DocumentEmbedding(int8=settings.index_int8, nice=settings.build_nice)
    store = make_store(settings)
    return build_index(settings.corpus, store, embedder, chunking_params(settings), rebuild, events, embedding)


def open_retriever(settings: Settings, embedder: Embedder | None = None) -> Retriever:
    """A retriever over the live index (raises IndexNotFoundError / IndexMismatchError)."""
    return Retriever(make_store(settings).load(), embedder or make_embedder(settings))


def load_llm(settings: Settings) -> LanguageModel:
    """The configured language model, in process or behind an OpenAI-compatible server."""
    if settings.llm_backend == "llama-cpp":
        return LlamaCppModel(settings.llm_model, settings.context_size, settings.resolved_threads())
    if settings.llm_backend == "openai":
        from docbot.engine.remote_llm import OpenAICompatibleModel

        return OpenAICompatibleModel(
            settings.llm_url, settings.llm_api_model, settings.llm_api_key, settings.llm_timeout_seconds
        )
    raise ConfigError(f"unknown llm_backend {settings.llm_backend!r}: use 'llama-cpp' or 'openai'")


def load_reader(settings: Settings) -> AnswerReader | None:
    """The answer reader (on the packaged all-MiniLM-L6-v2, whatever the embedder), or None when it is off."""
    if not settings.answer_reader:
        return None
    return AnswerReader(packaged_embedder_path())


def from_settings(options: type[Options], settings: Settings) -> Options:
    """An options dataclass whose every field is the setting of the same name."""
    return options(**{field.name: getattr(settings, field.name) for field in dataclasses.fields(options)})


def build_engine(settings: Settings, retriever: Retriever | None = None, llm: LanguageModel | None = None) -> Engine:
    """The answer engine; pass components to reuse ones already loaded."""
    return Engine(
        retriever or open_retriever(settings),
        llm or load_llm(settings),
        from_settings(EngineOptions, settings),
        from_settings(RefusalPolicy, settings),
        load_reader(settings),
    )
