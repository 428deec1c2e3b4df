"""`tidings import` of 100,000 accounts with 1,000 bad rows spread through the file (issue 14).

    python -m tests.bench.cli_import [--rows 100000] [--bad 1000] [--concurrency 4]

Starts an embedded stack (as `make run` does), writes a CSV of accounts where every
(rows / bad)-th row is bad, in turn: a row with an extra field, one without a UserID (both
found by the CLI), a UserID over 32 bytes (refused by the server in FailAccounts) and a Nick
over 500 bytes (the server refuses its whole batch of 100: the CLI splits it down to the row).
Runs the real CLI (`python -m services.cli.main import`), then checks it imported exactly the
good rows (the store's count, and account_check on a sample through REST) and named each bad
row by its line. Prints the time and rows/s; exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from services.common.store.sqlite import SqliteStores
from services.embedded.stack import Stack
from tests.conftest import new_app
from tests.e2e.test_cli_import import bad_lines

SORTS = ("extra field", "no UserID", "UserID too long", "Nick too long")


def write_file(path: Path, rows: int, bad: int) -> tuple[set[str], dict[int, str]]:
    """The CSV; returns the good UserIDs and the bad rows' line -> sort."""
    every = rows // bad
    good: set[str] = set()
    expected: dict[int, str] = {}
    with path.open("w") as f:
        f.write("UserID,Nick,FaceUrl\n")
        for i in range(rows):
            line = i + 2
            user = f"user{i:06d}"
            if i % every == every // 2 and len(expected) < bad:
                sort = SORTS[len(expected) % len(SORTS)]
                expected[line] = sort
                row = {
                    "extra field": f"{user},Nick {i},http://img/{i}.png,surplus",
                    "no UserID": f",Nick {i},",
                    "UserID too long": f"{user}{'x' * 30},Nick {i},",
                    "Nick too long": f"{user},{'n' * 501},",
                }[sort]
            else:
                good.add(user)
                row = f"{user},Nick {i},http://img/{i}.png"
            f.write(row + "\n")
    return good, expected


def check_reasons(reported: dict[int, str], expected: dict[int, str]) -> list[str]:
    problems = []
    if set(reported) != set(expected):
        missing = sorted(set(expected) - set(reported))[:5]
        extra = sorted(set(reported) - set(expected))[:5]
        problems.append(
            f"bad lines differ: not reported {missing}..., reported but good {extra}..."
        )
    starts = {
        "extra field": "has 4 fields",
        "no UserID": "UserID is missing",
        "UserID too long": "UserID ",
        "Nick too long": "ErrorCode 70402",
    }
    wrong = [n for n, sort in expected.items() if not reported.get(n, "").startswith(starts[sort])]
    if wrong:
        problems.append(f"{len(wrong)} bad rows with another reason, e.g. line {wrong[0]}")
    return problems


async def main(rows: int, bad: int, concurrency: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        stack = Stack(data_dir=data)
        await asyncio.to_thread(stack.start)
        try:
            app = await new_app(stack)
            path = data / "accounts.csv"
            good, expected = write_file(path, rows, bad)
            started = time.perf_counter()
            done = await asyncio.to_thread(
                subprocess.run,
                [
                    sys.executable,
                    "-m",
                    "services.cli.main",
                    "import",
                    "--app",
                    str(app.sdkappid),
                    "--concurrency",
                    str(concurrency),
                    "accounts",
                    str(path),
                ],
                env={**os.environ, "TIDINGS_DATA_DIR": str(data)},
                capture_output=True,
                text=True,
            )
            elapsed = time.perf_counter() - started
            problems = [] if done.returncode == 1 else [f"exit code {done.returncode}"]
            problems += check_reasons(bad_lines(done.stderr), expected)
            stores = SqliteStores(stack.settings().sqlite_path)
            try:
                count = await stores.directory.count_accounts(app.sdkappid)
            finally:
                await stores.close()
            if count != len(good):
                problems.append(f"{count} accounts in the store, {len(good)} expected")
            sample = random.Random(14).sample(sorted(good), 100)
            reply = await app.rest(
                "im_open_login_svc", "account_check", {"CheckItem": [{"UserID": u} for u in sample]}
            )
            if any(r["AccountStatus"] != "Imported" for r in reply["ResultItem"]):
                problems.append("account_check finds a good row not imported")
            machine = f"{platform.node()}, {os.cpu_count()} cores"
            print(f"machine: {machine}, Python {platform.python_version()}")
            print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
            sorts = ", ".join(SORTS)
            print(f"rows: {rows:,} ({bad:,} bad: {sorts}, in turn), concurrency {concurrency}")
            print(done.stdout.strip())
            print(
                f"wall time (process start to exit): {elapsed:.1f} s, {rows / elapsed:,.0f} rows/s"
            )
            reported = len(bad_lines(done.stderr))
            print(f"accounts in the store: {count:,}; bad rows reported: {reported:,}")
            for problem in problems:
                print(f"FAILED: {problem}")
            return 1 if problems else 0
        finally:
            await asyncio.to_thread(stack.stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.rows, args.bad, args.concurrency)))
