"""An index build's embedding: int8 weights, batches of like length, on a low-priority thread.

Questions are always embedded with the float32 model (embedder.py); only documents take the
int8 copy. Documents run through ONNX Runtime, from the export the build makes for questions
(query_encoder.py), when the model has one; else through sentence-transformers with torch's
dynamic int8. Measured on the bench (152 chunks, 473 answerable questions, one core busy
elsewhere), CPU per chunk and context hit with float32 questions: ONNX int8 ~15 ms, 0.960;
torch int8 ~25 ms, 0.962; float32 ~41 ms (torch) or ~29 ms (ONNX), 0.960. Per-tensor int8 on
both sides fell to 0.954.
"""

from __future__ import annotations

import copy
import ctypes
import os
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from docbot.index.chunking import Chunk
from docbot.index.embedder import Embedder, torch_threads
from docbot.index.query_encoder import QueryEncoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

FLOAT32 = "float32"
INT8 = "int8"
TOKENIZE_BATCH = 1024  # texts tokenized at once to learn their lengths: bounded memory
# Texts per ONNX Runtime call. Sorted by length, small batches pad least: on the bench 4-8 ran
# at ~14 ms of CPU per chunk, 16 at ~15, 32 at ~17, 64 at ~19 (one thread).
ONNX_BATCH_SIZE = 8
# glibc's M_MMAP_THRESHOLD: activation buffers above this size are mapped and unmapped again.
# Left to adjust itself, glibc moves them onto the heap, where batches of ever longer chunks
# (they are sorted by length) leave holes no later batch fits: 1,000 chunks grew a build by
# 250 MB that way, 40 MB with the threshold fixed.
MMAP_THRESHOLD_BYTES = 128 * 1024
_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h


@dataclass(frozen=True)
class DocumentEmbedding:
    """How a build embeds documents (settings index_int8 and build_nice)."""

    int8: bool = True
    nice: int = 10  # added to the build thread's niceness: answers in the same process go first

    @property
    def precision(self) -> str:
        """What the manifest records: a change of precision re-embeds everything."""
        return INT8 if self.int8 else FLOAT32


OnBatch = Callable[[list[int], np.ndarray], None]


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk], options: DocumentEmbedding, on_batch: OnBatch) -> None:
    """Embed `chunks`, calling `on_batch(positions, vectors)` for each batch as it is done.

    Runs on its own thread at lower priority (niceness is per thread on Linux, and the OpenMP
    workers torch starts from that thread inherit it), so a question asked meanwhile in this
    process or another is answered first. Batches hold chunks of like token length: sorting by
    characters left 21% padding on the bench, by tokens 10%.
    """
    if not chunks:
        return
    fix_mmap_threshold()
    outcome: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        try:
            _lower_priority(options.nice)
            # Opened on this thread: the threads ONNX Runtime or torch start inherit its niceness.
            exported = embedder.document_encoder(options.int8)
            if exported is not None:
                _embed_exported(exported, chunks, stop, on_batch)
                return
            model = embedder.model
            encoder = _quantized(model) if options.int8 else model
            with torch_threads(embedder.threads):
                _embed_in_batches(encoder, chunks, embedder.batch_size, stop, on_batch)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
            outcome.append(exc)

    worker = threading.Thread(target=work, name="docbot-embed", daemon=True)  # daemon: Ctrl-C ends the build
    worker.start()
    try:
        worker.join()
    finally:
        stop.set()  # the caller was interrupted: the worker stops after its current batch
    if outcome:
        raise outcome[0]


def _embed_exported(encoder: QueryEncoder, chunks: Sequence[Chunk], stop: threading.Event, on_batch: OnBatch) -> None:
    lengths = np.zeros(len(chunks), dtype=np.int32)
    for start in range(0, len(chunks), TOKENIZE_BATCH):
        texts = [chunk.embedding_text() for chunk in chunks[start : start + TOKENIZE_BATCH]]
        lengths[start : start + len(texts)] = encoder.token_counts(texts)
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), ONNX_BATCH_SIZE):
        if stop.is_set():
            return
        positions = [int(i) for i in order[start : start + ONNX_BATCH_SIZE]]
        on_batch(positions, encoder.encode([chunks[i].embedding_text() for i in positions]))


def _embed_in_batches(
    model: SentenceTransformer, chunks: Sequence[Chunk], batch_size: int, stop: threading.Event, on_batch: OnBatch
) -> None:
    order = np.argsort(_token_lengths(model, chunks), kind="stable")
    for start in range(0, len(order), batch_size):
        if stop.is_set():
            return
        positions = [int(i) for i in order[start : start + batch_size]]
        vectors = model.encode(
            [chunks[i].embedding_text() for i in positions],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        on_batch(positions, np.asarray(vectors, dtype=np.float32))


def _token_lengths(model: SentenceTransformer, chunks: Sequence[Chunk]) -> np.ndarray:
    """Word pieces each chunk becomes (capped where the model truncates)."""
    limit = model.max_seq_length
    lengths = np.zeros(len(chunks), dtype=np.int32)
    for start in range(0, len(chunks), TOKENIZE_BATCH):
        texts = [chunk.embedding_text() for chunk in chunks[start : start + TOKENIZE_BATCH]]
        ids = model.tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
        lengths[start : start + len(texts)] = [len(row) for row in ids]
    return lengths


def _quantized(model: SentenceTransformer) -> SentenceTransformer:
    """A copy of `model` whose Linear layers run in int8, one scale per output channel.

    Per-channel scales keep document vectors at cosine ~0.98 of float32's; one scale per
    tensor fell to ~0.94 and lost context hits.
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its move to torchao
        # The copy shares every float32 tensor with `model` (which goes on embedding questions):
        # quantizing swaps the copy's Linear modules for new int8 ones and changes no tensor.
        shared = {id(tensor): tensor for tensor in [*model.parameters(), *model.buffers()]}
        copied = copy.deepcopy(model, shared)
        linear_layers = {torch.nn.Linear: per_channel_dynamic_qconfig}
        return quantize_dynamic(copied, linear_layers, dtype=torch.qint8, inplace=True)


def fix_mmap_threshold() -> None:
    """Keep large allocations out of glibc's heap for the rest of this process (see
    MMAP_THRESHOLD_BYTES); elsewhere than glibc, nothing."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            mallopt = libc.mallopt
        except (OSError, AttributeError):  # a libc without mallopt (musl) keeps its own ways
            return
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def _lower_priority(nice: int) -> None:
    """Raise this thread's niceness by `nice` (Linux only: there niceness belongs to a thread)."""
    if nice and sys.platform.startswith("linux"):  # elsewhere the call would renice the whole process
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + nice))
