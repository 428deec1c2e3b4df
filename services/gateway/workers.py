"""One gateway process per core: `TIDINGS_GATEWAY_WORKERS` workers behind the same ports.

With more than one worker, `python -m services.gateway.main` starts as a small parent that
runs no event loop and serves nothing: it starts the workers (the same module, with
`TIDINGS_GATEWAY_WORKER` set), passes SIGTERM/SIGINT (and SIGUSR1, the memory report) on to
them, waits for them to drain, and exits. Every worker binds the WebSocket and HTTP ports with
SO_REUSEPORT, so the kernel spreads new connections over them, and is a gateway node of its own:
node id `<node_id>-w<i>`, gRPC on `grpc_port + i` (the address the router delivers to, and the
presence index names), metrics on `metrics_port + i`, its own sessions and presence entries.

The parent, not the launcher, starts the workers so that one setting means the same thing
everywhere: `tidings up` (services/embedded/stack.py), a Kubernetes pod (deploy/) or a plain host
start one process and get N. A worker that exits on its own after running a while is started
again (its clients reconnect to the others meanwhile); one that fails within its first
MIN_UPTIME_S (a port taken, a broken config) stops the whole gateway with its exit code, for
the supervisor above to see. Workers die with the parent (PR_SET_PDEATHSIG): a parent killed
with SIGKILL takes its workers along, as a single gateway process would go.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

from services.common.config import Settings
from services.common.logging import get_logger

log = get_logger(__name__)

MIN_UPTIME_S = 10.0
POLL_S = 0.2
_PR_SET_PDEATHSIG = 1


def worker_env(settings: Settings, index: int, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of worker `index`: its own node id, gRPC and metrics ports."""
    env = dict(environ)
    env["TIDINGS_GATEWAY_WORKERS"] = str(settings.gateway_workers)
    env["TIDINGS_GATEWAY_WORKER"] = str(index)
    env["TIDINGS_NODE_ID"] = worker_node_id(settings.node_id, index)
    env["TIDINGS_GRPC_PORT"] = str(settings.grpc_port + index if settings.grpc_port else 0)
    env["TIDINGS_METRICS_PORT"] = str(settings.metrics_port + index if settings.metrics_port else 0)
    return env


def worker_node_id(node_id: str, index: int) -> str:
    return f"{node_id}-w{index}"


def _die_with_parent() -> None:
    """In the worker, before exec: SIGKILL when the parent goes."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent went before the line above
        os._exit(1)


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    started: float


def supervise(settings: Settings) -> int:
    """Run the workers until SIGTERM or SIGINT; the exit code of the gateway."""
    count = settings.gateway_workers
    stopping = False
    workers: list[_Worker] = []

    def start(index: int) -> _Worker:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.gateway.main"],
            env=worker_env(settings, index, os.environ),
            # The parent runs no threads: preexec_fn is safe here.
            preexec_fn=_die_with_parent,
        )
        return _Worker(index, proc, time.monotonic())

    def signal_all(signum: int) -> None:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signum)

    def on_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        signal_all(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGUSR1, lambda signum, _frame: signal_all(signum))
    workers.extend(start(i) for i in range(count))
    log.info("workers started", workers=count, pids=[w.proc.pid for w in workers])
    while True:
        time.sleep(POLL_S)
        if stopping:
            if all(w.proc.poll() is not None for w in workers):
                return 0
            continue
        for slot, w in enumerate(workers):
            code = w.proc.poll()
            if code is None:
                continue
            if time.monotonic() - w.started < MIN_UPTIME_S:
                log.error("worker failed at start; stopping the gateway", worker=w.index, code=code)
                stopping = True
                signal_all(signal.SIGTERM)
                _reap(workers)
                return code or 1
            log.warning("worker exited; starting it again", worker=w.index, code=code)
            workers[slot] = start(w.index)


def _reap(workers: list[_Worker], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for w in workers:
        try:
            w.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait()
