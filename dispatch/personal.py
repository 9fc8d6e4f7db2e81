"""Files for one addressee only: a visa-support letter, a badge, a hotel confirmation.

Two ways name them, both relative to the mailing's folder:

* the workbook's ``attachments`` column: ``visas/anne.pdf; badges/anne.pdf``;
* an annex of the mailing with ``per_addressee = true`` and a file name that is a
  pattern, ``file = "visas/{{ addressee.email }}.pdf"``, filled for each addressee.

Each file is checked before anything is written or sent, and the problem names the row:
a missing file, a file outside the mailing's folder, a link, a file above the message
size limit. A checked file carries its size and digest, which the message, the
approval, the fingerprint and the archive use.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from dispatch.errors import Location, Problem

__all__ = ["MB", "PersonalFile", "check_file", "check_files"]

MB = 1024 * 1024


@dataclass(frozen=True)
class PersonalFile:
    """A file attached to one addressee's message (and listed in their letter)."""

    name: str  # as the mailing's folder names it: visas/anne@example.org.pdf
    path: Path
    size: int
    sha256: str
    annex: int | None = None  # the per-addressee annex it fills, or None: the column

    @property
    def filename(self) -> str:
        """The name the message gives the attachment: the file's own name."""
        return self.path.name


def check_file(
    folder: Path, name: str, where: Location, source: str, limit_mb: float
) -> PersonalFile | Problem:
    """The file ``name`` (relative to ``folder``) for one addressee, or what is wrong.

    ``where`` is the addressee's row; ``source`` says what names the file (``the
    attachments column``, ``annexes[0].file``).
    """

    def problem(what: str, hint: str) -> Problem:
        return Problem(where, f"{source} names {name!r}, which {what}", hint)

    base = folder.resolve()
    try:
        relative = Path(os.path.normpath(name))
        candidate = base / relative
        if relative.is_absolute() or not candidate.resolve().is_relative_to(base):
            return problem(
                "is outside the mailing's folder",
                f"Put the file in {folder} and name it relative to that folder.",
            )
        linked = any(
            (base / Path(*relative.parts[: i + 1])).is_symlink() for i in range(len(relative.parts))
        )
        if linked:
            return problem(
                "is a link",
                "Put the file itself in the mailing's folder, not a link to it.",
            )
        if not candidate.is_file():
            return problem(
                "does not exist",
                f"Put the file in {folder}, or correct its name.",
            )
        data = candidate.read_bytes()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long, no permission
        reason = getattr(exc, "strerror", None) or "is not a usable file name"
        return problem(f"cannot be read ({reason})", "Check the file's name and permissions.")
    if len(data) * 4 / 3 > limit_mb * MB:  # base64 makes it a third bigger on the wire
        return problem(
            f"is {len(data) / MB:.1f} MB: the message would be above the limit of {limit_mb:g} MB",
            "Make the file smaller, link to it instead, or raise max_message_mb.",
        )
    return PersonalFile(name, candidate, len(data), hashlib.sha256(data).hexdigest())


def check_files(
    folder: Path, names: Iterable[tuple[str, str, int | None]], row: Location, limit_mb: float
) -> list[PersonalFile | Problem]:
    """Each of one addressee's files, checked: ``names`` are (name, what names it, the
    per-addressee annex it fills or None for the ``attachments`` column); ``row`` is
    their row, its column the attachments column's."""
    out: list[PersonalFile | Problem] = []
    for name, source, annex in names:
        where = row if annex is None else replace(row, column=None)
        checked = check_file(folder, name, where, source, limit_mb)
        out.append(checked if isinstance(checked, Problem) else replace(checked, annex=annex))
    return out
