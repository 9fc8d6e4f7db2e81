"""The record of a mailing in one file: ``dispatch archive MAILING --out FILE.zip``.

The zip holds what the journal says was sent, under the approvals it names: for each
approval a message went out under, its manifest and the ``.eml`` of each message sent
under it, exactly as approved (PDF letters included; the journal holds the ``Date:``
each was sent with); the journal (what was sent to whom, when, under which approval; a
consistent copy made with SQLite's backup API, never a file copy of a live database);
and a report written now (``report.xlsx``)::

    approved/<approval>/manifest.json
    approved/<approval>/messages/<lang>/<stem>.eml
    journal.sqlite3
    report.xlsx

Nothing is read through a symbolic link: a link planted in an approval folder is left
out and listed. The zip is created 0600 (it names people).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dispatch.approval import Approval, ApprovedMessage, read_recorded
from dispatch.approval_journal import ApprovalRecord, approval_record
from dispatch.errors import InvalidInput, Location, Problem
from dispatch.files import Output, cannot_write, open_no_follow, write_atomic
from dispatch.inputs import mailing_inputs
from dispatch.journal import Journal, JournalRow
from dispatch.mailing import Mailing, load_mailing
from dispatch.paths import JOURNAL_FILE, journal_path
from dispatch.prepare import contacts_path_for, templates_path_for
from dispatch.progress import OnProgress, Step, finish, start
from dispatch.report import write_report

__all__ = ["Archived", "archive_mailing"]

PathLike = str | os.PathLike[str]

#: The journal's states of a message that may have reached its addressee.
_SENT = ("sent", "unknown")


@dataclass(frozen=True)
class Archived:
    """What :func:`archive_mailing` wrote: the zip, its members, the approvals in it, and
    what it left out (``skipped``: a link, or a message no longer as it was sent)."""

    path: Path
    members: tuple[str, ...]
    approvals: tuple[Approval, ...]
    skipped: tuple[str, ...] = ()

    @property
    def approval(self) -> Approval:
        """The last approval the journal names for a message sent."""
        return self.approvals[-1]


def archive_mailing(
    mailing: PathLike,
    out: PathLike,
    *,
    contacts: PathLike | None = None,
    progress: OnProgress | None = None,
) -> Archived:
    """Pack what the journal says was sent, under the approvals it names, the journal
    and a fresh report of ``mailing`` into ``out`` (.zip, created 0600).

    For each message the journal records as sent (or unknown: it may have been), the
    manifest of the approval it went out under and its ``.eml`` exactly as approved (the
    journal holds the ``Date:`` it was sent with). Nothing is read through a symbolic
    link: a link in an approval folder is left out and listed in ``skipped``.

    Raises :class:`~dispatch.errors.InvalidInput` if no message was sent under an
    approval, if the mailing has no journal, or if ``out`` is not a ``.zip``, is one of
    the mailing's inputs or lies in its records (it would be destroyed or packed).
    """
    loaded = load_mailing(Path(mailing))
    target = Path(out)
    workbook = contacts_path_for(loaded, Path(contacts) if contacts is not None else None)
    journal = journal_path(loaded.folder)
    problems = _refusals(loaded, target, workbook, journal)
    if problems:
        raise InvalidInput(problems)
    with tempfile.TemporaryDirectory(prefix="dispatch-archive-") as scratch:
        copy = Path(scratch) / JOURNAL_FILE
        report = Path(scratch) / "report.xlsx"
        with Journal.open(journal, readonly=True) as opened:
            sent = [r for r in opened.rows() if r.state in _SENT and r.approval]
            named = list(dict.fromkeys(r.approval for r in sent if r.approval))
            records = {name: approval_record(opened, name) for name in named}
            if not named:
                raise InvalidInput([_no_approval(loaded)])
            opened.backup(copy)
            write_report(loaded, opened, report, contacts_path=workbook)
        packed, approvals, skipped = _pack(loaded, sent, records, Path(scratch), progress)
        members: list[str] = []
        with zipfile.ZipFile(packed, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            members += archive.namelist()
            for path in (copy, report):
                archive.writestr(path.name, path.read_bytes())
                members.append(path.name)
        try:
            write_atomic(target, packed.read_bytes(), private=True)  # names people: 0600
        except OSError as error:
            raise cannot_write(target, error) from None
    return Archived(target, tuple(members), tuple(approvals), tuple(skipped))


def _pack(
    mailing: Mailing,
    sent: list[JournalRow],
    records: dict[str, ApprovalRecord | None],
    scratch: Path,
    progress: OnProgress | None = None,
) -> tuple[Path, list[Approval], list[str]]:
    """Zip each named approval's manifest and the messages sent under it (``progress``:
    a message at a time)."""
    done = 0
    start(progress, Step.PACKING, len(sent))
    packed = scratch / "archive.zip"
    approvals: list[Approval] = []
    skipped: list[str] = []
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, record in records.items():
            if record is None:
                skipped.append(f"approval {name}: named by the journal, which has no record of it")
                continue
            approval = read_recorded(mailing, record)
            approvals.append(approval)
            base = approval.folder.relative_to(mailing.folder)
            skipped += [f"{link}: a link, not followed" for link in _links(mailing.folder, base)]
            data = _read_inside(mailing.folder, base / "manifest.json")
            if data is not None:
                archive.writestr((base / "manifest.json").as_posix(), data)
            held = {m.key: m for m in approval.messages}
            for row in sent:
                if row.approval != approval.id:
                    continue
                message = held.get(row.key)
                reason = _add_message(archive, mailing.folder, base, message)
                if reason:
                    skipped.append(f"{row.key}: {reason}")
                done += 1
                if progress is not None:
                    progress(Step.PACKING, done, len(sent))
    finish(progress, Step.PACKING, done)
    return packed, approvals, skipped


def _add_message(
    archive: zipfile.ZipFile, folder: Path, base: Path, message: ApprovedMessage | None
) -> str:
    """Pack ``message``'s .eml as approved; the reason it is left out, or ''."""
    if message is None:
        return "its approval holds no message to it"
    relative = base / message.file
    data = _read_inside(folder, relative)
    if data is None:
        return f"{relative.as_posix()} is missing, a link or not a file: not packed"
    if hashlib.sha256(data).hexdigest() != message.sha256:
        return f"{relative.as_posix()} is not the message approved (changed since): not packed"
    archive.writestr(relative.as_posix(), data)
    return ""


def _read_inside(folder: Path, relative: Path) -> bytes | None:
    """The bytes of the regular file ``folder/relative``, reached without following any
    symbolic link; None if one is in the way, or it is missing or not a file."""
    here = folder
    for part in relative.parts[:-1]:
        here = here / part
        try:
            if not stat.S_ISDIR(os.lstat(here).st_mode):
                return None
        except OSError:
            return None
    try:
        fd = open_no_follow(here / relative.name)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read()


def _links(folder: Path, base: Path) -> Iterator[str]:
    """The symbolic links in the approval folder ``folder/base`` (never followed)."""
    for root, subfolders, names in os.walk(folder / base, followlinks=False):
        for name in sorted(subfolders + names):
            path = Path(root) / name
            if path.is_symlink():
                yield path.relative_to(folder).as_posix()


def _no_approval(mailing: Mailing) -> Problem:
    return Problem(
        Location(file=mailing.path),
        "has no approval to archive: the journal names none for a message sent",
        "Approve it with dispatch approve, send it, then archive it.",
    )


def _refusals(mailing: Mailing, target: Path, workbook: Path, journal: Path) -> list[Problem]:
    problems: list[Problem] = []
    if not journal.exists():
        problems.append(_no_approval(mailing))
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
    inputs = mailing_inputs(mailing, workbook, templates_path_for(mailing, None))
    problems += inputs.output_problems(target, Output("the archive", "--out", "archive.zip"))
    return problems
