"""The journal's files on disk: created private, connected to, set aside, and told apart.

Beside ``journal.sqlite3`` SQLite keeps ``-wal`` and ``-shm`` while a run works, and
dispatch keeps ``journal.sqlite3.id``, the marker that a journal was written here: a
journal deleted next to it is :class:`~dispatch.journal.errors.JournalMissing`, not a
fresh start.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

from dispatch.errors import JournalError
from dispatch.files import PRIVATE_FILE_MODE, private_dir
from dispatch.journal.errors import JournalMissing, os_error

__all__ = [
    "connect",
    "connect_readonly",
    "evidence_of_sends",
    "marker",
    "open_private",
    "set_aside",
    "sidecars",
]

# O_NOFOLLOW and O_CLOEXEC are POSIX: where they are missing (Windows), open_private
# checks with lstat that no link stands at the name.
_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_ELOOP: int = getattr(errno, "ELOOP", errno.EPERM)
# O_BINARY is Windows' own: without it, its os.write turns \n into \r\n.
_OPEN = (
    os.O_RDWR | os.O_CREAT | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def marker(path: Path) -> Path:
    """The file that says a journal was written here (kept when the journal is deleted)."""
    return path.with_name(path.name + ".id")


def sidecars(path: Path) -> tuple[Path, Path]:
    """SQLite's write-ahead log and shared-memory files beside the journal ``path``."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def evidence_of_sends(path: Path) -> list[Path]:
    """Files beside the journal ``path`` that only a journal leaves: its marker, its WAL.

    Not the lock file: a dry run takes the lock too, and a first send after a dry run
    must not be refused. A journal of the first release has no marker until this version
    opens it once for writing.
    """
    return [p for p in (marker(path), *sidecars(path)) if p.exists()]


def set_aside(path: Path) -> Path | None:
    """Rename the journal ``path`` and the files beside it out of the way; the new name.

    ``journal.sqlite3`` becomes ``journal.set-aside-<UTC time>.sqlite3`` with its WAL
    (still readable with the usual tools). Nothing is deleted. ``None`` if there was no
    journal file (its marker or WAL alone are renamed all the same).
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = path.with_name(f"{path.stem}.set-aside-{stamp}{path.suffix}")
    moves = [(path, target), (marker(path), marker(target))]
    moves += list(zip(sidecars(path), sidecars(target), strict=True))
    try:
        for source, destination in moves:
            if source.exists():
                source.rename(destination)
    except OSError as error:
        raise os_error(path, error, "setting the old journal aside") from None
    return target if target.exists() else None


def open_private(path: Path) -> int:
    """Open (creating it 0600) the file ``path`` for reading and writing, never through a link.

    Where the system has no ``O_NOFOLLOW``, ``lstat`` checks the name before and the
    opened file after. A file made 0644 by an older version is tightened to 0600.
    """
    if not _NOFOLLOW and os.path.islink(path):
        raise OSError(_ELOOP, "a symbolic link stands at the name", str(path))
    fd = os.open(path, _OPEN, 0o600)
    try:
        status = os.fstat(fd)
        if not _NOFOLLOW and not os.path.samestat(os.lstat(path), status):
            raise OSError(_ELOOP, "a symbolic link stands at the name", str(path))
        owner = getattr(os, "geteuid", None)  # POSIX: Windows has ACLs, not modes
        if owner is not None and status.st_uid == owner() and stat.S_IMODE(status.st_mode) != 0o600:
            os.fchmod(fd, PRIVATE_FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def connect(path: Path, *, new_mailing: bool) -> sqlite3.Connection:
    """Connect to the journal ``path`` for writing, creating it (and its folder) private.

    A missing or empty journal next to :func:`evidence_of_sends` is :class:`JournalMissing`
    unless ``new_mailing`` (the evidence is then set aside).
    """
    private_dir(path.parent)
    empty = not path.exists() or path.stat().st_size == 0
    if empty:
        evidence = evidence_of_sends(path)
        if evidence and not new_mailing:
            raise JournalMissing(path, evidence)
        if evidence:  # a stale WAL would be replayed into the new journal
            set_aside(path)
    # SQLite gives the -wal and -shm the mode of the journal file: create it 0600.
    os.close(open_private(path))
    for sidecar in sidecars(path):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(sidecar.stat().st_mode) != 0o600:
                os.chmod(sidecar, PRIVATE_FILE_MODE)
    # A run hands the connection to its journal writer thread while it sends (never to
    # two threads at once): see dispatch.journal.writer.
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


def connect_readonly(path: Path) -> sqlite3.Connection:
    """Connect to the journal ``path`` to read it, changing nothing."""
    if not path.exists():
        evidence = evidence_of_sends(path)
        if evidence:
            raise JournalMissing(path, evidence)
        raise JournalError(
            f"{path}: there is no journal yet: nothing was sent for this "
            "mailing. Run the send command to start it."
        )
    uri = path.resolve().as_uri()
    try:
        connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        connection.execute("PRAGMA schema_version").fetchone()
        return connection
    except sqlite3.OperationalError:
        # A WAL journal on a read-only disk with no -shm cannot be opened read-only
        # (SQLite would create the -shm); with no -wal there is nothing pending, and
        # nobody can write there meanwhile: read the file as it is.
        if any(p.exists() for p in sidecars(path)) or os.access(path.parent, os.W_OK):
            raise
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
