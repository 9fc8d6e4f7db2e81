"""Record the delivery status notifications of a mailing in its journal.

``dispatch bounces MAILING --from SOURCE`` reads a mailbox (:mod:`dispatch.bounces`),
matches each notification to the message it is about, and records it in the journal's
``bounces`` table, keyed by the notification (reading the same mailbox twice changes
nothing). A notification is matched by the Message-ID dispatch gave the message (it is
deterministic and the journal keeps each addressee's) and its recipient, else by the
recipient alone. ``bounced`` is permanent (the address is wrong: fix it in the workbook,
it is then a new addressee), ``delayed`` temporary.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dispatch.bounces import Bounce, FixListEntry, scan, source_from, write_fix_list
from dispatch.contacts import CONTACTS_SHEET, load_contacts
from dispatch.errors import InvalidInput, Location, Problem
from dispatch.files import Output
from dispatch.inputs import mailing_inputs
from dispatch.journal import BounceRecord, Journal, JournalRow, MailingLock
from dispatch.mailing import Mailing, load_mailing
from dispatch.paths import journal_path, lock_path
from dispatch.prepare import contacts_path_for, templates_path_for
from dispatch.progress import OnProgress

__all__ = ["BouncesRecorded", "match_bounce", "record_bounces"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class BouncesRecorded:
    """What :func:`record_bounces` read and recorded.

    ``found``: notifications' recipients in the source; ``new``: those recorded now (0
    when the source was read before); ``unmatched``: those about no message of this
    mailing; ``ignored``/``unreadable``: messages that were not notifications.
    ``bounced``: every journal row with a bounce recorded, this run's and earlier.
    """

    mailing: Mailing
    found: int
    new: int
    unmatched: tuple[Bounce, ...]
    ignored: int
    unreadable: int
    bounced: tuple[JournalRow, ...]
    fix_list: Path | None = None
    fix_rows: int = 0


def match_bounce(bounce: Bounce, rows: Mapping[str, JournalRow]) -> str | None:
    """The key of the journal row ``bounce`` is about, or None.

    By Message-ID and recipient first (the recipient may be the addressee or one of
    its copies), else by the recipient alone: the addressee's own address, then a copy.
    """
    recipient = bounce.recipient.lower()
    if bounce.message_id is not None:
        for row in rows.values():
            if row.message_id == bounce.message_id and recipient in _lowered(row):
                return row.key
    if recipient in rows:
        return recipient
    for row in rows.values():
        if recipient in _lowered(row):
            return row.key
    return None


def _lowered(row: JournalRow) -> set[str]:
    return {r.lower() for r in row.recipients}


def record_bounces(
    mailing: PathLike,
    source: str,
    *,
    env: Mapping[str, str] | None = None,
    fix_list: PathLike | None = None,
    contacts: PathLike | None = None,
    progress: OnProgress | None = None,
) -> BouncesRecorded:
    """Read ``source`` (a path or an IMAP address, see :func:`dispatch.bounces.source_from`)
    and record its notifications in the journal of ``mailing``.

    ``fix_list``: also write the addresses to correct (``.xlsx``) with their workbook
    sheet and row, from ``contacts`` (default: the mailing's workbook). Raises
    :class:`~dispatch.errors.InvalidInput` if nothing was sent yet, and
    :class:`~dispatch.bounces.BounceError` if the source cannot be read.
    """
    loaded = load_mailing(Path(mailing))
    path = journal_path(loaded.folder)
    workbook = contacts_path_for(loaded, Path(contacts) if contacts is not None else None)
    if fix_list is not None:  # never over the workbook or another input (issue 20, item 1)
        inputs = mailing_inputs(loaded, workbook, templates_path_for(loaded, None))
        problems = inputs.output_problems(
            Path(fix_list), Output("the fix list", "--fix-list", "fix-list.xlsx")
        )
        if problems:
            raise InvalidInput(problems)
    if not path.exists():
        raise InvalidInput(
            [
                Problem(
                    Location(file=path),
                    "does not exist: nothing was sent for this mailing yet",
                    "Run dispatch send first; bounces are matched to the messages sent.",
                )
            ]
        )
    if fix_list is not None and Path(fix_list).suffix.lower() != ".xlsx":
        raise InvalidInput(
            [
                Problem(
                    Location(file=str(fix_list)),
                    "a fix list is an Excel workbook, but the name does not end in .xlsx",
                    "Give a name ending in .xlsx, like fix-list.xlsx.",
                )
            ]
        )
    result = scan(source_from(source, os.environ if env is None else env), progress)
    with MailingLock(lock_path(loaded.folder)), Journal.open(path) as journal:
        rows = {row.key: row for row in journal.rows()}
        records = [
            BounceRecord(
                source_id=b.source_id,
                key=match_bounce(b, rows),
                recipient=b.recipient,
                message_id=b.message_id,
                kind=b.kind,
                status=b.status,
                diagnostic=b.diagnostic,
                arrived=b.arrived,
            )
            for b in result.bounces
        ]
        new = journal.record_bounces(records)
        bounced = tuple(row for row in journal.rows() if row.bounce is not None)
    unmatched = tuple(b for b, r in zip(result.bounces, records, strict=True) if r.key is None)
    written = 0
    if fix_list is not None:
        written = write_fix_list(_fix_entries(bounced, workbook), Path(fix_list))
    return BouncesRecorded(
        mailing=loaded,
        found=len(result.bounces),
        new=new,
        unmatched=unmatched,
        ignored=result.ignored,
        unreadable=result.unreadable,
        bounced=bounced,
        fix_list=Path(fix_list) if fix_list is not None else None,
        fix_rows=written,
    )


def _fix_entries(rows: tuple[JournalRow, ...], workbook: Path) -> list[FixListEntry]:
    """One entry per permanent bounce, with the addressee's row in the workbook today."""
    try:
        people = {p.key: p for p in load_contacts(workbook).addressees}
    except InvalidInput:
        people = {}  # the fix list still names the addresses; the rows are unknown
    entries = []
    for row in rows:
        bounce = row.bounce
        if bounce is None or bounce.kind != "bounced":
            continue
        person = people.get(row.key)
        entries.append(
            FixListEntry(
                address=bounce.recipient,
                name=person.full_name if person else "",
                sheet=CONTACTS_SHEET if person else None,
                row=person.row if person else None,
                status=bounce.status,
                diagnostic=bounce.diagnostic,
            )
        )
    return entries
