"""What the journal tells its readers: status, report, archive, bounces and the planner.

Every function reads, none writes; each takes the connection and the
:class:`~dispatch.journal.schema.Features` of the journal, so that a journal of an
older schema opened read-only is read without the parts it lacks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from dispatch.journal.records import STATES, BounceRecord, JournalRow, MailingIdentity, State
from dispatch.journal.schema import Features

__all__ = [
    "bounces",
    "counts",
    "identity",
    "inputs",
    "left",
    "message_ids",
    "rows",
    "states_and_contents",
]

# Rows that stay counted when their addressee left: something of them may have gone out.
_STILL_COUNTED = ("sent", "unknown", "sending")


def counts(db: sqlite3.Connection, has: Features) -> dict[State, int]:
    """How many rows are in each state, withdrawn rows left out (every state present)."""
    found: dict[State, int] = dict.fromkeys(STATES, 0)
    kept = ",".join(f"'{state}'" for state in _STILL_COUNTED)
    where = f" WHERE left_at IS NULL OR state IN ({kept})" if has.left else ""
    for state, count in db.execute(f"SELECT state, COUNT(*) FROM messages{where} GROUP BY state"):
        found[state] = count
    return found


def left(db: sqlite3.Connection, has: Features) -> dict[State, int]:
    """Rows whose addressee left the mailing, by state."""
    found: dict[State, int] = dict.fromkeys(STATES, 0)
    if not has.left:
        return found
    for state, count in db.execute(
        "SELECT state, COUNT(*) FROM messages WHERE left_at IS NOT NULL GROUP BY state"
    ):
        found[state] = count
    return found


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


_ROW = (
    "SELECT key, message_id, recipients, digest, language, categories, state, attempts, "
    "code, reply, updated_at, sent_at, {left_at}, {approval} FROM messages"
)


def rows(
    db: sqlite3.Connection,
    has: Features,
    states: Iterable[State] | None = None,
    key: str | None = None,
) -> list[JournalRow]:
    """The rows in ``states`` (all if ``None``), or the row of ``key``, in planning order."""
    where, parameters = "", tuple[str, ...]()
    if key is not None:
        where, parameters = " WHERE key = ?", (key,)
    elif states is not None:
        parameters = tuple(states)
        where = f" WHERE state IN ({','.join('?' * len(parameters))})"
    sql = _ROW.format(
        left_at="left_at" if has.left else "NULL", approval="approval" if has.approval else "NULL"
    )
    came_back = _bounce_by_key(db, has)
    return [
        _row(values, came_back) for values in db.execute(f"{sql}{where} ORDER BY rowid", parameters)
    ]


def _row(values: tuple[Any, ...], came_back: dict[str, list[BounceRecord]]) -> JournalRow:
    (key, message_id, recipients, digest, language, categories, state, attempts, code, reply,
     updated_at, sent_at, left_at, approval) = values  # fmt: skip
    row = JournalRow(
        key=key,
        message_id=message_id,
        recipients=tuple(json.loads(recipients)),
        digest=digest,
        language=language,
        categories=tuple(json.loads(categories)),
        state=state,
        attempts=attempts,
        code=code,
        reply=reply,
        updated_at=datetime.fromisoformat(updated_at),
        sent_at=_when(sent_at),
        left_at=_when(left_at),
        approval=approval,
    )
    return _with_bounces(row, came_back.get(key, []))


def _with_bounces(row: JournalRow, records: list[BounceRecord]) -> JournalRow:
    """``row`` with what came back for its address (``bounce``) and for its copies.

    Per address: a failure before a delay, then the last; a copy's bounce is the copy's
    (as a copy refused at send time is), never the addressee's.
    """
    if not records:
        return row
    own = row.recipients[0].lower() if row.recipients else row.key
    best: dict[str, BounceRecord] = {}
    for record in records:
        held = best.get(record.recipient)
        if held is None or held.kind == "delayed" or record.kind == "bounced":
            best[record.recipient] = record
    mine = best.pop(own, None)
    return replace(row, bounce=mine, copy_bounces=tuple(best.values()))


def bounces(db: sqlite3.Connection, has: Features) -> list[BounceRecord]:
    """Every notification recorded, matched or not, in the order recorded."""
    if not has.bounces:
        return []
    return [
        BounceRecord(
            source_id=source_id,
            key=key,
            recipient=recipient,
            message_id=message_id,
            kind=kind,
            status=status,
            diagnostic=diagnostic,
            arrived=_when(arrived),
            recorded_at=datetime.fromisoformat(recorded_at),
        )
        for (
            source_id,
            key,
            recipient,
            message_id,
            kind,
            status,
            diagnostic,
            arrived,
            recorded_at,
        ) in db.execute(
            "SELECT source_id, key, recipient, message_id, kind, status, diagnostic, "
            "arrived, recorded_at FROM bounces ORDER BY rowid"
        )
    ]


def _bounce_by_key(db: sqlite3.Connection, has: Features) -> dict[str, list[BounceRecord]]:
    """For each row, every notification recorded against it, in the order recorded."""
    found: dict[str, list[BounceRecord]] = {}
    for record in bounces(db, has):
        if record.key is not None:
            found.setdefault(record.key, []).append(record)
    return found


def message_ids(db: sqlite3.Connection, key: str | None = None) -> dict[str, str]:
    """The Message-ID fixed for each addressee (or for ``key`` alone, if it has one)."""
    if key is None:
        return dict(db.execute("SELECT key, message_id FROM messages"))
    return dict(db.execute("SELECT key, message_id FROM messages WHERE key = ?", (key,)))


def states_and_contents(db: sqlite3.Connection) -> dict[str, tuple[str, str, str]]:
    """For each key: its state, the digest of its content and its recipients (as kept)."""
    return {
        key: (state, digest, recipients)
        for key, state, digest, recipients in db.execute(
            "SELECT key, state, digest, recipients FROM messages"
        )
    }


def has_rows(db: sqlite3.Connection) -> bool:
    """Whether the journal holds any message."""
    return db.execute("SELECT 1 FROM messages LIMIT 1").fetchone() is not None


def _meta(db: sqlite3.Connection, has: Features, pattern: str) -> dict[str, str]:
    """The meta values whose key matches the LIKE ``pattern`` (none in a schema-1 journal)."""
    if not has.meta:  # schema 1, read-only: no meta table
        return {}
    return dict(db.execute("SELECT key, value FROM meta WHERE key LIKE ?", (pattern,)))


def inputs(db: sqlite3.Connection, has: Features) -> str | None:
    """The fingerprint of the inputs recorded with the last plan, if any."""
    if not has.meta:
        return None
    found = db.execute("SELECT value FROM meta WHERE key = 'inputs'").fetchone()
    return None if found is None else str(found[0])


def identity(db: sqlite3.Connection, has: Features) -> MailingIdentity | None:
    """The mailing this journal was made for (None: not yet bound, or an old journal)."""
    meta = _meta(db, has, "mailing.%")
    if "mailing.id" not in meta:
        return None
    return MailingIdentity(
        id=meta["mailing.id"],
        folder=meta.get("mailing.folder", ""),
        folder_inode=meta.get("mailing.folder_inode", ""),
        reference=meta.get("mailing.reference", ""),
        created_at=meta.get("mailing.created_at", ""),
    )
