"""Word-filter throughput: a 50,000-word list on 200-byte messages, one core.

    python -m tests.bench.words

Words and messages are generated from a fixed seed, mixed Latin and CJK, and one message in 20
has a listed word put in. Two alphabets: "realistic" draws CJK from 20,000 characters, so few
other matches happen by chance; "dense" draws from 2,000, so about half of all messages match
something (a worst case). Prints messages/s for mask and block lists. Nothing passes or fails.
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
ALPHABETS = {"realistic": 20_000, "dense": 2_000}
CJK = [chr(c) for c in range(0x4E00, 0x4E00 + ALPHABETS["dense"])]


def make_words(rng: random.Random, cjk: list[str] = CJK) -> list[str]:
    words: set[str] = set()
    while len(words) < WORDS:
        if rng.random() < 0.5:
            # Listed Latin terms are words and phrases, not 4-letter fragments of random text.
            words.add("".join(rng.choices(string.ascii_lowercase, k=rng.randint(6, 12))))
        else:
            words.add("".join(rng.choices(cjk, k=rng.randint(2, 4))))
    return sorted(words)


def make_message(rng: random.Random, words: list[str], cjk: list[str] = CJK) -> str:
    parts: list[str] = []
    size = 0
    while size < 200:
        if rng.random() < 0.5:
            piece = "".join(rng.choices(string.ascii_letters + "  ", k=rng.randint(3, 12)))
        else:
            piece = "".join(rng.choices(cjk, k=rng.randint(1, 4)))
        parts.append(piece)
        size += len(piece.encode())
    if rng.random() < 0.05:
        parts.insert(rng.randrange(len(parts)), rng.choice(words))
    return "".join(parts).encode()[:200].decode(errors="ignore")


def run(name: str, action: Action, words: list[str], messages: list[str]) -> float:
    built = time.perf_counter()
    f = WordFilter([WordList(words, action)])
    build_s = time.perf_counter() - built
    started = time.perf_counter()
    hits = sum(1 for m in messages if f.check(m).matched)
    elapsed = time.perf_counter() - started
    rate = len(messages) / elapsed
    print(
        f"| {name} | {action.value} | {len(words):,} | {len(messages):,} | {hits:,} "
        f"| {build_s:.2f} | {rate:,.0f} |"
    )
    return rate


def main() -> None:
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| data | action | words | messages | with a match | build s | messages/s (one core) |")
    print("|---|---|---|---|---|---|---|")
    for name, size in ALPHABETS.items():
        rng = random.Random(42)
        cjk = [chr(c) for c in range(0x4E00, 0x4E00 + size)]
        words = make_words(rng, cjk)
        messages = [make_message(rng, words, cjk) for _ in range(MESSAGES)]
        for action in (Action.MASK, Action.BLOCK):
            run(name, action, words, messages)


if __name__ == "__main__":
    main()
