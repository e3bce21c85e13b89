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
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
from docbot.index.openmp_waiting import set_openmp_waiting  # noqa: E402 (after the environment)

# As docbot.cli does before any OpenMP library loads, so that llama.cpp's threads wait as the bot's do.
set_openmp_waiting()

from speed.answers import bench_contention, bench_sweep, bench_warm  # noqa: E402 (after the environment)
from speed.cold_start import bench_cold, bench_importtime, bench_large  # noqa: E402
from speed.indexing import bench_index, bench_large_build  # noqa: E402
from speed.vector_search import bench_search  # noqa: E402


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
