"""Measure docbot's speed: index builds, warm retrieval and answers, cold commands, vector search.

    python scripts/bench.py [--json] [--quick] [--skip-1m] [--large-corpus FOLDER] [--large-index DIR]

`--large-index` times cold commands on an index made by scripts/synthetic_index.py (80k chunks),
whose corpus is the folder `corpus` beside it. `--only importtime` lists the slowest imports of
a cold `docbot search` (python -X importtime).

Prints one table (or JSON). Every latency is a median (p50) or p95 over several runs, because
the machine may be shared; run it twice when comparing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# As docbot.cli does before any OpenMP library loads: without it llama.cpp's threads spin and
# answers beside a busy process measure many times slower than the bot's.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

BENCH = REPO / "bench"  # the SQuAD 2.0 sample shipped in the repository
SEED = 1234
DIMENSION = 384
SYNTHETIC_CLUSTERS = 2000  # real sentence embeddings cluster by topic; uniform noise would not
SYNTHETIC_SPREAD = 0.8  # per-dimension noise around a centre: same-topic vectors have cosine ~0.6
SEARCH_QUERIES = 200
RECALL_AT = 10
SWEEP_PROMPT_CHARS = (400, 700, 1000, 1400)
SWEEP_ANSWER_TOKENS = (48, 96)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def questions(count: int) -> list[str]:
    lines = (BENCH / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    step = max(1, len(rows) // count)  # spread over all three documents
    return [row["question"] for row in rows[::step][:count]]


def bench_index(work: Path, runs: int) -> dict[str, float]:
    """Full builds with a warm embedder, then re-index with nothing / one file changed."""
    from docbot.components import index_corpus, make_embedder
    from docbot.settings import Settings

    corpus = work / "corpus"
    shutil.copytree(BENCH / "corpus", corpus)
    # The embedding's own speed: a niced build (build_nice) only slows when something else wants
    # the cores, and on a shared machine that would measure the neighbours (see bench_contention).
    settings = Settings(corpus=corpus, index_dir=work / "index", build_nice=0)
    embedder = make_embedder(settings)
    load_s = timed(lambda: embedder.embed(["warm up"]))
    builds, cpu_s = [], []
    for _ in range(runs):
        started_cpu = cpu_seconds()
        builds.append(index_corpus(settings, embedder, rebuild=True))
        cpu_s.append(cpu_seconds() - started_cpu)
    full_s = statistics.median(report.seconds for report in builds)
    chunks = builds[0].chunks
    chars = sum(path.stat().st_size for path in corpus.glob("*.md"))

    unchanged = []
    for _ in range(runs):
        cold = make_embedder(settings)  # a fresh embedder shows whether the model had to load
        report = index_corpus(settings, cold)
        unchanged.append((report.seconds, report.embedded, cold._model is not None))
    changed = []
    target = sorted(corpus.glob("*.md"))[0]
    for run in range(runs):
        with target.open("a", encoding="utf-8") as handle:
            handle.write(f"\n\nA new closing paragraph, number {run}, about nothing in particular.\n")
        report = index_corpus(settings, embedder)
        changed.append((report.seconds, report.embedded))
    return {
        "embedder_load_s": load_s,
        "chunks": chunks,
        "full_build_s": full_s,
        "build_chunks_per_s": chunks / full_s,
        # CPU time, unlike wall time, hardly moves when another process takes a core
        "build_cpu_ms_per_chunk": 1000 * statistics.median(cpu_s) / chunks,
        "build_chars_per_s": chars / full_s,
        "reindex_unchanged_s": statistics.median(s for s, _, _ in unchanged),
        "reindex_unchanged_embedded": max(n for _, n, _ in unchanged),
        "reindex_unchanged_loaded_model": int(any(loaded for _, _, loaded in unchanged)),
        "reindex_unchanged_pct_of_full": 100 * statistics.median(s for s, _, _ in unchanged) / full_s,
        "reindex_one_file_s": statistics.median(s for s, _ in changed),
        "reindex_one_file_embedded": statistics.median(n for _, n in changed),
        "one_file_chunks": chunks_of(settings, target.name),
    }


def chunks_of(settings, doc: str) -> int:
    from docbot.components import make_store

    return make_store(settings).read_manifest().files[doc].chunks


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
    first, total, generated = time_answers(engine, asked[:n_answer])
    return {
        "retrieve_p50_ms": percentile(retrieve_ms, 50),
        "retrieve_p95_ms": percentile(retrieve_ms, 95),
        "first_token_p50_ms": percentile(first, 50),
        "first_token_p95_ms": percentile(first, 95),
        "answer_p50_ms": percentile(total, 50),
        "answer_p95_ms": percentile(total, 95),
        "answer_with_model_p50_ms": percentile(generated, 50),
        "answer_with_model_p95_ms": percentile(generated, 95),
        "prompt_chars": settings.prompt_chars,
        "max_answer_tokens": settings.max_answer_tokens,
    }


def time_answers(engine, asked: list[str]) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds per question: to the first token and to the whole answer (all, and only
    those the model answered: an early refusal never runs it)."""
    first, total, generated = [], [], []
    for question in asked:
        started = time.perf_counter()
        answer = engine.answer(question)
        total.append(1000 * (time.perf_counter() - started))
        if "first_token_ms" in answer.timings:
            first.append(answer.timings["first_token_ms"])
            generated.append(total[-1])
    return first or [0.0], total, generated or [0.0]


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
            first, total, _ = time_answers(engine, asked)
            label = f"sweep_{prompt_chars}chars_{max_tokens}tok"
            results[f"{label}_first_token_p50_ms"] = percentile(first, 50)
            results[f"{label}_answer_p50_ms"] = percentile(total, 50)
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
    idle = time_answers(engine, asked)[1]
    idle_cpu = cpu_seconds() - idle_cpu
    busy = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
    try:
        yes_cpu = cpu_seconds()
        beside_yes = time_answers(engine, asked)[1]
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


def cpu_seconds() -> float:
    """CPU time of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
        total = time_answers(engine, asked)[1]
        rate = (sum(embedded) - before) / (time.perf_counter() - started)
    finally:
        stop.set()
        builder.join()
    return total, rate


def bench_large_build(folder: Path) -> dict[str, float]:
    """`docbot index --rebuild` of `folder` in a fresh process: wall time, chunks/s, peak RSS."""
    with tempfile.TemporaryDirectory(prefix="docbot-bench-large-") as index_dir:
        args = ["index", "--corpus", str(folder), "--index-dir", index_dir, "--rebuild"]
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "docbot", *args], cwd=REPO, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            assert process.stderr is not None
            raise SystemExit(f"`docbot {' '.join(args)}` failed: {process.stderr.read().decode()[-500:]}")
        manifest = json.loads(next(Path(index_dir).glob("gen-*/manifest.json")).read_text(encoding="utf-8"))
    return {
        "large_build_chunks": manifest["chunk_count"],
        "large_build_s": wall,
        "large_build_chunks_per_s": manifest["chunk_count"] / wall,
        "large_build_peak_rss_mb": usage.ru_maxrss / 1024,
    }


# Starts the command from a small process: a child forked from this one (models loaded, ~1 GB)
# would report this process's memory as its own peak (ru_maxrss counts the pages before exec).
LAUNCHER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def run_cli(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one `python -m docbot ...` process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "docbot", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"`docbot {' '.join(args)}` failed: {stderr.strip()[-500:]}")
    peak_kb = next(line.split()[1] for line in stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    return wall, int(peak_kb) / 1024, stdout


def bench_cold(work: Path, runs: int) -> dict[str, float]:
    """Fresh processes: `--help`, `search` and `ask`, as a user starts them."""
    where = ["--corpus", str(work / "corpus"), "--index-dir", str(work / "index")]
    question = questions(1)[0]
    run_cli(["ask", question, "--json", *where])  # the first run reads the model files into the page cache
    help_s = [run_cli(["--help"])[0] for _ in range(runs)]
    search_s = [run_cli(["search", question, *where])[0] for _ in range(runs)]
    ask = [run_cli(["ask", question, "--json", *where]) for _ in range(runs)]
    first = [json.loads(out)["timings"].get("first_token_ms", float("nan")) for _, _, out in ask]
    return {
        "cold_help_s": statistics.median(help_s),
        "cold_search_s": statistics.median(search_s),
        "cold_ask_s": statistics.median(wall for wall, _, _ in ask),
        "cold_ask_first_token_ms_in_json": statistics.median(first),
        "ask_peak_rss_mb": statistics.median(rss for _, rss, _ in ask),
    }


def bench_large(index_dir: Path, runs: int) -> dict[str, float]:
    """Fresh processes on a large synthetic index: ask, search, and a refresh with nothing changed."""
    where = ["--corpus", str(index_dir.parent / "corpus"), "--index-dir", str(index_dir)]
    question = questions(1)[0]
    run_cli(["search", question, *where])  # the first run reads the index into the page cache
    search_s = [run_cli(["search", question, *where])[0] for _ in range(runs)]
    ask_s = [run_cli(["ask", question, "--json", *where])[0] for _ in range(runs)]
    noop_s = [run_cli(["index", *where])[0] for _ in range(runs)]
    open_s, first_s = [], []
    for _ in range(runs):
        opened, first = time_large_open(index_dir, question)
        open_s.append(opened)
        first_s.append(first)
    return {
        "large_chunks": float(json.loads(next(index_dir.glob("gen-*/manifest.json")).read_text())["chunk_count"]),
        "large_cold_search_s": statistics.median(search_s),
        "large_cold_ask_s": statistics.median(ask_s),
        "large_cold_noop_index_s": statistics.median(noop_s),
        "large_open_in_subprocess_s": statistics.median(open_s),
        "large_first_search_in_subprocess_s": statistics.median(first_s),
    }


LARGE_OPEN_PROBE = """
import sys, time
from docbot.components import make_embedder, make_store
from docbot.index.search import Retriever
from docbot.settings import Settings
settings = Settings(index_dir=sys.argv[1])
embedder = make_embedder(settings)
embedder.embed_query("warm up")
started = time.perf_counter()
index = make_store(settings).load()
opened = time.perf_counter()
Retriever(index, embedder).search(sys.argv[2], 5)
print(opened - started, time.perf_counter() - opened)
"""


def time_large_open(index_dir: Path, question: str) -> tuple[float, float]:
    """Seconds to open the index and to answer the first search, in a fresh process, embedder loaded."""
    result = subprocess.run(
        [sys.executable, "-c", LARGE_OPEN_PROBE, str(index_dir), question], capture_output=True, text=True, check=True
    )
    opened, first = result.stdout.split()
    return float(opened), float(first)


def bench_importtime(work: Path, top: int = 12) -> dict[str, object]:
    """The slowest imports (cumulative ms) of a cold `docbot search`, from python -X importtime."""
    where = ["--corpus", str(work / "corpus"), "--index-dir", str(work / "index")]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "docbot", "search", questions(1)[0], *where],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1000, parts[2].strip()))
    slowest = sorted(rows, reverse=True)[:top]
    return {f"import_ms {name}": round(ms, 1) for ms, name in slowest}


def synthetic_vectors(count: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors clustered around topic centres, like sentence embeddings of many documents."""
    vectors = np.empty((count, DIMENSION), dtype=np.float32)
    step = 100_000
    for start in range(0, count, step):
        n = min(step, count - start)
        block = centres[rng.integers(0, len(centres), n)] + SYNTHETIC_SPREAD * rng.standard_normal(
            (n, DIMENSION), dtype=np.float32
        )
        vectors[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return vectors


def bench_search(count: int) -> dict[str, float]:
    """The store's own index choice at `count` vectors: build time, latency, recall@10 vs exact."""
    import faiss

    from docbot.index.store import IndexStore, Manifest, StoredIndex
    from docbot.settings import load_settings

    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((SYNTHETIC_CLUSTERS, DIMENSION), dtype=np.float32)
    vectors = synthetic_vectors(count, centres, rng)
    queries = synthetic_vectors(SEARCH_QUERIES, centres, rng)  # new questions on the same topics
    settings = load_settings(None)
    store = IndexStore(Path(tempfile.gettempdir()), settings.approximate_above)
    started = time.perf_counter()
    index = store.build_vectors(vectors)
    build_s = time.perf_counter() - started
    exact = faiss.IndexFlatIP(DIMENSION)
    exact.add(vectors)
    _, truth = exact.search(queries, RECALL_AT)
    stored = StoredIndex(Manifest("synthetic", DIMENSION, {}), [], vectors, index, Path())
    latencies, hits = [], 0
    for row, query in enumerate(queries):
        started = time.perf_counter()
        found = stored.nearest(query, RECALL_AT)  # the retriever's own call
        latencies.append(1000 * (time.perf_counter() - started))
        hits += len(set(found) & set(truth[row].tolist()))
    return {
        "index": type(index).__name__,
        "build_s": build_s,
        "search_p50_ms": percentile(latencies, 50),
        "search_p95_ms": percentile(latencies, 95),
        "recall_at_10": hits / (RECALL_AT * len(queries)),
    }


def print_table(results: dict[str, object]) -> None:
    width = max(len(key) for key in results)
    for key, value in results.items():
        shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown:>14}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--quick", action="store_true", help="fewer runs and questions")
    parser.add_argument("--skip-1m", action="store_true", help="skip the 1M-vector search (takes minutes)")
    parser.add_argument("--sweep", action="store_true", help="also time answers over prompt_chars x max_answer_tokens")
    parser.add_argument(
        "--only",
        choices=["index", "warm", "contention", "cold", "search", "importtime"],
        action="append",
        help="run only parts",
    )
    parser.add_argument("--large-corpus", type=Path, help="also time `docbot index` of this folder, with peak RSS")
    parser.add_argument("--large-index", type=Path, help="also time cold commands on this synthetic index")
    args = parser.parse_args()
    parts = args.only or ["index", "warm", "contention", "cold", "search", "importtime"]
    runs = 2 if args.quick else 3
    cold_runs = 2 if args.quick else 5
    results: dict[str, object] = {"cpu_count": os.cpu_count() or 0, "load_avg_1m_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="docbot-bench-") as folder:
        work = Path(folder)
        if args.sweep or {"index", "warm", "contention", "cold", "importtime"} & set(parts):
            results.update(bench_index(work, runs))
        if "warm" in parts:
            results.update(bench_warm(work, 20 if args.quick else 50, 8 if args.quick else 20))
        if "contention" in parts:
            results.update(bench_contention(work, 8 if args.quick else 16))
        if "cold" in parts:
            results.update(bench_cold(work, cold_runs))
        if "importtime" in parts:
            results.update(bench_importtime(work))
        if args.sweep:
            results.update(bench_sweep(work, 8 if args.quick else 16))
    if args.large_corpus:
        results.update(bench_large_build(args.large_corpus))
    if args.large_index:
        results.update(bench_large(args.large_index, cold_runs))
    if "search" in parts:
        for count in (100_000,) if args.skip_1m else (100_000, 1_000_000):
            label = f"{count // 1000}k" if count < 1_000_000 else f"{count // 1_000_000}M"
            results.update({f"search_{label}_{key}": value for key, value in bench_search(count).items()})
    results["load_avg_1m_at_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)


if __name__ == "__main__":
    main()
