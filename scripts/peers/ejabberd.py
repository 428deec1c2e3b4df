"""ejabberd as a benchmark peer: Debian's package, a local test domain with every shaper and
rate limit lifted, run as a child process (no systemd, no ejabberdctl), stopped by SIGTERM.

    python scripts/peers/ejabberd.py install          # apt-get install ejabberd, if missing
    python scripts/peers/ejabberd.py run [--port P]   # in the foreground until Ctrl-C
    python scripts/peers/ejabberd.py config           # print the config it writes

Why not `ejabberdctl foreground`: as root it re-runs itself as the `ejabberd` user through su
(so the spool and log dirs must belong to that user) and registers an Erlang node name with
epmd, a daemon that outlives it. Started here, the VM has no node name (no distribution, no
epmd), runs as the current user (root on these machines), keeps everything under one temp dir,
and is our direct child, so its pid is the one whose CPU is measured. The command is the one
ejabberdctl builds, plus scheduler flags:

    cd DIR/spool && EJABBERD_CONFIG_PATH=DIR/ejabberd.yml \\
      EJABBERD_LOG_PATH=DIR/logs/ejabberd.log ERL_LIBS=/usr/lib/x86_64-linux-gnu \\
      ERL_MAX_PORTS=65536 ERL_CRASH_DUMP_BYTES=0 \\
      erl -noinput -noshell +K true +P 1000000 +sbwt none +sbwtdcpu none +sbwtdio none \\
          -mnesia dir '"DIR/spool"' -s ejabberd

`+sbwt none` (and the dirty-scheduler variants) stop the Erlang schedulers from spinning while
idle: spinning is counted as CPU time by /proc and would charge ejabberd for waiting, not work.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

DOMAIN = "bench.local"
ERL = "/usr/bin/erl"
ERL_LIBS = "/usr/lib/x86_64-linux-gnu"

CONFIG = """\
# ejabberd for benchmarks: one local domain, plain TCP c2s on loopback, no shapers, no limits.
hosts:
  - {domain}
loglevel: warning
log_rotate_count: 0
listen:
  -
    port: {port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    backlog: 8192
    shaper: c2s_shaper
    access: c2s
    max_fsm_queue: 1000000
# PLAIN over loopback, passwords stored as they are: a login checks a string, no hashing.
auth_method: internal
auth_password_format: plain
# In-band registration (XEP-0077) creates the users; no per-IP registration delay.
registration_timeout: infinity
max_fsm_queue: 1000000
acl:
  local:
    user_regexp: ""
access_rules:
  c2s:
    allow: all
  register:
    allow: all
  muc_create:
    allow: all
shaper_rules:
  c2s_shaper: none
  s2s_shaper: none
  max_user_sessions: 100
modules:
  mod_register:
    access: register
    ip_access: all
  mod_muc:
    host: "conference.@HOST@"
    access_create: muc_create
    max_users: 100000
    max_users_presence: 100000
    history_size: 0
    default_room_options:
      max_users: 100000
      persistent: false
      mam: false
      logging: false
      # Only moderators' presence is broadcast: N occupants joining cost O(N) presences,
      # not O(N^2), as Tidings' Meeting group sends no join notices to every member.
      presence_broadcast: [moderator]
"""


def installed() -> bool:
    return Path(ERL).exists() and any(Path(ERL_LIBS).glob("ejabberd-*"))


def install() -> None:
    """Debian's ejabberd (23.01 on Debian 12). The package's own service is not started:
    there is no systemd here, and policy-rc.d refuses it."""
    if installed():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "ejabberd"],
        check=True,
        env=env,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ejabberd exited with {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"ejabberd does not listen on {port} after {timeout} s")


@dataclass
class Ejabberd:
    port: int = 0
    domain: str = DOMAIN
    base: Path | None = None  # config, spool and logs; a temp dir when None
    keep: bool = False
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    _made_base: bool = False

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self) -> str:
        return CONFIG.format(domain=self.domain, port=self.port)

    def command(self) -> list[str]:
        assert self.base is not None
        spool = self.base / "spool"
        return [
            ERL,
            "-noinput",
            "-noshell",
            *("+K", "true", "+P", "1000000"),
            *("+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none"),
            *("-mnesia", "dir", f'"{spool}"'),
            *("-s", "ejabberd"),
        ]

    def env(self) -> dict[str, str]:
        assert self.base is not None
        return {
            **os.environ,
            "EJABBERD_CONFIG_PATH": str(self.base / "ejabberd.yml"),
            "EJABBERD_LOG_PATH": str(self.base / "logs" / "ejabberd.log"),
            "ERL_LIBS": ERL_LIBS,
            "ERL_MAX_PORTS": "65536",
            "ERL_CRASH_DUMP": str(self.base / "logs" / "erl_crash.dump"),
            "ERL_CRASH_DUMP_BYTES": "0",
        }

    def start(self, timeout: float = 60) -> None:
        install()
        self.port = self.port or free_port()
        if self.base is None:
            self.base = Path(tempfile.mkdtemp(prefix="ejabberd-bench-"))
            self._made_base = True
        for sub in ("spool", "logs"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "ejabberd.yml").write_text(self.config())
        self._log = open(self.base / "logs" / "stdout.log", "ab")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.base / "spool",
            env=self.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Own session: Ctrl-C reaches the benchmark, which stops ejabberd in order.
            start_new_session=True,
        )
        try:
            wait_port(self.port, timeout, self.proc)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM makes the Erlang VM run init:stop(); SIGKILL if it takes longer."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._made_base and self.base is not None and not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> Ejabberd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("install", "run", "config"))
    parser.add_argument("--port", type=int, default=5222)
    parser.add_argument("--dir", type=Path, default=None, help="config, spool and logs")
    args = parser.parse_args()
    server = Ejabberd(port=args.port, base=args.dir, keep=args.dir is not None)
    if args.action == "install":
        install()
    elif args.action == "config":
        sys.stdout.write(server.config())
    else:
        with server:
            print(f"ejabberd pid {server.pid} on {server.address}, domain {server.domain}")
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()


if __name__ == "__main__":
    main()
