"""Which messages a run sends: the plan, and the rows it records (new addressees, new content).

:func:`preview` decides, changing nothing; :func:`record` writes what a plan needs in
one transaction: new addressees as ``planned`` rows, the new content of unsent rows,
the approval each goes out under, and the fingerprint of the inputs. :func:`withdraw`
records which rows' addressees left the mailing. The rules of exactly-once live here:
a ``sent`` row is never planned again, an ``unknown`` or ``failed-permanent`` one only
when asked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from dispatch.errors import JournalError
from dispatch.journal import queries
from dispatch.journal.records import Plan, Plannable, T
from dispatch.journal.schema import Features
from dispatch.journal.sql import dump, now, transaction

__all__ = ["check_message_ids", "preview", "record", "record_inputs", "withdraw"]


def preview(
    known: dict[str, tuple[str, str, str]],
    messages: Sequence[T],
    *,
    retry_unknown: bool = False,
    retry_failed: bool = False,
) -> Plan[T]:
    """What a run would do with ``messages``, given each known row's state and content.

    ``known`` is :func:`dispatch.journal.queries.states_and_contents`.
    """
    seen: set[str] = set()
    kept: dict[str, list[T]] = {
        name: [] for name in ("send", "sent", "changed", "unknown", "refused", "new", "updated")
    }
    for message in messages:
        if message.key in seen:
            raise ValueError(f"two messages of the mailing have the key {message.key!r}")
        seen.add(message.key)
        row = known.get(message.key)
        if row is None:
            kept["new"].append(message)
            kept["send"].append(message)
            continue
        state, digest, recipients = row
        same = digest == message.digest and recipients == dump(message.recipients)
        if state == "sent":
            kept["sent" if same else "changed"].append(message)
        elif state == "unknown" and not retry_unknown:
            kept["unknown"].append(message)
        elif state == "failed-permanent" and not retry_failed:
            kept["refused"].append(message)
        else:
            # planned, failed-temporary, or a retry that was asked for: the content sent
            # is the content of today's run.
            kept["send"].append(message)
            if not same:
                kept["updated"].append(message)
    return Plan(
        to_send=tuple(kept["send"]),
        already_sent=tuple(kept["sent"]),
        changed=tuple(kept["changed"]),
        unknown=tuple(kept["unknown"]),
        failed_permanent=tuple(kept["refused"]),
        not_in_mailing=len(known.keys() - seen),
        _new=tuple(kept["new"]),
        _updated=tuple(kept["updated"]),
    )


def check_message_ids(db: sqlite3.Connection, path: Path, to_send: Sequence[Plannable]) -> None:
    """Refuse to send a message under another Message-ID than the journal fixed for it."""
    stored = queries.message_ids(db)
    wrong = [m for m in to_send if stored.get(m.key, m.message_id) != m.message_id]
    if wrong:
        first = wrong[0]
        raise JournalError(
            f"{path}: {len(wrong)} message(s) would be sent again under a new "
            f"Message-ID ({first.key}: {first.message_id}, where the journal holds "
            f"{stored[first.key]}), so their addressees could not recognise a second "
            "copy. Nothing was sent. This is a fault of dispatch (the messages must be "
            "built with Journal.message_id_for); please report it."
        )


def record(
    db: sqlite3.Connection,
    path: Path,
    has: Features,
    plan: Plan[T],
    messages: Sequence[T],
    inputs: str | None,
) -> None:
    """Write what ``plan`` (made from ``messages``) needs, in one transaction."""
    stamp = now()
    with transaction(db, path):
        db.executemany(
            "INSERT INTO messages (key, message_id, recipients, digest, language, "
            "categories, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'planned', ?)",
            (
                (
                    m.key,
                    m.message_id,
                    dump(m.recipients),
                    m.digest,
                    m.language,
                    dump(m.categories),
                    stamp,
                )
                for m in plan._new
            ),
        )
        # The approval a message goes out under (None: sent without one); a message
        # sent keeps the one it was sent under.
        db.executemany(
            "UPDATE messages SET approval = ? WHERE key = ? AND state != 'sent'",
            ((getattr(m, "approval", None), m.key) for m in plan.to_send),
        )
        # Never the Message-ID: it is fixed at the row's first plan (message_id_for).
        db.executemany(
            "UPDATE messages SET recipients = ?, digest = ?, language = ?, "
            "categories = ?, updated_at = ? WHERE key = ? AND state != 'sent'",
            (
                (dump(m.recipients), m.digest, m.language, dump(m.categories), stamp, m.key)
                for m in plan._updated
            ),
        )
        if has.left:  # an addressee back in the mailing is no longer withdrawn
            db.executemany(
                "UPDATE messages SET left_at = NULL WHERE key = ? AND left_at IS NOT NULL",
                ((m.key,) for m in messages),
            )
        if inputs is not None:
            record_inputs(db, inputs)


def record_inputs(db: sqlite3.Connection, fingerprint: str) -> None:
    """Record the fingerprint of the inputs whose messages were planned."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('inputs', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (fingerprint,),
    )


def withdraw(db: sqlite3.Connection, path: Path, present: Iterable[str]) -> None:
    """Stamp ``left_at`` on rows whose key is not in ``present``; clear it on those back."""
    stamp = now()
    with transaction(db, path):
        db.execute("CREATE TEMP TABLE IF NOT EXISTS present (key TEXT PRIMARY KEY)")
        db.execute("DELETE FROM temp.present")
        db.executemany(
            "INSERT OR IGNORE INTO temp.present (key) VALUES (?)", ((k,) for k in present)
        )
        db.execute(
            "UPDATE messages SET left_at = ? WHERE left_at IS NULL "
            "AND key NOT IN (SELECT key FROM temp.present)",
            (stamp,),
        )
        db.execute(
            "UPDATE messages SET left_at = NULL WHERE left_at IS NOT NULL "
            "AND key IN (SELECT key FROM temp.present)"
        )
        db.execute("DELETE FROM temp.present")
