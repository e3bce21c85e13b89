"""Build the real components from Settings: the one place that decides which models load."""

from __future__ import annotations

from docbot.engine.answer import Engine, EngineOptions
from docbot.engine.llm import LanguageModel, LlamaCppModel
from docbot.engine.refusal import RefusalPolicy
from docbot.errors import ConfigError
from docbot.index.builder import BuildEvents, BuildReport, build_index
from docbot.index.chunking import ChunkingParams
from docbot.index.embedder import Embedder
from docbot.index.search import Retriever
from docbot.index.store import IndexStore
from docbot.settings import Settings


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder; its model loads on first use."""
    return Embedder(settings.embedder, batch_size=settings.embed_batch_size, threads=settings.resolved_threads())


def make_store(settings: Settings) -> IndexStore:
    return IndexStore(settings.resolved_index_dir(), settings.approximate_above)


def chunking_params(settings: Settings) -> ChunkingParams:
    return ChunkingParams(max_chars=settings.chunk_chars, overlap_sentences=settings.chunk_overlap_sentences)


def index_corpus(
    settings: Settings, embedder: Embedder, rebuild: bool = False, events: BuildEvents | None = None
) -> BuildReport:
    """Build or refresh the configured corpus's index."""
    return build_index(settings.corpus, make_store(settings), embedder, chunking_params(settings), rebuild, events)


def open_retriever(settings: Settings, embedder: Embedder | None = None) -> Retriever:
    """A retriever over the live index (raises IndexNotFoundError / IndexMismatchError)."""
    return Retriever(make_store(settings).load(), embedder or make_embedder(settings))


def load_llm(settings: Settings) -> LanguageModel:
    """The configured language model, in process or behind an OpenAI-compatible server."""
    if settings.llm_backend == "llama-cpp":
        return LlamaCppModel(settings.llm_model, settings.context_size, settings.resolved_threads())
    if settings.llm_backend == "openai":
        from docbot.engine.remote_llm import OpenAICompatibleModel

        return OpenAICompatibleModel(settings.llm_url, settings.llm_api_model, settings.llm_api_key)
    raise ConfigError(f"unknown llm_backend {settings.llm_backend!r}: use 'llama-cpp' or 'openai'")


def engine_options(settings: Settings) -> EngineOptions:
    return EngineOptions(
        top_k=settings.top_k,
        prompt_chars=settings.prompt_chars,
        answer_sentences=settings.answer_sentences,
        max_answer_tokens=settings.max_answer_tokens,
        max_answer_chars=settings.max_answer_chars,
        max_answer_lines=settings.max_answer_lines,
        temperature=settings.temperature,
    )


def build_engine(settings: Settings, retriever: Retriever | None = None, llm: LanguageModel | None = None) -> Engine:
    """The answer engine; pass components to reuse ones already loaded."""
    retriever = retriever or open_retriever(settings)
    refusal = RefusalPolicy(
        min_coverage=settings.refuse_below_coverage, min_similarity=settings.refuse_below_similarity
    )
    return Engine(retriever, llm or load_llm(settings), engine_options(settings), refusal)
