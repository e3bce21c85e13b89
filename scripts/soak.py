"""Soak the Discord bot: the real `docbot discord` answers N questions from M users while Discord misbehaves.

    python scripts/soak.py [--questions N] [--users M] [--seed S] [--corpus DIR] [--index-dir DIR]

It indexes the corpus (the bundled corpus/ by default; a re-run only re-embeds what changed), starts
`docbot discord` in a subprocess with the default models against the local Discord-compatible server
of the tests (tests/fake_discord.py, on 127.0.0.1), and lets M users ask N questions in all, each user
waiting for its answer and a moment before asking again. Meanwhile faults come at random: the gateway
dropped (closed or cut) and HTTP 429s with a Via header (which discord.py honours and retries).

Prints answered / told-busy / error / lost (lost must be 0: a question with no final reply), latency
from question to final reply (p50/p95), and the bot's RSS, open file descriptors and threads once it
is connected and after the last answer. Exit status 1 if any question was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from docbot.discord.render import BUSY_TEXT, ERROR_TEXT, MODEL_DOWN_TEXT  # noqa: E402
from tests.bot_harness import LogLines, finished_replies, start_docbot_discord  # noqa: E402
from tests.fake_discord import TOKEN, FakeDiscord  # noqa: E402

# About the bundled corpus; some are not answered there, so refusals are part of the load too.
QUESTIONS = [
    "Who is the CEO of Microsoft according to the article?",
    "Who leads Meta?",
    "What is Microsoft's cloud platform called?",
    "What is the backbone of the partnership?",
    "What was Meta formerly called?",
    "What could natural language processing revolutionize?",
    "What does Meta pioneer?",
    "Which platform will developers build applications on?",
    "What is the tallest volcano in the solar system?",
    "Who founded Microsoft?",
]
ANSWER_TIMEOUT_SECONDS = 600.0  # a reply not final by then counts as lost (the queue drains one at a time)
THINK_SECONDS = (0.0, 2.0)  # a user's pause between an answer and the next question
BUSY_PAUSE_SECONDS = (5.0, 15.0)  # told to try again later, a user waits longer
FAULT_EVERY_SECONDS = 5.0  # mean time between injected faults
RETRY_AFTER_SECONDS = (0.2, 1.5)


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    log: Counter[str] = field(default_factory=Counter)  # the bot's log lines by kind
    warnings: Counter[str] = field(default_factory=Counter)  # its warning and error messages, numbers blanked
    warm: Usage | None = None  # the bot's usage once a tenth of the questions were replied to
    next_question: int = 0


@dataclass
class Usage:
    rss_mb: float
    fds: int
    threads: int

    @classmethod
    def of(cls, process: psutil.Process) -> Usage:
        return cls(process.memory_info().rss / 2**20, process.num_fds(), process.num_threads())


def outcome(content: str) -> str:
    if content == BUSY_TEXT:
        return "told-busy"
    if content in (ERROR_TEXT, MODEL_DOWN_TEXT) or content.startswith("⚠️"):
        return "error"
    return "answered"


async def user(
    server: FakeDiscord, user_id: int, total: int, tally: Tally, rng: random.Random, bot: psutil.Process
) -> None:
    """One user: ask, wait for the final reply, pause, ask again, until N questions were asked in all."""
    while tally.next_question < total:
        number = tally.next_question
        tally.next_question += 1
        question = QUESTIONS[rng.randrange(len(QUESTIONS))]
        started = time.monotonic()
        asked = await server.user_says(f"<@900> {question}", user_id=user_id)
        try:
            replies = await server.wait_until(lambda a=asked: finished_replies(server, a), ANSWER_TIMEOUT_SECONDS)
        except TimeoutError:
            tally.outcomes["lost"] += 1
            print(f"  lost: question {number} ({question!r}) from user {user_id}", file=sys.stderr)
            continue
        kind = outcome(replies[-1].content)
        tally.outcomes[kind] += 1
        if kind == "answered":
            tally.latencies.append(time.monotonic() - started)
        done = sum(tally.outcomes.values())
        if done == max(1, total // 10):
            tally.warm = Usage.of(bot)  # the models have answered: caches and buffers are in place
        if done % 50 == 0:
            print(f"  {done}/{total} replied ({dict(tally.outcomes)})", file=sys.stderr)
        await asyncio.sleep(rng.uniform(*(BUSY_PAUSE_SECONDS if kind == "told-busy" else THINK_SECONDS)))


async def inject_faults(server: FakeDiscord, tally: Tally, rng: random.Random) -> None:
    """Until cancelled: at random moments drop the gateway (closed or cut) or rate limit the next writes."""
    while True:
        await asyncio.sleep(rng.expovariate(1 / FAULT_EVERY_SECONDS))
        if rng.random() < 0.4:
            code = rng.choice([4000, None])
            tally.faults["gateway closed" if code else "gateway cut"] += 1
            await server.drop_gateway(code)
        else:
            count = rng.randint(1, 3)
            tally.faults["429"] += count
            server.faults.rate_limit(count, round(rng.uniform(*RETRY_AFTER_SECONDS), 2))


def build_index(corpus: Path, index_dir: Path) -> None:
    command = [sys.executable, "-m", "docbot", "index", "--corpus", str(corpus), "--index-dir", str(index_dir)]
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)


async def soak(
    args: argparse.Namespace, index_dir: Path, feedback_db: Path
) -> tuple[Tally, Usage, Usage, float, int | None, float]:
    rng = random.Random(args.seed)
    server = FakeDiscord()
    await server.start()
    env = {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": server.api_base,
        "DOCBOT_CORPUS": str(args.corpus),
        "DOCBOT_INDEX_DIR": str(index_dir),
        "DOCBOT_FEEDBACK_DB": str(feedback_db),  # the soak's answers stay out of the user's feedback
        "DOCBOT_DISCORD_COOLDOWN_SECONDS": "0",
        "DOCBOT_DISCORD_RETRY_SECONDS": "0.5",
        "DOCBOT_DISCORD_RETRY_MAX_SECONDS": "5",
    }
    bot = await start_docbot_discord(env)
    log = LogLines(bot.stderr)  # type: ignore[arg-type]
    stdout_drain = asyncio.create_task(bot.stdout.read())  # type: ignore[union-attr]
    tally = Tally()
    try:
        await asyncio.wait_for(server.identified.wait(), 300)
        process = psutil.Process(bot.pid)
        start = Usage.of(process)
        started = time.monotonic()
        faults = asyncio.create_task(inject_faults(server, tally, rng))
        users = [
            user(server, 1000 + n, args.questions, tally, random.Random(rng.random()), process)
            for n in range(args.users)
        ]
        await asyncio.gather(*users)
        elapsed = time.monotonic() - started
        faults.cancel()
        end = Usage.of(process)
        bot.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.wait_for(bot.wait(), 60)
        stop_seconds = time.monotonic() - signalled
        output = await log.finished()
        await stdout_drain
        for line in output.splitlines():
            logged = re.match(r"\S+ \S+ (?:WARNING|ERROR)\s+(.*)$", line)  # date, time, level, logger and message
            if logged:
                tally.warnings[re.sub(r"\d+(\.\d+)?", "#", logged.group(1))] += 1
        tally.log = Counter(
            {
                "warnings": sum(" WARNING " in line for line in output.splitlines()),
                "errors": sum(" ERROR " in line for line in output.splitlines()),
                "tracebacks": output.count("Traceback"),
            }
        )
        return tally, start, end, elapsed, bot.returncode, stop_seconds
    finally:
        if bot.returncode is None:
            bot.kill()
        await server.stop()


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=200, help="questions in all (N)")
    parser.add_argument("--users", type=int, default=12, help="users asking at once (M)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--index-dir", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docbot-soak-") as scratch:
        index_dir = args.index_dir or Path(scratch) / "index"
        build_index(args.corpus, index_dir)
        tally, start, end, elapsed, returncode, stop_seconds = asyncio.run(
            soak(args, index_dir, Path(scratch) / "feedback.sqlite3")
        )
    o = tally.outcomes
    print(f"docbot discord soak: {args.questions} questions from {args.users} users, seed {args.seed}")
    print(f"  answered {o['answered']}  told-busy {o['told-busy']}  error {o['error']}  lost {o['lost']}")
    print(
        f"  latency (question to final answer) p50 {percentile(tally.latencies, 50):.2f} s, "
        f"p95 {percentile(tally.latencies, 95):.2f} s over {len(tally.latencies)} answers; {elapsed:.0f} s in all"
    )
    print(f"  faults injected: {', '.join(f'{k} {v}' for k, v in sorted(tally.faults.items())) or 'none'}")
    warm = tally.warm or end
    print(
        f"  RSS {start.rss_mb:.0f} MB at start, {warm.rss_mb:.0f} MB after a tenth, {end.rss_mb:.0f} MB at the end; "
        f"open fds {start.fds} -> {end.fds}; threads {start.threads} -> {end.threads}"
    )
    print(
        f"  bot log: {tally.log['warnings']} warnings, {tally.log['errors']} errors, "
        f"{tally.log['tracebacks']} tracebacks"
    )
    for message, count in tally.warnings.most_common(5):
        print(f"    {count} x {message}")
    print(f"  stopped by SIGTERM in {stop_seconds:.1f} s, exit status {returncode}")
    return 1 if o["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
