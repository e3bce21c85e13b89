"""Warm answers, models loaded once: latency idle, over prompt budgets, and beside a busy core or
an index build."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from speed.common import cpu_seconds, percentile, questions, timed

SWEEP_PROMPT_CHARS = (400, 700, 1000, 1400)
SWEEP_ANSWER_TOKENS = (48, 96)


def bench_warm(work: Path, n_retrieve: int, n_answer: int) -> dict[str, float]:
    """Warm retrieval and answer latency over benchmark questions, models loaded once."""
    from docbot.components import build_engine, load_llm, make_embedder, open_retriever
    from docbot.settings import load_settings

    settings = load_settings(None, corpus=work / "corpus", index_dir=work / "index")
    retriever = open_retriever(settings, make_embedder(settings))
    asked = questions(max(n_retrieve, n_answer))
    retriever.search(asked[0], settings.top_k)  # loads the model and BM25
    retrieve_ms = [1000 * timed(lambda q=q: retriever.search(q, settings.top_k)) for q in asked[:n_retrieve]]
    engine = build_engine(settings, retriever, load_llm(settings))
    engine.answer(asked[0])
    times = time_answers(engine, asked[:n_answer])
    return {
        "retrieve_p50_ms": percentile(retrieve_ms, 50),
        "retrieve_p95_ms": percentile(retrieve_ms, 95),
        "first_token_p50_ms": percentile(times.first_token, 50),
        "first_token_p95_ms": percentile(times.first_token, 95),
        "answer_p50_ms": percentile(times.total, 50),
        "answer_p95_ms": percentile(times.total, 95),
        "answer_with_model_p50_ms": percentile(times.generated, 50),
        "answer_with_model_p95_ms": percentile(times.generated, 95),
        # the reader's quote, shown before the model runs (when the model's refusal could not take it back)
        "first_line_early_share": len(times.first_line) / len(asked[:n_answer]),
        "first_line_early_p50_ms": percentile(times.first_line, 50),
        "prompt_chars": settings.prompt_chars,
        "max_answer_tokens": settings.max_answer_tokens,
    }


@dataclass
class AnswerTimes:
    """Milliseconds per question: the whole answer (every question), to the model's first token and
    the whole answer of those the model answered (an early refusal never runs it), and to the first
    line of those whose first line came before the model ran."""

    total: list[float] = field(default_factory=list)
    first_token: list[float] = field(default_factory=list)
    generated: list[float] = field(default_factory=list)
    first_line: list[float] = field(default_factory=list)


def time_answers(engine, asked: list[str]) -> AnswerTimes:
    times = AnswerTimes()
    for question in asked:
        started = time.perf_counter()
        answer = engine.answer(question)
        times.total.append(1000 * (time.perf_counter() - started))
        if "first_token_ms" in answer.timings:
            times.first_token.append(answer.timings["first_token_ms"])
            times.generated.append(times.total[-1])
        if "first_line_ms" in answer.timings:
            times.first_line.append(answer.timings["first_line_ms"])
    return times


def bench_sweep(work: Path, n_answer: int) -> dict[str, float]:
    """Warm answer latency for several prompt budgets and answer lengths (one engine, reused)."""
    import dataclasses

    from docbot.components import build_engine, load_llm, make_embedder, open_retriever
    from docbot.settings import load_settings

    settings = load_settings(None, corpus=work / "corpus", index_dir=work / "index")
    engine = build_engine(settings, open_retriever(settings, make_embedder(settings)), load_llm(settings))
    asked = questions(n_answer)
    engine.answer(asked[0])
    defaults = engine.options
    results: dict[str, float] = {}
    for prompt_chars in SWEEP_PROMPT_CHARS:
        for max_tokens in SWEEP_ANSWER_TOKENS:
            engine.options = dataclasses.replace(defaults, prompt_chars=prompt_chars, max_answer_tokens=max_tokens)
            times = time_answers(engine, asked)
            label = f"sweep_{prompt_chars}chars_{max_tokens}tok"
            results[f"{label}_first_token_p50_ms"] = percentile(times.first_token, 50)
            results[f"{label}_answer_p50_ms"] = percentile(times.total, 50)
    return results


def bench_contention(work: Path, n_answer: int) -> dict[str, float]:
    """Warm answer latency idle, beside a busy core (`yes`), and while this process builds an index,
    as the Discord bot does on /reindex or in watch mode (the same embedder, another thread)."""
    from docbot.components import build_engine, load_llm, make_embedder, open_retriever
    from docbot.settings import load_settings

    settings = load_settings(None, corpus=work / "corpus", index_dir=work / "index")
    embedder = make_embedder(settings)
    engine = build_engine(settings, open_retriever(settings, embedder), load_llm(settings))
    asked = questions(n_answer)
    engine.answer(asked[0])
    idle_cpu = cpu_seconds()
    idle = time_answers(engine, asked).total
    idle_cpu = cpu_seconds() - idle_cpu
    busy = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
    try:
        yes_cpu = cpu_seconds()
        beside_yes = time_answers(engine, asked).total
        yes_cpu = cpu_seconds() - yes_cpu
    finally:
        busy.kill()
        busy.wait()
    during_build, build_rate = answers_during_build(work, settings, engine, asked)
    idle_p50, yes_p50, build_p50 = (percentile(values, 50) for values in (idle, beside_yes, during_build))
    return {
        "answer_idle_p50_ms": idle_p50,
        "answer_beside_yes_p50_ms": yes_p50,
        "answer_during_build_p50_ms": build_p50,
        "answer_beside_yes_vs_idle": yes_p50 / idle_p50,
        # CPU this process spent per answer: threads spinning for a core they do not get show here.
        "answer_idle_cpu_ms": 1000 * idle_cpu / len(asked),
        "answer_beside_yes_cpu_ms": 1000 * yes_cpu / len(asked),
        "answer_during_build_vs_idle": build_p50 / idle_p50,
        "build_chunks_per_s_while_answering": build_rate,
    }


def answers_during_build(work: Path, settings, engine, asked: list[str]) -> tuple[list[float], float]:
    """Answer milliseconds while another thread rebuilds a copy of the corpus over and over; and
    that build's chunks per second meanwhile."""
    from docbot.components import index_corpus
    from docbot.index.builder import BuildEvents

    build_settings = settings.replace(corpus=work / "corpus-copy", index_dir=work / "index-copy")
    shutil.copytree(settings.corpus, build_settings.corpus)
    stop, embedding = threading.Event(), threading.Event()
    embedded: list[int] = []
    events = BuildEvents(on_embed_start=lambda total: embedding.set(), on_embed_progress=embedded.append)

    def rebuild() -> None:
        while not stop.is_set():
            index_corpus(build_settings, engine.retriever.embedder, rebuild=True, events=events)

    builder = threading.Thread(target=rebuild, name="bench-build")
    builder.start()
    try:
        embedding.wait()
        started, before = time.perf_counter(), sum(embedded)
        total = time_answers(engine, asked).total
        rate = (sum(embedded) - before) / (time.perf_counter() - started)
    finally:
        stop.set()
        builder.join()
    return total, rate
