"""Index builds: a full build, re-indexing with nothing or one file changed, and a large folder
built in a fresh process."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from speed.common import BENCH, REPO, cpu_seconds, timed


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
