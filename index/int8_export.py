"""The int8 copy of an embedder's ONNX export (query_encoder.py) that a build embeds documents with.

ONNX Runtime's int8 kernels took ~15 ms of CPU per bench chunk, against ~25 ms for torch's dynamic
int8 and ~41 ms for float32 through sentence-transformers. The copy is made once, beside the export
(written under a temporary name, then renamed into place), by the first build that wants it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from docbot.index.query_encoder import MODEL_FILE

INT8_MODEL_FILE = "model_int8.onnx"
# How a BERT-style export names a layer's feed-forward output (and, inside ATTENTION, its attention
# output); another model's names may not match, and then every MatMul is quantized.
FEED_FORWARD_OUTPUT = "/output/dense/MatMul"
ATTENTION = "/attention/"


def quantized_model(folder: Path) -> str:
    """The file name of the export's int8 copy, made now if it is missing.

    Only the MatMuls' weights become int8, one scale per output channel, in 7 bits (reduce_range:
    no saturation on CPUs without VNNI), except the first feed-forward output, whose inputs have
    outliers. On the bench (473 answerable questions) documents so embedded kept float32's context
    hit, 0.960, at ~15 ms of CPU per chunk; with 8 bits 0.956; with the embedding tables quantized
    too 0.951. Quantizing the first feed-forward output too saved 6% of the time and moved close
    scores enough to reorder a spreadsheet row and a book's price table (tests/test_formats.py).
    Changing this recipe means a new EXPORT_VERSION: an export keeps the copy it has.
    """
    path = folder / INT8_MODEL_FILE
    if not path.exists():
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        graph = onnx.load(str(folder / MODEL_FILE)).graph
        feed_forward_outputs = [
            node.name for node in graph.node if node.name.endswith(FEED_FORWARD_OUTPUT) and ATTENTION not in node.name
        ]
        staging = folder / f".{uuid.uuid4().hex[:8]}.tmp.{INT8_MODEL_FILE}"
        try:
            with _quiet_root_logger():  # onnxruntime logs advice about pre-processing on the root logger
                quantize_dynamic(
                    folder / MODEL_FILE,
                    staging,
                    op_types_to_quantize=["MatMul"],
                    nodes_to_exclude=feed_forward_outputs[:1],
                    per_channel=True,
                    reduce_range=True,
                    weight_type=QuantType.QInt8,
                )
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)
    return INT8_MODEL_FILE


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """The root logger silenced, and left as it was: onnxruntime's module-level `logging.warning` also
    installs a stderr handler on it, through which other libraries' debug lines (bm25s') would print."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
