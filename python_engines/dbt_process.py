"""Running ``dbt`` under the CLI: it dies with the CLI, and a warehouse locked by another process is one line.

DuckDB lets one process write a file. If ``horizonscale build`` is killed (``kill -9``, a closed terminal, an
out-of-memory kill) while its ``dbt build`` child runs, an orphaned dbt would keep the warehouse lock and every
next build would fail on it. So dbt runs in its own process group (the CLI can signal it and its engine workers
as one) with a Linux parent-death signal (``prctl(PR_SET_PDEATHSIG)``): the kernel kills dbt the moment the CLI
dies, however it dies. The engine workers then see their pipes close and stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

import duckdb

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h
#: How long dbt may take to stop cleanly after the CLI forwarded a Ctrl-C or SIGTERM.
STOP_GRACE_SECONDS = 30.0
#: DuckDB's lock error names the holder: 'Conflicting lock is held in /usr/bin/python3 (PID 1234) by user x'.
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux; a no-op elsewhere)."""
    prctl = _libc_prctl()
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


def _child_setup(parent_pid: int) -> Callable[[], None]:
    """The ``preexec_fn`` of dbt: die with the CLI; if the CLI already died before that, exit at once."""
    prctl = _libc_prctl()  # resolved in the parent: the child only calls it

    def setup() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)

    return setup


def run_child(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> int:
    """Run ``command`` to completion as a child that cannot outlive this process; its exit code.

    A Ctrl-C or SIGTERM to the CLI is passed on to the child's whole process group (dbt stops cleanly on
    SIGINT), then re-raised here once the child is gone.
    """
    process = subprocess.Popen(
        list(command), cwd=cwd, env=dict(env), process_group=0, preexec_fn=_child_setup(os.getpid())
    )

    def forward_term(signum: int, frame: FrameType | None) -> None:
        _signal_group(process, signal.SIGTERM)
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, forward_term)
    try:
        return process.wait()
    except KeyboardInterrupt:
        _signal_group(process, signal.SIGINT)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        _reap(process)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for a signalled child a while, then kill its group for good."""
    if process.poll() is not None:
        return
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _program_of(pid: int) -> str | None:
    """The command line of ``pid`` (Linux /proc), shortened; None when unknown."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    parts = [w.decode(errors="replace") for w in words if w]
    if not parts:
        return None
    text = " ".join(" ".join([Path(parts[0]).name, *parts[1:]]).split())
    return text if len(text) <= 80 else text[:77] + "..."


def lock_message(path: Path, error: BaseException) -> str | None:
    """One line for a DuckDB lock conflict on ``path``: who holds it and what to do; None for any other error."""
    match = _LOCK_HOLDER.search(str(error))
    if match is None:
        return None
    pid = int(match["pid"])
    program = _program_of(pid) or match["program"]
    return (
        f"{path} is in use by another process, PID {pid} ({program}), and DuckDB lets only one process write it: "
        f"wait for that process to finish, or stop it (kill {pid}), then run this command again"
    )


def warehouse_lock_message(warehouse: Path) -> str | None:
    """Try to open the warehouse for writing, as dbt will: the one-line lock message if another process holds it."""
    if not warehouse.is_file():
        return None
    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.Error as exc:
        message = lock_message(warehouse, exc)
        if message is None:
            log.debug("could not open %s: %s", warehouse, exc)
        return message
    return None
