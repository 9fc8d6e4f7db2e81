"""The life of a message in the journal: its states, and the only code that changes one.

::

    planned --> sending --> sent
       ^           |-----> failed-temporary --> sending (the next attempt)
       |           |-----> failed-permanent --> sending (asked: retry_failed)
       +-----------|-----> unknown ----------> sending (asked: retry_unknown)
       (released: nothing of it went out)

:data:`TRANSITIONS` is that drawing as data. A :class:`Change` names the state a row
goes to; the states it may come from follow from the table. :func:`apply_changes`
commits changes in one transaction; a change whose row is not in a state it may leave
changes nothing and is an :class:`IllegalTransition`. A row is created ``planned`` (see
:mod:`dispatch.journal.planning`); nothing else in the journal writes ``state``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dispatch.journal.records import STATES, State
from dispatch.journal.sql import transaction

__all__ = [
    "INTERRUPTED",
    "TRANSITIONS",
    "Change",
    "IllegalTransition",
    "apply_changes",
    "recover_interrupted",
]

#: For each state, the states a row in it may go to.
TRANSITIONS: dict[State, tuple[State, ...]] = {
    "planned": ("sending",),
    "sending": ("sent", "failed-temporary", "failed-permanent", "unknown", "planned"),
    "sent": (),  # never sent again
    "failed-temporary": ("sending",),
    "failed-permanent": ("sending",),
    "unknown": ("sending",),
}

INTERRUPTED = "interrupted while sending: the relay may or may not have accepted it"
"""The reply recorded for a row found ``sending`` when the journal is opened."""


class IllegalTransition(RuntimeError):
    """A change of state the table does not allow (``sent`` from ``planned``, say).

    Raised, or handed back by :func:`apply_changes`, so that a fault of dispatch is seen
    rather than recorded: the row keeps its state.
    """


@dataclass(frozen=True, slots=True)
class Change:
    """One change of state of one row: what :func:`apply_changes` commits.

    Build it with the class methods, which say what each change means.
    """

    key: str
    state: State
    code: int | None = None
    reply: str | None = None

    @property
    def allowed_from(self) -> tuple[State, ...]:
        """The states a row may be in for this change (from :data:`TRANSITIONS`)."""
        return tuple(s for s in STATES if self.state in TRANSITIONS[s])

    @classmethod
    def sending(cls, key: str) -> Change:
        """A transaction for ``key`` begins (before anything is transmitted)."""
        return cls(key, "sending")

    @classmethod
    def sent_ok(cls, key: str, code: int, reply: str) -> Change:
        """The relay accepted the message (its final reply)."""
        return cls(key, "sent", code=code, reply=reply)

    @classmethod
    def failed(cls, key: str, *, permanent: bool, code: int | None, reply: str) -> Change:
        """A refusal (``permanent``: 5xx) or a temporary failure."""
        state: State = "failed-permanent" if permanent else "failed-temporary"
        return cls(key, state, code=code, reply=reply)

    @classmethod
    def unknown(cls, key: str, reply: str) -> Change:
        """The content went out but the relay's final reply never came."""
        return cls(key, "unknown", reply=reply)

    @classmethod
    def released(cls, key: str, reply: str) -> Change:
        """Back to ``planned``: the attempt stopped before any content went out."""
        return cls(key, "planned", reply=reply)


def _update(change: Change, stamp: str) -> tuple[str, list[object]]:
    """The UPDATE statement of ``change`` and its parameters."""
    allowed = change.allowed_from
    attempt = change.state == "sending"  # counts an attempt; keeps the last reply
    sent = change.state == "sent"
    sql = (
        "UPDATE messages SET state = ?, updated_at = ?"
        + (", attempts = attempts + 1" if attempt else ", code = ?, reply = ?")
        + (", sent_at = ?" if sent else "")
        + f" WHERE key = ? AND state IN ({','.join('?' * len(allowed))})"
    )
    parameters: list[object] = [change.state, stamp]
    if not attempt:
        parameters += [change.code, change.reply]
    if sent:
        parameters.append(stamp)
    return sql, [*parameters, change.key, *allowed]


def apply_changes(
    db: sqlite3.Connection, path: Path, changes: Sequence[Change], stamp: str
) -> list[IllegalTransition | None]:
    """Commit ``changes`` in one transaction, in order; what was refused, change by change.

    If any change is to ``sending``, the commit is flushed to the disk (``synchronous =
    FULL``) before this returns. An SQLite error rolls the whole group back and is raised.
    """
    if not changes:
        return []
    durable = any(change.state == "sending" for change in changes)
    refused: list[IllegalTransition | None] = []
    if durable:  # on the disk before any of the message goes out
        db.execute("PRAGMA synchronous = FULL")
    try:
        with transaction(db, path):
            for change in changes:
                cursor = db.execute(*_update(change, stamp))
                refused.append(None if cursor.rowcount == 1 else _refusal(db, path, change))
    finally:
        if durable:
            with contextlib.suppress(sqlite3.Error):
                db.execute("PRAGMA synchronous = NORMAL")
    return refused


def _refusal(db: sqlite3.Connection, path: Path, change: Change) -> IllegalTransition:
    found = db.execute("SELECT state FROM messages WHERE key = ?", (change.key,)).fetchone()
    return IllegalTransition(
        f"journal {path}: cannot mark {change.key!r} {change.state}: it is "
        f"{found[0] if found else 'not in the journal'}"
    )


def recover_interrupted(db: sqlite3.Connection, stamp: str) -> int:
    """Rows left ``sending`` by a run that crashed become ``unknown``; how many."""
    assert "unknown" in TRANSITIONS["sending"]
    cursor = db.execute(
        "UPDATE messages SET state = 'unknown', updated_at = ?, code = NULL, reply = ? "
        "WHERE state = 'sending'",
        (stamp, INTERRUPTED),
    )
    return cursor.rowcount
