"""Commands as a user starts them, each in a fresh process: `--help`, `search`, `ask` (on the sample or a
large synthetic index), and the slowest imports of a cold start."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from speed.common import REPO, questions

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
