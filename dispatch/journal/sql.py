"""Small helpers every part of the journal uses: the time stamp, lists as JSON, a transaction."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from dispatch.journal.errors import sqlite_error

__all__ = ["dump", "now", "transaction"]


def now() -> str:
    """The time stamp the journal records: UTC, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def dump(values: Sequence[str]) -> str:
    """A list of strings as the journal keeps it (JSON, readable as it is)."""
    return json.dumps(list(values), ensure_ascii=False)


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, path: Path) -> Iterator[None]:
    """One transaction; an SQLite error in it is a :class:`JournalError` that says why."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except sqlite3.Error as error:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise sqlite_error(path, error, "recording a change") from error
