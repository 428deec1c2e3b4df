"""Word-filter throughput: a 50,000-word list on 200-byte messages, one core.

    python -m tests.bench.words

Words and messages are generated from a fixed seed (mixed Latin and CJK); about 1 message in 20
contains a listed word. Prints messages/s for mask and block lists. Nothing passes or fails.
"""

from __future__ import annotations

import os
import platform
import random
import string
import time

from services.router.words import Action, WordFilter, WordList

WORDS = 50_000
MESSAGES = 200_000
CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 2000)]


def make_words(rng: random.Random) -> list[str]:
    words = set()
    while len(words) < WORDS:
        if rng.random() < 0.5:
            words.add("".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10))))
        else:
            words.add("".join(rng.choices(CJK, k=rng.randint(2, 4))))
    return sorted(words)


def make_message(rng: random.Random, words: list[str]) -> str:
    parts: list[str] = []
    size = 0
    while size < 200:
        if rng.random() < 0.5:
            piece = "".join(rng.choices(string.ascii_letters + "  ", k=rng.randint(3, 12)))
        else:
            piece = "".join(rng.choices(CJK, k=rng.randint(1, 4)))
        parts.append(piece)
        size += len(piece.encode())
    if rng.random() < 0.05:
        parts.insert(rng.randrange(len(parts)), rng.choice(words))
    return "".join(parts).encode()[:200].decode(errors="ignore")


def run(action: Action, words: list[str], messages: list[str]) -> float:
    built = time.perf_counter()
    f = WordFilter([WordList(words, action)])
    build_s = time.perf_counter() - built
    started = time.perf_counter()
    hits = sum(1 for m in messages if f.check(m).matched)
    elapsed = time.perf_counter() - started
    rate = len(messages) / elapsed
    print(
        f"| {action.value} | {len(words):,} | {len(messages):,} | {hits:,} | {build_s:.2f} "
        f"| {rate:,.0f} |"
    )
    return rate


def main() -> None:
    rng = random.Random(42)
    words = make_words(rng)
    messages = [make_message(rng, words) for _ in range(MESSAGES)]
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| action | words | messages | with a match | build s | messages/s (one core) |")
    print("|---|---|---|---|---|---|")
    for action in (Action.MASK, Action.BLOCK):
        run(action, words, messages)


if __name__ == "__main__":
    main()
