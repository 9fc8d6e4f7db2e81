"""What the journal knows of a mailing's approvals: which one is in force, and its digest.

``dispatch approve`` records each approval in the mailing's journal when it is made
(:func:`record_approval`): its id, its folder (relative to the mailing folder) and the
SHA-256 of its manifest, which holds the SHA-256 of every message, so that this one
digest covers the whole approval. The approval in force is the one recorded last
(:func:`approval_in_force`), whatever the folders' names say (a clock set ahead, ten
approvals in one second). ``send`` refuses an approval whose manifest no longer has the
recorded digest: a recipient added to it, a message edited with its SHA-256 updated.

Approved messages keep every byte approved but their ``Date:``, which is set when they
are sent; :func:`record_dates` keeps, per message, the ``Date:`` it went out with, so
that the bytes sent can be rebuilt from the approval and the journal.

These tables live in the journal's database, next to its messages, and travel with it
(``dispatch archive`` copies the journal whole). They are defined with the rest of the
journal's schema (:mod:`dispatch.journal.schema`, version 5); a journal older than that
opened read-only has none, and reads as "no approval recorded".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from dispatch.errors import JournalError
from dispatch.journal import Journal

__all__ = [
    "ApprovalRecord",
    "approval_in_force",
    "approval_record",
    "record_approval",
    "record_dates",
    "recorded_approvals",
    "sent_dates",
]


@dataclass(frozen=True)
class ApprovalRecord:
    """One approval as the journal recorded it when it was made.

    ``folder``: relative to the mailing folder (``approved/20261130T101200Z``);
    ``digest``: the SHA-256 of its ``manifest.json`` bytes.
    """

    id: str
    folder: str
    digest: str
    approved_by: str
    approved_at: str
    recorded_at: str = ""


def _connection(journal: Journal) -> sqlite3.Connection:
    # The journal's own connection: these records commit with the journal's rules.
    return journal._db


def _write(journal: Journal, sql: str, rows: Iterable[tuple[str, ...]]) -> None:
    if journal.readonly:
        raise RuntimeError(f"journal {journal.path} was opened read-only")
    db = _connection(journal)
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(sql, rows)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except sqlite3.Error as error:
        raise JournalError(
            f"{journal.path}: the approval could not be recorded in the journal ({error}). "
            "Check the disk (space, permissions) and run again."
        ) from None


def record_approval(journal: Journal, record: ApprovalRecord) -> None:
    """Record ``record`` as the approval in force from now on."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    _write(
        journal,
        "INSERT INTO approvals (id, folder, digest, approved_by, approved_at, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(record.id, record.folder, record.digest, record.approved_by, record.approved_at, now)],
    )


def _records(
    journal: Journal, where: str = "", parameters: tuple[str, ...] = ()
) -> list[ApprovalRecord]:
    try:
        found = _connection(journal).execute(
            "SELECT id, folder, digest, approved_by, approved_at, recorded_at FROM approvals"
            f"{where} ORDER BY seq DESC",
            parameters,
        )
        return [ApprovalRecord(*row) for row in found]
    except sqlite3.OperationalError:  # no such table: no approval was ever recorded
        return []


def approval_in_force(journal: Journal) -> ApprovalRecord | None:
    """The approval recorded last, or None if none was."""
    found = _records(journal)
    return found[0] if found else None


def recorded_approvals(journal: Journal) -> list[ApprovalRecord]:
    """Every approval the journal recorded, the one in force first."""
    return _records(journal)


def approval_record(journal: Journal, approval_id: str) -> ApprovalRecord | None:
    """The record of the approval ``approval_id`` (the last one, if recorded twice)."""
    found = _records(journal, " WHERE id = ?", (approval_id,))
    return found[0] if found else None


def record_dates(journal: Journal, dates: Iterable[tuple[str, str, str]]) -> None:
    """Record ``(key, approval id, Date header)`` for the approved messages about to go."""
    _write(
        journal,
        "INSERT INTO approved_dates (key, approval, date) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET approval = excluded.approval, date = excluded.date",
        list(dates),
    )


def sent_dates(journal: Journal) -> dict[str, tuple[str, str]]:
    """``{key: (approval id, Date header)}`` of the approved messages sent or attempted."""
    try:
        found = _connection(journal).execute("SELECT key, approval, date FROM approved_dates")
        return {key: (approval, date) for key, approval, date in found}
    except sqlite3.OperationalError:
        return {}
