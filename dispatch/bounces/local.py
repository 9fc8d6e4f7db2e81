"""Messages from a source on disk (mbox, Maildir, ``.eml`` files), read with bounded work.

Only what the source itself holds is read: a Maildir entry or an ``.eml`` file that is a
symbolic link is not followed (it could point anywhere, ``/dev/zero`` or a private file),
and only regular files are opened (a named pipe would wait for a writer for ever, a
device never ends). A file's size is checked before it is read and no more than
:data:`~dispatch.bounces.limits.MAX_MESSAGE_BYTES` is ever read; an mbox is split line
by line in bounded pieces rather than loaded whole. What is left is a
:class:`~dispatch.bounces.limits.Skipped` with the reason; the rest is still read.

The path the user names (the mbox, the Maildir, the folder) may itself be a link: the
user chose it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dispatch.bounces.errors import BounceError
from dispatch.bounces.limits import Item, Raw, Skipped, too_large

__all__ = ["eml_files", "maildir", "mbox", "read_file"]


_OPEN = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_OPEN |= getattr(os, "O_CLOEXEC", 0)
_CHUNK = 64 * 1024  # the longest piece of an mbox line held at once


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _not_regular(mode: int) -> str | None:
    """Why a file of ``mode`` is not read, or None for a regular file."""
    if stat.S_ISLNK(mode):
        return "is a link: not followed (only the files of the source itself are read)"
    if not stat.S_ISREG(mode):
        return f"is {_kind(mode)}, not a message file: not read"
    return None


def read_file(path: Path, limit: int) -> Item:
    """The bytes of the regular file ``path``, or why it is skipped. Never follows a link,
    never opens anything but a regular file, never reads more than ``limit + 1`` bytes."""
    where = str(path)
    try:
        info = path.lstat()
    except OSError as error:
        return Skipped(where, f"cannot be read ({error.strerror or error})")
    reason = _not_regular(info.st_mode)
    if reason is None and info.st_size > limit:
        reason = too_large(info.st_size, limit)
    if reason is not None:
        return Skipped(where, reason)
    try:
        fd = os.open(path, _OPEN)
    except OSError as error:  # replaced by a link since (ELOOP) or gone
        return Skipped(where, f"cannot be read ({error.strerror or error})")
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        reason = _not_regular(opened.st_mode)
        if reason is not None:  # replaced between the look and the open
            return Skipped(where, reason)
        # read(n) reserves n bytes first: ask for the size the file has, not the limit
        data = handle.read(min(opened.st_size, limit) + 1)
        if len(data) > opened.st_size:  # it grows as we read: still never past the limit
            data += handle.read(limit + 1 - len(data))
    if len(data) > limit:
        return Skipped(where, too_large(len(data), limit))
    return Raw(where, data)


def eml_files(path: Path, limit: int) -> Iterator[Item]:
    """Each ``.eml`` file of the folder ``path`` (or the one file ``path``)."""
    if not path.is_dir():
        yield read_file(path.resolve(), limit)
        return
    try:
        with os.scandir(path) as entries:
            names = sorted(e.name for e in entries if e.name.lower().endswith(".eml"))
    except OSError as error:
        raise unreadable(path, error) from None
    if not names:
        raise BounceError(
            str(path),
            "holds no .eml file",
            "Export the notifications as .eml files into it (drag them out of Outlook "
            "or Thunderbird), or give a Maildir, an mbox file or an IMAP address.",
        )
    for name in names:
        yield read_file(path / name, limit)


def maildir(path: Path, limit: int) -> Iterator[Item]:
    """Each message of the Maildir ``path`` (``new`` and ``cur``), in the order of their
    unique names. Nothing is moved or marked: the Maildir is left as it was."""
    found: list[tuple[str, Path]] = []
    for sub in ("new", "cur"):
        folder = path / sub
        try:
            mode = folder.lstat().st_mode
        except OSError as error:
            raise unreadable(folder, error) from None
        if not stat.S_ISDIR(mode):
            yield Skipped(str(folder), _not_regular(mode) or "is not a folder: not read")
            continue
        try:
            with os.scandir(folder) as entries:
                found.extend(
                    (e.name.split(":", 1)[0], folder / e.name)
                    for e in entries
                    if not e.name.startswith(".")
                )
        except OSError as error:
            raise unreadable(folder, error) from None
    for _, file in sorted(found):
        yield read_file(file, limit)


def mbox(path: Path, limit: int) -> Iterator[Item]:
    """Each message of the mbox file ``path``, split as :class:`mailbox.mbox` splits it
    (at each line starting ``From ``, the blank line before it not part of the message),
    but never holding more than ``limit`` bytes of one message."""
    try:
        fd = os.open(path, _OPEN & ~getattr(os, "O_NOFOLLOW", 0))  # the user named it
    except OSError as error:
        raise unreadable(path, error) from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise BounceError(
                str(path),
                f"is {_kind(mode)}, not an mbox file",
                "Give an mbox file, a Maildir, a folder of .eml files, or a single .eml file.",
            )
        if handle.read(5) not in (b"", b"From "):
            raise BounceError(
                str(path),
                'is not an mbox file (an mbox starts with a line beginning with "From ")',
                "Give an mbox file, a Maildir, a folder of .eml files, or a single .eml file.",
            )
        handle.seek(0)
        yield from _split(handle, str(path), limit)


def _split(handle: BinaryIO, where: str, limit: int) -> Iterator[Item]:
    number = size = 0
    parts: list[bytes] = []
    started = last_was_empty = in_from_line = False
    at_line_start = True

    def message() -> Item:
        if size > limit:
            return Skipped(f"{where}, message {number}", too_large(size, limit))
        data = b"".join(parts)
        return Raw(f"{where}, message {number}", data[:-1] if last_was_empty else data)

    while True:
        line = handle.readline(_CHUNK)
        if not line:
            break
        starts_line, at_line_start = at_line_start, line.endswith(b"\n")
        if in_from_line:  # the rest of a long "From " line
            in_from_line = not at_line_start
            continue
        if starts_line and line.startswith(b"From "):
            if started:
                yield message()
            number += 1
            started, size, parts, last_was_empty = True, 0, [], False
            in_from_line = not at_line_start
            continue
        if not started:
            continue
        size += len(line)
        if size <= limit:
            parts.append(line)
        else:
            parts = []  # over the limit: counted, not kept
        last_was_empty = starts_line and line == b"\n"
    if started:
        yield message()


def unreadable(path: Path, error: OSError) -> BounceError:
    return BounceError(
        str(path),
        f"cannot be read ({error.strerror or error})",
        "Check that it exists and that you may read it.",
    )
