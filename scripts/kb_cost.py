"""What a second knowledge base costs `docbot discord`: start time (until connected) and resident memory.

    python scripts/kb_cost.py [--runs 3]

Indexes the bundled corpus/ (the default knowledge base) and bench/corpus/ (a second one, `[kb.bench]`)
into a temporary folder, then starts the real `docbot discord` with the default models against the local
Discord-compatible server of the tests (tests/fake_discord.py, on 127.0.0.1), alternately with one
knowledge base and with both, `--runs` times each. For each start it takes the time from launch to the
bot's "connected as" line and the process's RSS at that moment, asks one question per knowledge base and
takes the RSS again; it prints the medians and the ratio two/one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from docbot.components import index_corpus, make_embedder  # noqa: E402
from docbot.settings import Settings  # noqa: E402
from tests.bot_harness import LogLines, finished_replies, start_docbot_discord  # noqa: E402
from tests.fake_discord import CHANNEL_ID, OTHER_CHANNEL_ID, TOKEN, FakeDiscord  # noqa: E402

QUESTIONS = {
    CHANNEL_ID: "Who is the CEO of Microsoft according to the article?",  # the default knowledge base
    OTHER_CHANNEL_ID: "Who were the Normans descended from?",  # [kb.bench], when configured
}


def write_configs(folder: Path) -> dict[str, Path]:
    """Index both corpora once; return the config file for one knowledge base and for two."""
    embedder = make_embedder(Settings())
    default = Settings(corpus=REPO / "corpus", index_dir=folder / "index-default")
    bench = Settings(corpus=REPO / "bench" / "corpus", index_dir=folder / "index-bench")
    for settings in (default, bench):
        index_corpus(settings, embedder)
    one = f'corpus = "{default.corpus}"\nindex_dir = "{default.index_dir}"\n'
    two = (
        one
        + f'[kb.bench]\ncorpus = "{bench.corpus}"\nindex_dir = "{bench.index_dir}"\nchannels = [{OTHER_CHANNEL_ID}]\n'
    )
    configs = {"one": folder / "one.toml", "two": folder / "two.toml"}
    configs["one"].write_text(one, encoding="utf-8")
    configs["two"].write_text(two, encoding="utf-8")
    return configs


async def start_once(config: Path) -> tuple[float, float, float]:
    """Seconds from launch to connected, RSS (MB) then, and RSS after one answer per knowledge base."""
    server = FakeDiscord()
    await server.start()
    env = {"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE": server.api_base, "DOCBOT_CONFIG": str(config)}
    env["DOCBOT_DISCORD_COOLDOWN_SECONDS"] = "0"
    env["DOCBOT_FEEDBACK_DB"] = str(config.parent / "feedback.sqlite3")  # the measured answers stay out of the user's
    launched = time.monotonic()
    bot = await start_docbot_discord(env)
    log = LogLines(bot.stderr)  # type: ignore[arg-type]
    drain = asyncio.create_task(bot.stdout.read())  # type: ignore[union-attr]
    try:
        await log.wait_for(r"connected as", timeout=300)
        ready = time.monotonic() - launched
        process = psutil.Process(bot.pid)
        at_ready = process.memory_info().rss / 2**20
        for n, (channel, question) in enumerate(QUESTIONS.items()):
            asked = await server.user_says(f"<@900> {question}", user_id=70 + n, channel_id=channel)
            await server.wait_until(lambda asked=asked: finished_replies(server, asked), timeout=300)
        answered = process.memory_info().rss / 2**20
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 60)
        await log.finished()
        await drain
        return ready, at_ready, answered
    finally:
        if bot.returncode is None:
            bot.kill()
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docbot-kb-cost-") as folder:
        configs = write_configs(Path(folder))
        runs: dict[str, list[tuple[float, float, float]]] = {"one": [], "two": []}
        for _ in range(args.runs):
            for name, config in configs.items():  # interleaved, so a busier moment hits both alike
                runs[name].append(asyncio.run(start_once(config)))
    medians = {
        name: [statistics.median(column) for column in zip(*values, strict=True)] for name, values in runs.items()
    }
    for name, values in runs.items():
        start, ready_rss, answered_rss = medians[name]
        print(
            f"{name} knowledge base(s): start {start:.1f} s, RSS {ready_rss:.0f} MB when connected, "
            f"{answered_rss:.0f} MB after an answer in each (median of {len(values)}; starts "
            + ", ".join(f"{v[0]:.1f}" for v in values)
            + " s)"
        )
    ratios = [two / one for one, two in zip(medians["one"], medians["two"], strict=True)]
    print(f"two / one: start x{ratios[0]:.2f}, RSS x{ratios[1]:.2f} when connected, x{ratios[2]:.2f} after answers")


if __name__ == "__main__":
    main()
