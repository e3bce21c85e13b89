"""What every speed benchmark shares: where the repository and its SQuAD sample are, the questions
asked, and how times are taken and summarised."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent.parent
BENCH = REPO / "bench"  # the SQuAD 2.0 sample shipped in the repository


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, or nan for no values (every answer refused before the model ran, say)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def questions(count: int) -> list[str]:
    lines = (BENCH / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    step = max(1, len(rows) // count)  # spread over all three documents
    return [row["question"] for row in rows[::step][:count]]


def cpu_seconds() -> float:
    """CPU time of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
