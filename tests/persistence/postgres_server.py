"""A throwaway PostgreSQL server on loopback for the test session.

``start()`` makes a cluster in a temporary directory (``initdb``, trust on loopback,
fsync off), starts it on 127.0.0.1 at a free port and gives back a DSN and a stop
function. Under root it runs the server as the ``postgres`` system user, as PostgreSQL
refuses to run as root. ``.ci/run`` installs the distribution's ``postgresql`` package,
so CI always has one; elsewhere, without PostgreSQL installed, the tests that need it
are skipped with the reason (never under ``CI=1``: there, failing to start is an error).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["binaries", "start"]


def binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or ``None`` without PostgreSQL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start() -> tuple[str, Callable[[], None]]:
    """Start a server; return its DSN and the function that stops and removes it.

    Raises:
        RuntimeError: PostgreSQL is not installed, or the server would not start.
    """
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb found)")
    folder = Path(tempfile.mkdtemp(prefix="orkes-pg-"))
    data = folder / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*command: str) -> None:
        done = subprocess.run(
            [*as_user, *command], capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
    options = f"-h 127.0.0.1 -p {port} -k {folder} -F -c max_connections=50"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
        "-w", "start")  # fmt: skip

    def stop() -> None:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)

    return f"host=127.0.0.1 port={port} user=postgres dbname=postgres", stop
