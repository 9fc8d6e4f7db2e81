"""Record the delivery status notifications of a mailing in its journal.

``dispatch bounces MAILING --from SOURCE`` reads a mailbox (:mod:`dispatch.bounces`),
matches each notification to the message it is about, and records it in the journal's
``bounces`` table, keyed by the notification (reading the same mailbox twice changes
nothing).

A notification is recorded only when it names a Message-ID this mailing sent to the
recipient it reports (the journal keeps each message's Message-ID and recipients): the
recipient alone proves nothing, since another mailing's old bounce or a report forged by
anyone can name real addressees. Everything else is :class:`Unmatched`, listed for a
person to look at with the reason, and changes nothing. A bounce for a copy (Cc) is the
copy's, not the addressee's. ``bounced`` with a 5.x.x status is permanent (the address
is wrong: fix it in the workbook, it is then a new addressee) and goes on the fix list;
``bounced`` with 4.x.x (a full mailbox) and ``delayed`` are not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dispatch.bounces import (
    Bounce,
    FixListEntry,
    Skipped,
    scan,
    source_from,
    write_fix_list,
)
from dispatch.contacts import CONTACTS_SHEET, load_contacts
from dispatch.errors import InvalidInput, Location, Problem
from dispatch.files import Output
from dispatch.inputs import mailing_inputs
from dispatch.journal import BounceRecord, Journal, JournalRow, MailingLock
from dispatch.mailing import Mailing, load_mailing
from dispatch.paths import journal_path, lock_path
from dispatch.prepare import contacts_path_for, templates_path_for
from dispatch.progress import OnProgress

__all__ = ["BouncesRecorded", "Unmatched", "match_bounce", "record_bounces"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Unmatched:
    """A notification's recipient that was not recorded: ``reason`` says why, for a person
    to look at (is it another mailing's, a forgery, a server that dropped the headers?)."""

    bounce: Bounce
    reason: str


@dataclass(frozen=True)
class BouncesRecorded:
    """What :func:`record_bounces` read and recorded.

    ``found``: notifications' recipients in the source; ``new``: those recorded now (0
    when the source was read before); ``unmatched``: those not recorded, with the reason;
    ``ignored``/``auto_replies``/``unreadable``: messages that were not notifications;
    ``skipped``: messages left unread, with the reason (too large, a link, ...).
    ``bounced``: every journal row with a bounce recorded (for its address or a copy),
    this run's and earlier.
    """

    mailing: Mailing
    found: int
    new: int
    unmatched: tuple[Unmatched, ...]
    ignored: int
    unreadable: int
    bounced: tuple[JournalRow, ...]
    fix_list: Path | None = None
    fix_rows: int = 0
    auto_replies: int = 0
    skipped: tuple[Skipped, ...] = ()


#: The states of a message that may have left: only these can come back.
_MAY_HAVE_LEFT = ("sent", "unknown", "sending")


def match_bounce(bounce: Bounce, sent: Mapping[str, JournalRow]) -> JournalRow | str:
    """The journal row ``bounce`` is about, or the reason it is about none.

    ``sent``: the journal's rows by Message-ID, lower-cased (:func:`by_message_id`). The
    notification must name the Message-ID of a message of this mailing that may have
    left, and that message must have gone to the recipient it reports (the addressee or
    one of its copies).
    """
    if bounce.message_id is None:
        return (
            "it names no Message-ID of the message it is about, so it cannot be told from "
            "another mailing's notification or a forged one"
        )
    row = sent.get(bounce.message_id.lower())
    if row is None:
        return (
            f"it is about {bounce.message_id}, which this mailing did not send (another "
            "mailing's message, or a forged notification)"
        )
    if bounce.recipient.lower() not in {r.lower() for r in row.recipients}:
        return f"{bounce.message_id} was not sent to {bounce.recipient}"
    if row.state not in _MAY_HAVE_LEFT:
        return f"{bounce.message_id} was never sent (the journal says {row.state})"
    return row


def by_message_id(rows: list[JournalRow]) -> dict[str, JournalRow]:
    """The rows by their Message-ID, lower-cased (a server may change its case)."""
    return {row.message_id.lower(): row for row in rows}


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
    sheet and row, from ``contacts`` (default: the mailing's workbook); it is created
    ``0600`` (it names people). ``progress`` hears the mailbox being read. Raises
    :class:`~dispatch.errors.InvalidInput` if nothing was sent yet, and
    :class:`~dispatch.bounces.BounceError` if the source cannot be read.
    """
    loaded = load_mailing(Path(mailing))
    path = journal_path(loaded.folder)
    workbook = contacts_path_for(loaded, Path(contacts) if contacts is not None else None)
    _check_before_reading(loaded, path, fix_list, workbook)
    result = scan(source_from(source, os.environ if env is None else env), progress=progress)
    with MailingLock(lock_path(loaded.folder)), Journal.open(path) as journal:
        records, unmatched = _match_all(result.bounces, by_message_id(journal.rows()))
        new = journal.record_bounces(records)
        bounced = tuple(r for r in journal.rows() if r.bounce is not None or r.copy_bounces)
    written = 0
    if fix_list is not None:
        written = write_fix_list(_fix_entries(bounced, workbook), Path(fix_list))
    return BouncesRecorded(
        mailing=loaded,
        found=len(result.bounces),
        new=new,
        unmatched=tuple(unmatched),
        ignored=result.ignored,
        unreadable=result.unreadable,
        bounced=bounced,
        fix_list=Path(fix_list) if fix_list is not None else None,
        fix_rows=written,
        auto_replies=result.auto_replies,
        skipped=result.skipped,
    )


def _check_before_reading(
    loaded: Mailing, path: Path, fix_list: PathLike | None, workbook: Path
) -> None:
    """Refuse before the mailbox is read: a fix list over an input of the mailing, a
    fix list not .xlsx, nothing sent yet."""
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


def _match_all(
    bounces: tuple[Bounce, ...], sent: Mapping[str, JournalRow]
) -> tuple[list[BounceRecord], list[Unmatched]]:
    """What to record of ``bounces`` (each against its row), and what not, with why."""
    records: list[BounceRecord] = []
    unmatched: list[Unmatched] = []
    for b in bounces:
        row = match_bounce(b, sent)
        if isinstance(row, str):
            unmatched.append(Unmatched(b, row))
            continue
        records.append(
            BounceRecord(
                source_id=b.source_id,
                key=row.key,
                recipient=b.recipient.lower(),
                message_id=b.message_id,
                kind=b.kind,
                status=b.status,
                diagnostic=b.diagnostic,
                arrived=b.arrived,
            )
        )
    return records, unmatched


def _fix_entries(rows: tuple[JournalRow, ...], workbook: Path) -> list[FixListEntry]:
    """One entry per permanent bounce (the addressee's or a copy's), with the addressee's
    row in the workbook today: a copy is corrected in the same row's Cc."""
    try:
        people = {p.key: p for p in load_contacts(workbook).addressees}
    except InvalidInput:
        people = {}  # the fix list still names the addresses; the rows are unknown
    entries = []
    for row in rows:
        for bounce in (row.bounce, *row.copy_bounces):
            if bounce is None or not bounce.permanent:
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
