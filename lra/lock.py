"""One run per workdir: a running `train` holds `<workdir>/.lock`; a second one refuses at once.

The lock is the kernel's (flock): it is released when its process ends, however it ends (a
crash, SIGKILL, a node lost by the scheduler), so a lock left by a dead process is simply taken
over by the next run; nothing needs cleaning up by hand. On NFS, Linux maps flock to the server's
byte-range locks, so a process on another host sees it too. The file says who holds it (host,
process id, start time) for the message of the one refused.

A refused run writes nothing; a run that takes the lock and then stops before training (a bad
config, missing data) leaves the workdir as it found it: the lock file goes, and so does the
folder if the lock made it.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import socket
from pathlib import Path

from lra.errors import TrainingError

NAME = ".lock"


def holder(workdir: str | Path) -> dict | None:
    """Who holds (or last held) the workdir's lock, as its file says; None if there is none."""
    try:
        return json.loads((Path(workdir) / NAME).read_text() or "null")
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_locked(workdir: str | Path) -> bool:
    """True while a live process holds the workdir's lock (a sweep's "running")."""
    try:
        fd = os.open(Path(workdir) / NAME, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _refusal(workdir: Path) -> TrainingError:
    who = holder(workdir) or {}
    return TrainingError(
        f"{workdir} is in use by another run: process {who.get('pid', '?')} on host "
        f"{who.get('host', '?')} (since {who.get('since', '?')}) holds {workdir / NAME}; nothing "
        "was changed. Wait for it to end or stop it (SIGTERM saves it), or pass another --workdir.")


def _open_locked(path: Path) -> int:
    """An fd of `path` holding its exclusive lock, or raises BlockingIOError. Retries if the file
    was replaced between open and lock (a holder removing it as it let go)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            os.close(fd)
            raise
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # we locked a file that is no longer there: take the new one


@contextlib.contextmanager
def workdir_lock(workdir: str | Path, *, enabled: bool = True):
    """Holds the workdir's lock for the `with` body (disabled: a process that writes nothing,
    e.g. the other processes of a multi-host run)."""
    workdir = Path(workdir)
    if not enabled:
        yield
        return
    made = not workdir.exists()
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / NAME
    try:
        fd = _open_locked(path)
    except BlockingIOError:
        raise _refusal(workdir) from None
    except OSError as e:
        if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
            raise TrainingError(f"{workdir}: its filesystem does not support file locks ({e}); "
                                "put the workdir on one that does") from None
        raise
    me = {"host": socket.gethostname(), "pid": os.getpid(),
          "since": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # while still holding it (see _open_locked)
        os.close(fd)
        if made:
            with contextlib.suppress(OSError):
                workdir.rmdir()  # only if the run wrote nothing into the folder it made
