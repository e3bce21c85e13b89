"""A reader that finds where in a sentence the answer to a question lies.

The question and the sentence are read together by the installed all-MiniLM-L6-v2 (all six
layers, each word piece attending to both), with small low-rank adapters and a span head fitted on
SQuAD 2.0 training articles by scripts/fit_reader.py, three times: `reader.npz` learnt spans and,
from sentences that do not hold the answer, where no answer is; `reader_spans.npz` learnt spans
only; `reader_seed1.npz` is the first recipe from another seed (1.25 MB each, shipped beside this
file). The fits' readings are averaged: on the held-out training article a 90-character excerpt
then holds the answer 0.803 of the time (0.795, 0.775 and 0.811 alone), on the development
questions the first line 0.687 (0.683 with the first two; a fourth fit added nothing). For each
word piece it scores how likely the answer starts and ends there; from those, each word's chance
of lying inside the answer, which places the first line's excerpt of a long sentence.
Its "no answer here" score ([CLS]) is fitted too but not used: on the development questions it
told SQuAD 2.0's unanswerable questions from answerable ones no better than the checks before it.

Plain numpy (no torch): the base weights are memory-mapped and shared by the fits, each fit adds
its low-rank updates to the maps' outputs (nothing of the base is copied), and a question's
sentences are read in one batch.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from docbot.errors import ReaderUnavailable
from docbot.index.ast_race import retry_ast_race

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

ADAPTERS_FILES = tuple(
    Path(__file__).with_name(name) for name in ("reader.npz", "reader_spans.npz", "reader_seed1.npz")
)
MAX_TOKENS = 96  # question and sentence together, as fitted; a longer sentence is cut
MAX_SPAN_PIECES = 15  # an answer is a few words, not a clause
_FLOATS: dict[str, np.dtype] = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2")}
# The linear maps of each layer that carry an adapter, by the names the adapters file uses.
ADAPTED = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")


@dataclass(frozen=True)
class Reading:
    """Where a sentence answers the question: its best span (characters start..end), and for each word
    of the sentence (split on spaces) the probability that it lies inside the answer."""

    start: int
    end: int
    word_probabilities: tuple[float, ...]

    def span(self, sentence: str) -> str:
        return sentence[self.start : self.end]


@dataclass(frozen=True)
class _Weights:
    """The base model's weights (linear maps as torch stores them: out, in), shared by every fit, and one
    fit's low-rank updates: a map's weight is W + B A, computed as x W' + (x A') B' so W is never copied."""

    tensors: dict[str, np.ndarray]
    low_rank: dict[str, tuple[np.ndarray, np.ndarray]]  # map name -> (A, B)
    layers: int
    heads: int
    eps: float


class AnswerReader:
    """Reads (question, sentence) pairs with the base model's weights plus each fit's adapters, and
    averages the fits' scores."""

    def __init__(self, model_dir: Path, adapters: Sequence[Path] = ADAPTERS_FILES) -> None:
        """The weights load on the first read (~0.1 s a fit, once per process): a search never pays for them."""
        self.model_dir = model_dir
        self.adapters = tuple(adapters)

    def read(self, question: str, sentences: Sequence[str]) -> list[Reading]:
        """For each sentence, where in it the answer to `question` most likely lies.

        Raises ReaderUnavailable when the base model's or the adapters' files cannot be read."""
        if not sentences:
            return []
        try:
            fits = [_load_weights(self.model_dir, adapters) for adapters in self.adapters]
            tokenizer = _load_tokenizer(self.model_dir)
        except Exception as error:  # OSError, a bad zip or JSON, a missing key; tokenizers raises plain Exception
            raise ReaderUnavailable(f"the answer reader cannot load ({type(error).__name__}: {error})") from error
        encodings = tokenizer.encode_batch([(question, s) for s in sentences])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        scores = np.array([span_logits(weights, ids, types, mask) for weights in fits])  # fit, start/end, row, piece
        return [
            _reading(sentence, encoding, scores[:, 0, row], scores[:, 1, row])
            for row, (sentence, encoding) in enumerate(zip(sentences, encodings, strict=True))
        ]


def _reading(sentence: str, encoding: Encoding, fit_starts: np.ndarray, fit_ends: np.ndarray) -> Reading:
    """The best span of one sentence's pieces (by the fits' summed scores), and each word's probability
    of lying inside the answer, averaged over the fits: the chance the answer starts at or before it
    minus the chance it ended before it."""
    inside = np.array([s == 1 for s in encoding.sequence_ids], dtype=bool)
    pieces = np.flatnonzero(inside)
    if not len(pieces):  # nothing of the sentence survived truncation
        return Reading(0, 0, (0.0,) * len(sentence.split()))
    start, end = fit_starts.mean(0), fit_ends.mean(0)
    best, at = -np.inf, (0, 0)
    for first in pieces:
        last = min(len(inside), first + MAX_SPAN_PIECES)
        ends = end[first:last] + np.where(inside[first:last], 0.0, -np.inf)
        offset = int(np.argmax(ends))
        if start[first] + ends[offset] > best:
            best, at = float(start[first] + ends[offset]), (int(first), int(first) + offset)
    fits = zip(fit_starts[:, pieces], fit_ends[:, pieces], strict=True)
    within = np.mean([_inside(fit_start, fit_end) for fit_start, fit_end in fits], axis=0)
    offsets = [encoding.offsets[i] for i in pieces]
    words, probabilities, at_char, piece = sentence.split(), [], 0, 0
    for word in words:
        at_char = sentence.find(word, at_char)
        word_end = at_char + len(word)
        chance = 0.0
        while piece < len(offsets) and offsets[piece][0] < word_end:
            if offsets[piece][1] > at_char:
                chance = max(chance, float(within[piece]))
            piece += 1
        probabilities.append(chance)
        at_char = word_end
    return Reading(encoding.offsets[at[0]][0], encoding.offsets[at[1]][1], tuple(probabilities))


def _inside(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Each piece's chance of lying inside the answer, from one fit's start and end scores."""
    starts, ends = _softmax(start), _softmax(end)
    return np.clip(np.cumsum(starts) - (np.cumsum(ends) - ends), 0.0, 1.0)


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


def span_logits(
    weights: _Weights, ids: np.ndarray, types: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end scores of each word piece (batch, pieces): the model's forward pass in numpy."""
    w = weights.tensors

    def linear(x: np.ndarray, name: str) -> np.ndarray:
        rows = x.reshape(-1, x.shape[-1])
        flat = rows @ w[name + ".weight"].T  # one 2-D product: BLAS, not a loop
        if name in weights.low_rank:
            a, b = weights.low_rank[name]
            flat += (rows @ a.T) @ b.T
        return (flat + w[name + ".bias"]).reshape(*x.shape[:-1], -1)

    def norm(x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + weights.eps) * w[name + ".weight"] + w[name + ".bias"]

    batch, length = ids.shape
    size = w["embeddings.word_embeddings.weight"].shape[1] // weights.heads

    def heads(x: np.ndarray, name: str) -> np.ndarray:
        return linear(x, name).reshape(batch, length, weights.heads, size).transpose(0, 2, 1, 3)

    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
        + w["embeddings.token_type_embeddings.weight"][types]
    )
    x = norm(x, "embeddings.LayerNorm")
    blocked = (1.0 - mask)[:, None, None, :] * -1e9  # padding is never attended to
    for n in range(weights.layers):
        p = f"encoder.layer.{n}."
        q, k, v = (heads(x, p + f"attention.self.{name}") for name in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) * (size**-0.5) + blocked
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        attended = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        x = norm(x + linear(attended, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        x = norm(x + linear(_gelu(linear(x, p + "intermediate.dense")), p + "output.dense"), p + "output.LayerNorm")
    logits = linear(x, "span_head")
    return logits[..., 0], logits[..., 1]


_loading = threading.Lock()


@functools.lru_cache(maxsize=2)
def _load_tokenizer(model_dir: Path) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")  # a huge question is cut too
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest of a batch, not the file's 128
    return tokenizer


def _load_weights(model_dir: Path, adapters: Path) -> _Weights:
    with _loading:  # two front ends asking at once load once
        return retry_ast_race(lambda: _fitted_weights(model_dir, adapters))


@functools.lru_cache(maxsize=4)
def _fitted_weights(model_dir: Path, adapters: Path) -> _Weights:
    """The base weights (float32, memory-mapped where stored so) and one fit's adapters and span head."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    layers = int(config["num_hidden_layers"])
    tensors = dict(_base_tensors(model_dir))  # the arrays are shared: a fit adds its head only
    low_rank = {}
    with np.load(adapters) as fitted:
        for layer in range(layers):
            for name in ADAPTED:
                a, b = (fitted[f"layer{layer}.{name}.{part}"].astype(np.float32) for part in "ab")
                low_rank[f"encoder.layer.{layer}.{adapted_module(name)}"] = (a, b)
        tensors["span_head.weight"] = fitted["head.weight"].astype(np.float32)
        tensors["span_head.bias"] = fitted["head.bias"].astype(np.float32)
    heads, eps = int(config["num_attention_heads"]), float(config.get("layer_norm_eps", 1e-12))
    return _Weights(tensors, low_rank, layers, heads, eps)


@functools.lru_cache(maxsize=2)
def _base_tensors(model_dir: Path) -> dict[str, np.ndarray]:
    return _mapped_tensors(model_dir / "model.safetensors")


def _mapped_tensors(path: Path) -> dict[str, np.ndarray]:
    """The float tensors of a safetensors file as float32, memory-mapped when stored so: of the 47 MB
    word-piece table only the rows a question and its sentences use are ever read into memory."""
    with path.open("rb") as file:
        header_size = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(header_size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_size)
    tensors: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        kind = _FLOATS.get(meta.get("dtype", "")) if isinstance(meta, dict) else None
        if kind is not None:  # not "__metadata__", nor integer buffers such as position_ids
            begin, end = meta["data_offsets"]
            array = data[begin:end].view(kind).reshape(meta["shape"])
            tensors[name.removeprefix("bert.")] = array.astype(np.float32, copy=False)
    return tensors


def adapted_module(name: str) -> str:
    """Where an adapted map sits in a BERT layer ("query" -> "attention.self.query")."""
    return f"attention.self.{name}" if name in ("query", "key", "value") else name


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's GELU, in its tanh form (within 1e-3 of the exact one), computed in place."""
    inner = x * x
    inner *= 0.044715 * 0.7978845608028654
    inner += 0.7978845608028654
    inner *= x
    return 0.5 * x * (1.0 + np.tanh(inner, out=inner))
