"""The record of a mailing in one file: ``dispatch archive MAILING --out FILE.zip``.

The zip holds what was approved (the approval folder: its manifest and every message's
``.eml`` exactly as sent, PDF letters included), the journal (what was sent to whom,
when, under which approval; a consistent copy made with SQLite's backup API, never a
file copy of a live database) and a report written now (``report.xlsx``)::

    approved/<approval>/manifest.json
    approved/<approval>/messages/<lang>/<stem>.eml
    journal.sqlite3
    report.xlsx
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from dispatch.approval import Approval, current_approval
from dispatch.errors import InvalidInput, Location, Problem
from dispatch.files import cannot_write, write_atomic
from dispatch.journal import Journal
from dispatch.mailing import Mailing, load_mailing
from dispatch.paths import JOURNAL_FILE, approval_dir, journal_path
from dispatch.prepare import contacts_path_for
from dispatch.report import write_report

__all__ = ["Archived", "archive_mailing"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Archived:
    """What :func:`archive_mailing` wrote: the zip, its members, the approval in it."""

    path: Path
    members: tuple[str, ...]
    approval: Approval


def archive_mailing(
    mailing: PathLike, out: PathLike, *, contacts: PathLike | None = None
) -> Archived:
    """Pack the approval, the journal and a fresh report of ``mailing`` into ``out`` (.zip).

    Raises :class:`~dispatch.errors.InvalidInput` if the mailing has no approval or no
    journal, or if ``out`` is not a ``.zip`` or is one of the mailing's inputs or
    records (it would be destroyed).
    """
    loaded = load_mailing(Path(mailing))
    target = Path(out)
    workbook = contacts_path_for(loaded, Path(contacts) if contacts is not None else None)
    approval = current_approval(loaded)
    journal = journal_path(loaded.folder)
    problems = _refusals(loaded, target, workbook, approval, journal)
    if problems:
        raise InvalidInput(problems)
    assert approval is not None
    members: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dispatch-archive-") as scratch:
        copy = Path(scratch) / JOURNAL_FILE
        report = Path(scratch) / "report.xlsx"
        with Journal.open(journal, readonly=True) as opened:
            opened.backup(copy)
            write_report(loaded, opened, report, contacts_path=workbook)
        packed = Path(scratch) / "archive.zip"
        with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            base = approval.folder.parent.parent  # the mailing folder
            for path in sorted(p for p in approval.folder.rglob("*") if p.is_file()):
                name = path.relative_to(base).as_posix()
                archive.write(path, name)
                members.append(name)
            for path in (copy, report):
                archive.write(path, path.name)
                members.append(path.name)
        try:
            write_atomic(target, packed.read_bytes())
        except OSError as error:
            raise cannot_write(target, error) from None
    return Archived(target, tuple(members), approval)


def _refusals(
    mailing: Mailing, target: Path, workbook: Path, approval: Approval | None, journal: Path
) -> list[Problem]:
    problems: list[Problem] = []
    if approval is None:
        problems.append(
            Problem(
                Location(file=mailing.path),
                "has no approval to archive",
                "Approve it with dispatch approve, send it, then archive it.",
            )
        )
    if not journal.exists():
        problems.append(
            Problem(
                Location(file=journal),
                "does not exist: nothing was sent for this mailing yet",
                "Run dispatch send first.",
            )
        )
    if target.suffix.lower() != ".zip":
        problems.append(
            Problem(
                Location(file=str(target)),
                "an archive is written as .zip",
                "End the name of --out with .zip.",
            )
        )
    inputs = [mailing.path, workbook, journal, workbook.with_suffix(".categories.csv")]
    inputs += [p for a in mailing.annexes if (p := mailing.annex_path(a)) is not None]
    where = target.resolve()
    for source in inputs:
        if where == source.resolve() or (
            source.exists() and target.exists() and os.path.samefile(source, target)
        ):
            problems.append(
                Problem(
                    Location(file=str(target)),
                    f"is one of the mailing's inputs ({source}); the archive would replace it",
                    "Give --out a new file name, such as archive.zip beside the mailing.",
                )
            )
            break
    for folder in (approval_dir(mailing.folder), journal.parent):
        if where.is_relative_to(folder.resolve()):
            problems.append(
                Problem(
                    Location(file=str(target)),
                    f"is inside {folder}, which the archive is made from",
                    "Write the archive beside the mailing, such as archive.zip.",
                )
            )
    return problems
