"""Fit the answer-word weights of docbot/engine/answer_span.py on SQuAD 2.0 training articles.

    python scripts/fit_answer_span.py ../shared/train/squad2-train-10-articles.json

For each answerable question, the sentence holding its answer is split into words; a word is
labelled 1 when it overlaps the gold answer. A logistic regression over answer_span.word_features
is fitted on a seeded half of the questions; the other half reports how often the excerpt of a
given width holds the whole gold answer, against an excerpt that opens the sentence. Paste the
printed WEIGHTS into answer_span.py. Never fit on ../shared/bench/: it is the development check.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression  # installed with sentence-transformers

from docbot.engine import answer_span
from docbot.engine.question_shape import question_shape
from docbot.index.chunking import split_sentences


def answer_sentences(path: Path) -> list[tuple[str, str, list[str]]]:
    """(question, the sentence holding its first gold answer, every gold answer)."""
    found = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            context, start = paragraph["context"], 0
            spans = []
            for sentence in split_sentences(context):
                at = context.find(sentence[:20], start)
                at = start if at < 0 else at
                spans.append((sentence, at, at + len(sentence)))
                start = at + len(sentence)
            for qa in paragraph["qas"]:
                if qa.get("is_impossible"):
                    continue
                gold = qa["answers"][0]
                for sentence, begin, end in spans:
                    if begin <= gold["answer_start"] < end and gold["text"] in sentence:
                        found.append((qa["question"], sentence, [a["text"] for a in qa["answers"]]))
                        break
    return found


def word_labels(sentence: str, words: list[str], answer: str) -> list[int]:
    start = sentence.find(answer)
    end, at, labels = start + len(answer), 0, []
    for word in words:
        begin = sentence.find(word, at)
        at = begin + len(word)
        labels.append(int(begin < end and at > start))
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path, help="SQuAD 2.0 JSON file (training articles only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    items = answer_sentences(args.train)
    random.Random(args.seed).shuffle(items)
    fit, held_out = items[: len(items) // 2], items[len(items) // 2 :]
    rows, labels = [], []
    for question, sentence, gold in fit:
        words = sentence.split()
        rows += answer_span.word_features(words, question_shape(question))
        labels += word_labels(sentence, words, gold[0])
    model = LogisticRegression(max_iter=2000, fit_intercept=False).fit(np.array(rows), np.array(labels))
    weights = tuple(round(float(w), 2) for w in model.coef_[0])
    print(f"{len(items)} answer sentences, fitted on {len(fit)}")
    print("WEIGHTS =", weights)
    answer_span.WEIGHTS = weights  # the held-out figures below use the new weights
    for width in (60, 70, 80, 100):
        hits, opening_hits, lengths = 0, 0, []
        for question, sentence, gold in held_out:
            words = sentence.split()
            first, last = answer_span.answer_window(sentence, question_shape(question), width)
            excerpt = " ".join(words[first : last + 1])
            opening = sentence[:width]
            lengths.append(len(excerpt))
            hits += any(g in excerpt for g in gold)
            opening_hits += any(g in opening for g in gold)
        print(
            f"width {width}: excerpt holds the gold answer {hits / len(held_out):.3f} "
            f"(sentence opening {opening_hits / len(held_out):.3f}), median {statistics.median(lengths)} chars"
        )


if __name__ == "__main__":
    main()
