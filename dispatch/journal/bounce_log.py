"""The notifications that came back (``dispatch bounces``), recorded beside the messages."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from dispatch.journal.records import BounceRecord
from dispatch.journal.sql import now, transaction

__all__ = ["record_bounces"]


def record_bounces(db: sqlite3.Connection, path: Path, records: Iterable[BounceRecord]) -> int:
    """Record notifications keyed by ``source_id`` (one recorded already is left); how many new."""
    stamp = now()
    before = db.total_changes
    with transaction(db, path):
        db.executemany(
            "INSERT OR IGNORE INTO bounces (source_id, key, recipient, message_id, kind, "
            "status, diagnostic, arrived, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    r.source_id,
                    r.key,
                    r.recipient,
                    r.message_id,
                    r.kind,
                    r.status,
                    r.diagnostic,
                    None if r.arrived is None else r.arrived.isoformat(),
                    stamp,
                )
                for r in records
            ),
        )
    return db.total_changes - before
