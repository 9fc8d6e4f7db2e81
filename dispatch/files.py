"""Files dispatch writes: created whole or not at all, never through a planted link.

Every file dispatch writes (a letter, a message, the report) goes to a temporary file
*created* in the target folder (``O_CREAT | O_EXCL | O_NOFOLLOW``: if anything exists at
that name, a symbolic link planted there included, the creation fails and another name
is tried; where the system has no ``O_NOFOLLOW``, as on Windows, ``lstat`` checks the
name before and the created file after) and is then renamed over the target, so a full
disk or a killed run never leaves half a file, and a link planted in an output folder
never redirects a letter.

Personal data (the journal, the lock, ``.eml`` files, the report) is created ``0600``
and its folders ``0700`` whatever the umask (``private=True``, :func:`private_dir`): a
mailing folder on a shared machine must not show who was written to.

Why not :func:`tempfile.mkstemp`: it is as safe (it uses the same flags) but draws a
random name for every file, which costs about four times the rest of the work of a
small file (measured: 0.63 ms against 0.15 ms per 1 kB file); a render of 10 000 letters
writes 20 000 files. The names here are the process id and a counter, with a random
suffix only when a name is taken.
"""

from __future__ import annotations

import errno
import itertools
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dispatch.errors import InvalidInput, Location, OutputError, Problem

__all__ = [
    "FILE_MODE",
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "Output",
    "cannot_write",
    "check_output_path",
    "input_problems",
    "open_no_follow",
    "private_dir",
    "write_atomic",
]

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Letters that are not personal data are ordinary documents: they follow the umask.
FILE_MODE = 0o666 & ~_umask()

# O_NOFOLLOW and O_CLOEXEC are POSIX (Windows has neither); O_BINARY is Windows' own (its
# os.open writes text, turning \n into \r\n, without it). Where O_NOFOLLOW is missing,
# _create_temporary checks with lstat that no link stands at the name, before and after.
_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | _NOFOLLOW
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_counter = itertools.count()  # next() on a count is atomic under the GIL
_ATTEMPTS = 100


def _create_temporary(folder: Path, name: str, mode: int) -> tuple[int, Path]:
    """A new file in ``folder``, created by this call (never an existing file or link)."""
    base = f".{name}.{os.getpid()}.{next(_counter)}"
    for attempt in range(_ATTEMPTS):
        tmp = folder / (f"{base}.tmp" if attempt == 0 else f"{base}.{secrets.token_hex(6)}.tmp")
        if not _NOFOLLOW and os.path.lexists(tmp):
            continue  # something is there, a link maybe: another name
        try:
            fd = os.open(tmp, _FLAGS, mode)
        except FileExistsError:
            continue  # something is there (maybe planted): another name
        if not _NOFOLLOW and not _is_created_file(fd, tmp):
            os.close(fd)
            raise FileExistsError(errno.EEXIST, "a link was planted at the name", str(tmp))
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def _is_created_file(fd: int, path: Path) -> bool:
    """Without O_NOFOLLOW: ``path`` is the very file ``fd`` was opened on, not a link."""
    try:
        named = os.lstat(path)
    except OSError:
        return False
    return os.path.samestat(named, os.fstat(fd)) and not os.path.islink(path)


def write_atomic(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path`` through an exclusively created temporary file and a rename.

    ``private=True``: the file is ``0600`` whatever the umask (personal data: messages,
    the report). The folder is created if missing (``0700`` when private). Raises
    :class:`~dispatch.errors.OutputError` naming the file and what to do; no temporary
    file is left behind.

    >>> import tempfile
    >>> letter = Path(tempfile.mkdtemp()) / "fr" / "dupont.eml"
    >>> write_atomic(letter, b"...", private=True)
    >>> letter.read_bytes(), oct(letter.stat().st_mode & 0o777)
    (b'...', '0o600')
    """
    path = Path(path)
    mode = PRIVATE_FILE_MODE if private else FILE_MODE
    try:
        fd, tmp = _create_temporary(path.parent, path.name, mode)
    except FileNotFoundError:
        try:
            if private:
                private_dir(path.parent, tighten=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _create_temporary(path.parent, path.name, mode)
        except OSError as exc:
            raise cannot_write(path.parent, exc) from None
    except OSError as exc:
        raise cannot_write(path.parent, exc) from None
    try:
        try:
            if private and hasattr(os, "fchmod"):  # POSIX; Windows has no such modes
                os.fchmod(fd, PRIVATE_FILE_MODE)  # exact, even under an odd umask
            view = memoryview(data)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)  # replaces a link at `path` itself, never its target
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise cannot_write(path, exc, left="no half-written file was left") from None


def open_no_follow(path: Path) -> int:
    """Open ``path`` for reading, never through a symbolic link: ``O_NOFOLLOW`` where the
    system has it, else (Windows) an ``lstat`` check first. Returns the descriptor; an
    :class:`OSError` (``ELOOP`` for a link) otherwise."""
    if not _NOFOLLOW and os.path.islink(path):
        raise OSError(errno.ELOOP, "is a symbolic link", str(path))
    flags = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    return os.open(path, flags)


def private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Make sure the folder ``path`` exists; the folders created here are ``0700``.

    ``tighten=True`` also takes away the group's and others' access to ``path`` if it
    already exists and belongs to this user (a ``.dispatch`` folder made by an older
    version under umask 022). Raises :class:`~dispatch.errors.OutputError`.
    """
    path = Path(path)
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=PRIVATE_DIR_MODE)
            except FileExistsError:
                continue  # made meanwhile by another thread or process
            os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode passes through the umask
        if tighten and not missing:
            status = os.stat(path)
            owner = getattr(os, "geteuid", None)  # POSIX only: Windows has ACLs, not modes
            if owner is not None and status.st_uid == owner() and status.st_mode & 0o077:
                os.chmod(path, PRIVATE_DIR_MODE)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    return path


_HINTS = {
    errno.ENOSPC: "The disk is full: free some space (or choose another folder) and run again.",
    errno.EDQUOT: "Your disk quota is used up: free some space and run again.",
    errno.EFBIG: "The file is larger than this system allows: free space or raise the limit.",
    errno.EROFS: "The folder is on a read-only disk: copy the mailing to a writable disk, "
    "or choose another folder with --out.",
    errno.EACCES: "You may not write there: ask for write permission, or choose another "
    "folder with --out.",
    errno.EPERM: "You may not write there: ask for write permission, or choose another "
    "folder with --out.",
}


def cannot_write(where: Path, exc: OSError, *, left: str = "") -> OutputError:
    """An :class:`OutputError` for ``exc``: the place, the system's words, what to do."""
    hint = _HINTS.get(
        exc.errno or 0, "Choose another folder with --out, or free some space, and run again."
    )
    reason = exc.strerror or str(exc)
    tail = f" ({left})" if left else ""
    return OutputError(f"{where}: cannot be written ({reason}){tail}. {hint}")


ReportFormat = Literal["xlsx", "csv"]
_REPORT_SUFFIXES: dict[str, ReportFormat] = {".xlsx": "xlsx", ".csv": "csv"}


def check_output_path(out: Path, inputs: Iterable[Path | None]) -> ReportFormat:
    """Refuse an output path that is one of the mailing's ``inputs``; return its format.

    ``inputs`` are the files the mailing is made from (mailing file, workbook,
    categories file, templates, annexes): writing a report over one of them would
    destroy it. A folder among them (the templates folder) refuses anything inside it.
    The same file is recognised through links and other spellings of its path (see
    :func:`input_problems`). The suffix says the format: ``.xlsx`` or ``.csv``; any
    other is refused rather than written in a format its name does not say.

    >>> check_output_path(Path("report.csv"), [Path("contacts.xlsx")])
    'csv'
    """
    out = Path(out)
    problems = input_problems(out, [(None, p) for p in inputs if p is not None])
    fmt = _REPORT_SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        problems.append(
            Problem(
                Location(file=str(out)),
                f"has the suffix {out.suffix or '(none)'!r}; a report is written as .xlsx or .csv",
                "End the name of --out with .xlsx or .csv.",
            )
        )
    if problems:
        raise InvalidInput(problems)
    assert fmt is not None
    return fmt


@dataclass(frozen=True)
class Output:
    """What a command writes, as its messages name it: ``the fix list``, ``--fix-list``,
    and a name to suggest instead (``fix-list.xlsx``)."""

    what: str = "the report"
    option: str = "--out"
    example: str = "report.xlsx"


def input_problems(
    out: Path,
    inputs: Iterable[tuple[str | None, Path]],
    *,
    output: Output = Output(),
    records: Iterable[Path] = (),
    folders: Iterable[str] | None = None,
) -> list[Problem]:
    """Why ``out`` may not be written: it is one of the mailing's ``inputs``; empty if none.

    The one rule of every command that writes (report, archive, fix list, letters,
    preview): nothing dispatch writes replaces what a mailing is made from.

    ``inputs``: ``(label, path)`` of each input (label such as ``"the workbook"``, or
    None to name the path alone). ``out`` is refused when it is one of them however it
    is spelled: the same resolved path, a symbolic link to it, or a hard link (the same
    device and inode); an input that is a folder refuses anything inside it.
    ``records``: folders holding the mailing's records (its approvals, its journal):
    nothing is written inside them. ``folders``: ``out`` is a folder and the command
    writes files into these folders of it (``"."``, ``"fr"``): an input lying in one of
    them is refused, as a letter written there could take its name.
    """
    out = Path(out)
    sources = list(inputs)
    if folders is None:
        problems = _file_problems(out, sources, output)
    else:
        problems = _folder_problems(out, sources, output, folders)
    resolved = out.resolve()
    for folder in records:
        if resolved.is_relative_to(folder.resolve()):
            problems.append(
                Problem(
                    Location(file=str(out)),
                    f"is inside {folder}, where dispatch keeps the mailing's records",
                    f"Write {output.what} elsewhere, such as {output.example} beside the mailing.",
                )
            )
            break
    return problems


def _named(label: str | None, source: Path) -> str:
    return f"{label} {source}" if label else str(source)


def _file_problems(
    out: Path, inputs: list[tuple[str | None, Path]], output: Output
) -> list[Problem]:
    """``out`` is a file: refused if it is an input, or inside an input folder."""
    where = Location(file=str(out))
    for label, source in inputs:
        if source.is_dir():
            if out.resolve().is_relative_to(source.resolve()):
                return [
                    Problem(
                        where,
                        f"is inside {_named(label, source)}, a folder the mailing is made from",
                        f"Write {output.what} outside the mailing's inputs, such as "
                        f"{output.example} beside the mailing.",
                    )
                ]
        elif _same_file(out, source):
            return [
                Problem(
                    where,
                    f"is one of the mailing's inputs ({_named(label, source)}); "
                    f"{output.what} would replace it",
                    f"Give {output.option} a new file name, such as {output.example}.",
                )
            ]
    return []


def _folder_problems(
    out: Path, inputs: list[tuple[str | None, Path]], output: Output, folders: Iterable[str]
) -> list[Problem]:
    """``out`` is a folder written into ``folders``: refused if one holds an input."""
    written = {(out / sub).resolve() for sub in folders}
    for label, source in inputs:
        place = source.resolve()
        if source.is_dir():
            hit = any(w.is_relative_to(place) for w in written)
        else:
            hit = place.parent in written
        if hit:
            return [
                Problem(
                    Location(file=str(out)),
                    f"holds one of the mailing's inputs ({_named(label, source)}); "
                    f"{output.what} written there could replace it",
                    f"Give {output.option} a folder of its own, such as {output.example}.",
                )
            ]
    return []


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return a.resolve() == b.resolve()
