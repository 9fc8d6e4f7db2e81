"""One run at a time per mailing: an exclusive lock on a file, released when its holder dies.

The lock is the operating system's (``flock`` on POSIX, ``LockFileEx`` on Windows),
taken through the :mod:`filelock` library on a descriptor this module opens itself, so
that the file can also say who holds it. No POSIX-only module is imported here.
"""

from __future__ import annotations

import errno
import os
import socket
import warnings
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from dispatch.errors import JournalError, LockedError, OutputError
from dispatch.files import private_dir
from dispatch.journal.disk import open_private
from dispatch.journal.errors import os_error

__all__ = ["MailingLock"]

# Windows locks byte 0 of the file, and a locked byte cannot be read by another process:
# the holder is written after it, so that a second run can still say who holds the lock.
_HOLDER_AT = 1


class MailingLock:
    """Only one run at a time may work on a mailing: an exclusive lock on a file.

    The lock file holds the holder's process id, host name and start time, so that a
    second run can say who holds it. The system releases the lock when its process
    dies, however it dies, so a lock file left by a killed run never blocks the next.
    The file itself is left in place (removing it would let two runs lock two
    different files of the same name).

        with MailingLock(lock_path(mailing_folder)):
            ...
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`LockedError` at once naming its holder."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path}: this lock is already held by this object")
        try:
            private_dir(self.path.parent)
        except OutputError as error:
            raise JournalError(str(error)) from None
        try:
            fd = open_private(self.path)
        except OSError as error:
            raise os_error(self.path, error, "taking the mailing's lock") from None
        try:
            taken = _lock(fd)
        except OSError as error:
            os.close(fd)
            raise os_error(self.path, error, "taking the mailing's lock") from None
        if not taken:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockedError(
                f"{self.path}: another dispatch run is working on this mailing "
                f"({holder}). Wait for it to finish, or stop that process; a lock left "
                "by a process that no longer exists does not block, so there is no file "
                "to delete."
            )
        started = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            _write(fd, f"\n{os.getpid()} {socket.gethostname()} {started}\n".encode())
        except OSError as error:
            _unlocked(fd)
            os.close(fd)
            raise os_error(self.path, error, "taking the mailing's lock") from None
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (emptying the file first, so nobody reads a stale holder)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            _unlocked(fd)
            os.close(fd)  # closing the last descriptor releases the lock

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _lock(fd: int) -> bool:
    """Lock ``fd`` without waiting: False if another holds it."""
    with warnings.catch_warnings():  # without fcntl, filelock warns that it falls back
        warnings.simplefilter("ignore")
        from filelock import lock_descriptor  # only a run that locks loads it

    try:
        return lock_descriptor(fd, blocking=False)
    except OSError as error:
        if error.errno in _HELD:
            return False
        if error.errno != errno.ENOSYS or not hasattr(os, "lockf"):
            raise
    return _lock_posix_record(fd)


_HELD = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
_LOCKED_HERE: set[tuple[int, int]] = set()  # (device, inode) of files this process locked


def _lock_posix_record(fd: int) -> bool:
    """The lock where Python has no ``fcntl`` module but the system has ``lockf``.

    A POSIX record lock, released when the process dies like ``flock``; unlike it, it is
    the process's, not the descriptor's, so a second holder in the same process is
    refused here by hand.
    """
    status = os.fstat(fd)
    here = (status.st_dev, status.st_ino)
    if here in _LOCKED_HERE:
        return False
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        os.lockf(fd, os.F_TLOCK, 0)
    except OSError as error:
        if error.errno in _HELD:
            return False
        raise
    _LOCKED_HERE.add(here)
    return True


def _unlocked(fd: int) -> None:
    """Forget a record lock of this process on ``fd``'s file (closing ``fd`` releases it)."""
    status = os.fstat(fd)
    _LOCKED_HERE.discard((status.st_dev, status.st_ino))


def _write(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, _HOLDER_AT, os.SEEK_SET)
        text = os.read(fd, 512).decode("utf-8", "replace").split()
    except OSError:
        text = []
    if len(text) >= 3:
        return f"process {text[0]} on {text[1]}, started {text[2]}"
    if text:
        return f"process {text[0]}"
    return "a process that is just starting"
