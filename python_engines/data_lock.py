"""One horizonscale command at a time per data directory: build, publish, load, undo and generate exclude each other.

DuckDB's own lock on the warehouse is not enough. It is held only while a process has the file open: dbt opens
it seconds after `horizonscale build` starts and closes it before the serving copy is published, and `generate`
and `load` do not open it at all before they delete it (with the lake the build's engines are writing). A `load`
run while a build ran deleted the lake under the build's engines (a wall of pyarrow traceback) and the warehouse
under its dbt; two publishes at once deleted each other's Parquet exports.

So each command that writes the data directory holds an exclusive ``flock`` on the directory itself for its whole
run. The kernel drops it when the process dies, however it dies (``kill -9`` too), so there is no lock file to go
stale, and nothing is written into the directory. A second command is refused at once with one line naming the
process that holds it (from ``/proc/locks`` on Linux).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

PROC_LOCKS = Path("/proc/locks")


class DataDirBusyError(RuntimeError):
    """Another process holds the data directory's lock: the message names it and says what to do."""


def _lock_key(path: Path) -> str:
    """How /proc/locks names the inode of ``path``: ``MAJOR:MINOR:INODE`` (device numbers in hex)."""
    stat = path.stat()
    return f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"


def flock_holders(locks_text: str, key: str) -> list[int]:
    """PIDs holding (not waiting for) a FLOCK on the inode ``key`` in the text of /proc/locks."""
    holders = []
    for line in locks_text.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 14324 fe:00:2441628 0 EOF"; a blocked waiter has "->" after the number.
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == key and fields[4].isdigit():
            holders.append(int(fields[4]))
    return holders


def lock_holder(directory: Path) -> int | None:
    """The PID holding ``directory``'s flock, when the kernel says (Linux); None otherwise."""
    try:
        holders = flock_holders(PROC_LOCKS.read_text(), _lock_key(directory))
    except OSError:
        return None
    others = [pid for pid in holders if pid not in (0, os.getpid())]
    return others[0] if others else None


def busy_message(directory: Path, command: str, pid: int | None) -> str:
    """One line: which process works on ``directory`` and what to do."""
    from python_engines.dbt_process import _program_of

    who = "another horizonscale command"
    if pid is not None:
        program = _program_of(pid)
        who = f"another process, PID {pid}" + (f" ({program})" if program else "")
    wait = f"wait for it to finish, or stop it (kill {pid})" if pid is not None else "wait for it to finish"
    return (
        f"the data directory {directory} is in use by {who}: `horizonscale {command}` changes it and cannot run at "
        f"the same time; {wait}, then run this command again"
    )


@contextlib.contextmanager
def exclusive(directory: Path, command: str) -> Iterator[None]:
    """Hold ``directory``'s exclusive lock for the block; DataDirBusyError when another process holds it.

    A directory that does not exist yet is created to be locked (a first `horizonscale run` builds for minutes in
    it), and removed again if the command left it empty (a first `load` that failed leaves no directory behind).
    """
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            raise DataDirBusyError(busy_message(directory, command, lock_holder(directory))) from exc
        log.debug("holding the lock of %s for %s", directory, command)
        try:
            yield
        finally:
            if created:
                with contextlib.suppress(OSError):  # not empty: the command wrote there
                    directory.rmdir()
    finally:
        os.close(fd)  # closing the only descriptor releases the flock
