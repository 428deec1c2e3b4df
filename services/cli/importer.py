"""`tidings import --app ID accounts|friends|groups FILE`: bulk import through the REST v4
commands of the running stack (multiaccount_import, friend_import, import_group,
import_group_member) as the app's admin identifier, in Tencent-sized batches, several in
flight.

Resumable: a state file beside the input (FILE.tidings-import.json, or --state) records the
last line done, counted only once every line before it is done too; a re-run continues after
it. Each bad row is reported with its line number and reason: found bad here (import_rows), or
refused by the server with its ErrorCode. A batch the server refuses as a whole is split in
halves until the refused rows are alone, so the other rows of the batch are still imported.
Errors that concern the whole app (a wrong key, the account quota, an IP whitelist) stop the
run instead, as does a stack that keeps failing: the state file keeps what was done."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from services.cli import import_rows
from services.cli.import_rows import BadRow, Batch, Kind, Row, entity_keys
from services.cli.rest_v4 import RestClient, StackUnavailable, Target, resolve_target

# Answers about the request as a whole, not its rows: the run stops.
FATAL_CODES = frozenset(
    {60002, 60003, 60004, 60006, 60010, 60012, 60021, 20002}
    | {70001, 70002, 70003, 70009, 70013, 70014, 70020, 70398, 70403, 90009}
)
STATE_SUFFIX = ".tidings-import.json"
# Exit codes: some rows were bad; the run stopped before the end of the file.
EXIT_BAD_ROWS = 1
EXIT_STOPPED = 3


class ImportStopped(Exception):
    """The server refused the whole request for a reason no row can fix."""


@dataclass(slots=True)
class ImportState:
    kind: str
    sdkappid: int
    input: str
    line: int = 0
    imported: int = 0
    bad: int = 0

    @classmethod
    def load(cls, path: Path, kind: str, sdkappid: int, source: Path) -> ImportState:
        fresh = cls(kind, sdkappid, str(source.resolve()))
        if not path.exists():
            return fresh
        doc = json.loads(path.read_text())
        state = cls(**{k: doc[k] for k in asdict(fresh) if k in doc})
        if (state.kind, state.sdkappid) != (kind, sdkappid):
            raise typer.BadParameter(
                f"{path} is the state of a {state.kind} import into app {state.sdkappid}:"
                " give another --state, or --restart"
            )
        return state

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(path)


@dataclass(slots=True)
class BatchResult:
    imported: int
    bad: list[BadRow]


class Importer:
    """Sends batches of one kind; each answers with its rows imported and its bad rows."""

    def __init__(self, client: RestClient, kind: Kind) -> None:
        self.client = client
        self.kind = kind
        # friend_import reads then writes an owner's friend list: one request per owner at once.
        self._owners: dict[str, tuple[asyncio.Lock, int]] = {}

    async def run(self, batch: Batch) -> BatchResult:
        bad = list(batch.bad)
        if not batch.rows:
            return BatchResult(0, bad)
        if self.kind == "groups":
            refused = [b for row in batch.rows if (b := await self._group(row)) is not None]
        elif self.kind == "friends":
            refused = await self._owned(batch.rows)
        else:
            refused = await self._split(batch.rows)
        bad.extend(refused)
        bad.sort(key=lambda b: b.line)
        return BatchResult(len(batch.rows) - len(refused), bad)

    async def _owned(self, rows: list[Row]) -> list[BadRow]:
        owner = str(rows[0].item["From_Account"])
        lock, users = self._owners.get(owner, (asyncio.Lock(), 0))
        self._owners[owner] = (lock, users + 1)
        try:
            async with lock:
                return await self._split(rows)
        finally:
            lock, users = self._owners[owner]
            if users == 1:
                del self._owners[owner]
            else:
                self._owners[owner] = (lock, users - 1)

    async def _send(self, rows: list[Row]) -> dict[str, Any]:
        if self.kind == "accounts":
            body = {"AccountList": [r.item for r in rows]}
            return await self.client.call("im_open_login_svc", "multiaccount_import", body)
        body = import_rows.friend_request(rows)
        return await self.client.call("sns", "friend_import", body)

    async def _split(self, rows: list[Row]) -> list[BadRow]:
        """Import `rows` in one request; when the server refuses it as a whole, the halves
        separately, down to single rows, which are then bad with the server's ErrorCode."""
        reply = await self._send(rows)
        code = int(reply.get("ErrorCode", 0))
        if code == 0:
            if self.kind == "accounts":
                return import_rows.account_failures(rows, reply)
            return import_rows.friend_failures(rows, reply)
        _check_fatal(reply)
        if len(rows) == 1:
            return [BadRow(rows[0].line, str(reply.get("ErrorInfo", "")), code)]
        half = len(rows) // 2
        return await self._split(rows[:half]) + await self._split(rows[half:])

    async def _group(self, row: Row) -> BadRow | None:
        body, members = import_rows.group_request(row)
        reply = await self.client.call("group_open_http_svc", "import_group", body)
        code = int(reply.get("ErrorCode", 0))
        if code:
            _check_fatal(reply)
            return BadRow(row.line, str(reply.get("ErrorInfo", "")), code)
        group_id = reply.get("GroupId") or body.get("GroupId")
        missing: list[str] = []
        for chunk in import_rows.chunks(members, import_rows.MEMBERS_PER_REQUEST):
            request = {"GroupId": group_id, "MemberList": chunk}
            answer = await self.client.call("group_open_http_svc", "import_group_member", request)
            code = int(answer.get("ErrorCode", 0))
            if code:
                _check_fatal(answer)
                info = answer.get("ErrorInfo", "")
                return BadRow(
                    row.line, f"group {group_id} imported, its members refused: {info}", code
                )
            missing.extend(import_rows.member_failures(answer))
        if missing:
            names = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            return BadRow(
                row.line, f"group {group_id} imported; {len(missing)} members not: {names}"
            )
        return None


def _check_fatal(reply: dict[str, Any]) -> None:
    code = int(reply.get("ErrorCode", 0))
    if code in FATAL_CODES:
        raise ImportStopped(f"ErrorCode {code}: {reply.get('ErrorInfo', '')}")


def count_lines(path: Path) -> int:
    lines = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


@dataclass(slots=True)
class RunResult:
    imported: int = 0
    bad: int = 0
    stopped: str | None = None


async def import_batches(
    importer: Importer,
    batches: Iterator[Batch],
    state: ImportState,
    commit: Callable[[ImportState, list[BadRow]], None],
    concurrency: int,
) -> RunResult:
    """Run batches `concurrency` at a time. A batch is committed (state advanced, its bad rows
    reported through `commit`) once every batch before it is, so the state's line is always a
    line before which everything is done."""
    result = RunResult()
    finished: dict[int, tuple[Batch, BatchResult]] = {}
    next_commit = 0
    slots = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()

    async def one(index: int, batch: Batch) -> None:
        nonlocal next_commit
        try:
            finished[index] = (batch, await importer.run(batch))
        except (StackUnavailable, ImportStopped) as exc:
            result.stopped = result.stopped or str(exc)
            return
        except (ValueError, KeyError, TypeError) as exc:
            # A reply not shaped as Tencent documents it: stop, keeping what is committed.
            result.stopped = result.stopped or f"unexpected reply: {type(exc).__name__}: {exc}"
            return
        finally:
            slots.release()
        while next_commit in finished:
            done, outcome = finished.pop(next_commit)
            next_commit += 1
            state.line = done.last_line
            state.imported += outcome.imported
            state.bad += len(outcome.bad)
            result.imported += outcome.imported
            result.bad += len(outcome.bad)
            commit(state, outcome.bad)

    # The latest batch to create each entity: a batch waits for those it shares one with.
    latest: dict[str, asyncio.Task[None]] = {}
    for index, batch in enumerate(batches):
        keys = entity_keys(importer.kind, batch.rows)
        earlier = {latest[k] for k in keys if k in latest and not latest[k].done()}
        if earlier:
            await asyncio.wait(earlier)
        await slots.acquire()
        if result.stopped:
            slots.release()
            break
        task = asyncio.create_task(one(index, batch))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        for key in keys:
            latest[key] = task
    if tasks:
        await asyncio.gather(*tasks)
    return result


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines · [green]{task.fields[imported]} imported · [red]{task.fields[bad]} bad"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def import_cmd(
    kind: str = typer.Argument(..., help="accounts, friends or groups"),
    file: Path = typer.Argument(  # noqa: B008
        ..., exists=True, dir_okay=False, help="a CSV or JSONL file"
    ),
    app_id: int = typer.Option(..., "--app", help="the app's SDKAppID"),
    fmt: str | None = typer.Option(None, "--format", help="csv or jsonl (default: by extension)"),
    state_path: Path | None = typer.Option(  # noqa: B008
        None, "--state", help=f"the state file (default: FILE{STATE_SUFFIX})"
    ),
    restart: bool = typer.Option(False, "--restart", help="ignore the state: start at line 1"),
    max_rows: int | None = typer.Option(
        None, "--max-rows", min=1, help="stop after this many rows (a re-run continues)"
    ),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=32, help="requests at once"),
    url: str | None = typer.Option(None, "--url", help="REST base URL (default: demo-app.json)"),
    key: str | None = typer.Option(None, "--key", help="the app's key (default: the data dir)"),
) -> None:
    """Import accounts, friends or groups from CSV or JSONL through REST v4, resumably; each
    bad row is reported with its line number. Exit code 1 when any row was bad."""
    if kind not in import_rows.KINDS:
        raise typer.BadParameter(f"{kind!r} is not one of {', '.join(import_rows.KINDS)}")
    try:
        file_format = import_rows.format_of(file.name, fmt)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    target = resolve_target(app_id, url, key)
    state_file = state_path or file.with_name(file.name + STATE_SUFFIX)
    if restart:
        state_file.unlink(missing_ok=True)
    state = ImportState.load(state_file, kind, app_id, file)
    stderr = Console(stderr=True)
    try:
        outcome, elapsed = asyncio.run(
            _run(
                kind,
                file,
                file_format,
                state,
                state_file,
                target,
                max_rows,
                concurrency,
                stderr,
            )
        )
    except import_rows.BadHeader as exc:
        raise typer.BadParameter(f"{file}: {exc}") from None
    rate = (outcome.imported + outcome.bad) / elapsed if elapsed > 0 else 0.0
    typer.echo(
        f"this run: {outcome.imported} imported, {outcome.bad} bad, {elapsed:.1f} s,"
        f" {rate:.0f} rows/s"
    )
    typer.echo(
        f"in all: {state.imported} imported, {state.bad} bad, up to line {state.line};"
        f" state in {state_file}"
    )
    if outcome.stopped:
        typer.echo(f"stopped: {outcome.stopped}; a re-run continues after line {state.line}")
        raise typer.Exit(EXIT_STOPPED)
    if state.bad:
        raise typer.Exit(EXIT_BAD_ROWS)


async def _run(
    kind: Kind,
    file: Path,
    file_format: str,
    state: ImportState,
    state_file: Path,
    target: Target,
    max_rows: int | None,
    concurrency: int,
    err: Console,
) -> tuple[RunResult, float]:
    total = count_lines(file)
    client = RestClient(target)
    started = time.monotonic()
    try:
        with (
            file.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as lines,
            _progress(err) as progress,
        ):
            task = progress.add_task(
                f"{kind} → app {target.sdkappid}",
                total=total,
                completed=state.line,
                imported=state.imported,
                bad=state.bad,
            )

            def commit(current: ImportState, bad: list[BadRow]) -> None:
                for row in bad:
                    progress.console.print(
                        row.describe(), markup=False, highlight=False, soft_wrap=True
                    )
                current.save(state_file)
                progress.update(
                    task, completed=current.line, imported=current.imported, bad=current.bad
                )

            rows = (e for e in import_rows.parse(kind, file_format, lines) if e.line > state.line)
            limited = rows if max_rows is None else islice(rows, max_rows)
            batches = import_rows.batches(kind, limited)
            outcome = await import_batches(
                Importer(client, kind), batches, state, commit, concurrency
            )
    finally:
        await client.close()
    return outcome, time.monotonic() - started
