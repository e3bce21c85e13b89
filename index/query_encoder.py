"""The embedder's weights run by ONNX Runtime: the same vectors as sentence-transformers, without torch.

Importing sentence-transformers costs ~5 s (torch and transformers); onnxruntime and tokenizers
load in ~0.2 s. So `docbot index`, which has torch loaded anyway, exports the model once into a
folder of the user cache keyed by the model's identity, and questions are embedded from that
export. Only models made of a Transformer, mean pooling and (optionally) Normalize are exported:
anything else keeps using sentence-transformers.

Layout of an export folder (written under a temporary name, then renamed into place):

    model.onnx        the transformer: (input_ids, attention_mask, token_type_ids) -> token states
    tokenizer.json    the model's tokenizer, truncating at its max_seq_length, padding to the longest
    encoder.json      written last: the identity it was exported from, and the pooling it needs
    model_int8.onnx   made by the first build that wants it (int8_export.py), for documents
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EXPORT_VERSION = 1  # bump when the export's layout or meaning changes: old exports are redone
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
DESCRIPTION_FILE = "encoder.json"
ONNX_OPSET = 17
# Files of a local model folder whose change means other weights or another tokenizer.
IDENTITY_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "config.json",
    "tokenizer.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Vectors encode_each() remembers: an answer embeds its question again with the evidence sentences,
# and the question's names once per candidate sentence; passages recur from question to question.
RECENT_TEXTS = 256


class QueryEncoderUnavailable(Exception):
    """No usable export for this model; the message says why, for a one-line notice."""


@dataclass(frozen=True)
class ExportDescription:
    identity: str
    max_seq_length: int
    normalize: bool
    dimension: int
    version: int = EXPORT_VERSION


def model_identity(name: str, location: str) -> str:
    """What the weights are: the name, and for a local folder its files' sizes and change times."""
    parts = [f"docbot-query-encoder-{EXPORT_VERSION}", name, location]
    folder = Path(location)
    if folder.is_dir():
        for relpath in IDENTITY_FILES:
            with suppress(FileNotFoundError):  # not every model has every file
                stat = (folder / relpath).stat()
                parts.append(f"{relpath}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def export_folder(root: Path, identity: str) -> Path:
    """Where the export of the model with `identity` lives under `root`."""
    return root / identity[:24]


class QueryEncoder:
    """Unit-length float32 vectors for texts, from an export folder, with onnxruntime and tokenizers."""

    def __init__(self, folder: Path, identity: str, threads: int, model_file: str = MODEL_FILE) -> None:
        """Raises QueryEncoderUnavailable if the export is missing, stale or damaged.

        `model_file`: MODEL_FILE, or the int8 copy int8_export.quantized_model() makes.
        """
        description = read_description(folder, identity)
        try:
            import onnxruntime
            from tokenizers import Tokenizer

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = max(1, threads)
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # errors only: no warnings about unused initializers
            # Idle threads sleep instead of spinning: on 2 shared cores spinning cost a third of a
            # build's throughput, and it would take cores from answers.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = onnxruntime.InferenceSession(
                str(folder / model_file), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except Exception as exc:  # noqa: BLE001 - a damaged export of any kind means: use the fallback
            raise _damaged(folder, exc) from None
        self._tokenizer.enable_truncation(max_length=description.max_seq_length)  # not the file's 128
        # The shipped tokenizer.json may pad every text to a fixed length (all-MiniLM-L6-v2's: 128
        # tokens): pad to the longest text of each call instead, with the model's own pad token.
        padding = self._tokenizer.padding or {}
        self._tokenizer.enable_padding(pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]"))
        self._inputs = {item.name for item in self._session.get_inputs()}
        self.dimension = description.dimension
        self.normalize = description.normalize
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text becomes (after truncation), to batch texts of like length."""
        return [sum(encoding.attention_mask) for encoding in self._tokenizer.encode_batch(list(texts))]

    def encode_each(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors encode() gives, each text run on its own: nothing is padded (an answer's
        evidence sentences took ~80 ms instead of ~118 with one core busy elsewhere) and a text's
        vector does not depend on its neighbours, so the most recent ones are remembered."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._recent_lock:  # answers may be computed on several threads
            known = {text: self._recent[text] for text in texts if text in self._recent}
            for text in known:
                self._recent.move_to_end(text)
        for text in dict.fromkeys(texts):
            if text not in known:
                known[text] = self.encode([text])[0]
        with self._recent_lock:
            self._recent.update(known)
            while len(self._recent) > RECENT_TEXTS:
                self._recent.popitem(last=False)
        return np.stack([known[text] for text in texts])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts`, in order: mean of the token states over the attention mask, L2-normalised."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (states,) = self._session.run(None, {name: arrays[name] for name in INPUTS if name in self._inputs})
        mask = arrays["attention_mask"][:, :, None].astype(np.float32)
        pooled = (states * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        if self.normalize:
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)


def export_query_encoder(model: SentenceTransformer, root: Path, identity: str) -> Path:
    """Export `model` (a loaded sentence-transformers model) under `root`; returns the folder.

    Raises QueryEncoderUnavailable when the model's pipeline is not one this module reproduces.
    """
    normalize, max_seq_length = _supported_pipeline(model)
    folder = export_folder(root, identity)
    staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp")
    staging.mkdir(parents=True)
    try:
        _export_transformer(model, staging / MODEL_FILE)
        model.tokenizer.backend_tokenizer.save(str(staging / TOKENIZER_FILE))
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dimension = int(getter() or 0)
        description = ExportDescription(identity, max_seq_length, normalize, dimension)
        (staging / DESCRIPTION_FILE).write_text(json.dumps(asdict(description)), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)  # a stale or damaged export of the same identity
        os.rename(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _supported_pipeline(model: SentenceTransformer) -> tuple[bool, int]:
    """(normalize, max_seq_length) of a Transformer → mean Pooling [→ Normalize] model, else raise."""
    kinds = [type(module).__name__ for module in model]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise QueryEncoderUnavailable(f"no fast query encoder for a model made of {' → '.join(kinds)}")
    pooling: Any = model[1]
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers 6; earlier ones name it by a method
    if not isinstance(mode, str):
        mode = pooling.get_pooling_mode_str() if hasattr(pooling, "get_pooling_mode_str") else ""
    if mode != "mean":
        raise QueryEncoderUnavailable(f"no fast query encoder for {mode or 'this'} pooling")
    if not hasattr(model.tokenizer, "backend_tokenizer"):
        raise QueryEncoderUnavailable("no fast query encoder for a model without a fast tokenizer")
    if not model.max_seq_length:
        raise QueryEncoderUnavailable("no fast query encoder for a model without a max_seq_length")
    return len(kinds) == 3, int(model.max_seq_length)


def _export_transformer(model: SentenceTransformer, path: Path) -> None:
    import torch

    uses_types = "token_type_ids" in model.tokenizer.model_input_names
    transformer: Any = model[0].auto_model

    class TokenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer.eval()  # a submodule: its weights export as weights

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            types = token_type_ids if uses_types else None
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=types)[0]

    sample = model.tokenizer(["an example sentence", "another"], padding=True, return_tensors="pt")
    ones = torch.ones_like(sample["input_ids"])
    arguments = (sample["input_ids"], sample.get("attention_mask", ones), sample.get("token_type_ids", 0 * ones))
    axes = {0: "batch", 1: "sequence"}
    # The tracer's warnings are about code paths this model's inputs never take; they would only
    # clutter `docbot index`'s output. The equality test (tests/test_query_encoder.py) is the check.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenStates(),
            arguments,
            str(path),
            input_names=list(INPUTS),
            output_names=["token_states"],
            dynamic_axes={**{name: axes for name in INPUTS}, "token_states": axes},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def read_description(folder: Path, identity: str) -> ExportDescription:
    """What the export in `folder` holds, without opening its model; raises QueryEncoderUnavailable
    if it is missing, stale or unreadable."""
    path = folder / DESCRIPTION_FILE
    try:
        description = ExportDescription(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise QueryEncoderUnavailable("the fast query encoder has not been made for this embedder") from None
    except (OSError, ValueError, TypeError) as exc:
        raise _damaged(folder, exc) from None
    if description.identity != identity or description.version != EXPORT_VERSION:
        raise QueryEncoderUnavailable("the fast query encoder was made from other weights")
    return description


def _damaged(folder: Path, exc: BaseException) -> QueryEncoderUnavailable:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return QueryEncoderUnavailable(f"the fast query encoder in {folder} is damaged ({reason})")
