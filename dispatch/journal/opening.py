"""Opening a journal: connecting, checking it is whole, bringing it up to date, recovering.

Every opening checks the journal (its tables, ``PRAGMA quick_check``): a damaged
journal is a :class:`~dispatch.errors.JournalError`, never read from. Opened for
writing, it is migrated to the latest schema, put in WAL mode, and its rows left
``sending`` by a crashed run become ``unknown``. Opened read-only, nothing changes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dispatch.errors import JournalError
from dispatch.journal import disk, schema
from dispatch.journal.errors import os_error, sqlite_error
from dispatch.journal.sql import now
from dispatch.journal.states import recover_interrupted

__all__ = ["connect", "prepare"]


def connect(path: Path, *, readonly: bool, new_mailing: bool) -> sqlite3.Connection:
    """A connection to the journal ``path``; its errors said as the journal's."""
    try:
        if readonly:
            return disk.connect_readonly(path)
        return disk.connect(path, new_mailing=new_mailing)
    except sqlite3.Error as error:
        raise sqlite_error(path, error, "opening it") from error
    except OSError as error:
        raise os_error(path, error, "opening it") from error


def prepare(db: sqlite3.Connection, path: Path, *, readonly: bool) -> tuple[schema.Features, int]:
    """Check and ready the journal; what parts of the schema it has, and rows recovered."""
    try:
        return _prepare(db, path, readonly=readonly)
    except sqlite3.Error as error:
        raise sqlite_error(path, error, "reading it") from error


def _prepare(db: sqlite3.Connection, path: Path, *, readonly: bool) -> tuple[schema.Features, int]:
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute("PRAGMA temp_store = MEMORY")
    version = schema.version(db)
    if version > schema.SCHEMA_VERSION:
        raise JournalError(
            f"{path}: this journal was written by a newer version of dispatch "
            f"(schema {version}). Upgrade dispatch to continue this mailing."
        )
    if readonly:
        return schema.validate(db, path, version), 0
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        raise JournalError(
            f"{path}: SQLite cannot use write-ahead logging here (mode {mode}); "
            "the folder may be on a network share. Keep mailings on a local disk."
        )
    # NORMAL: commits survive a crash of this process; a mark `sending` flushes (FULL).
    db.execute("PRAGMA synchronous = NORMAL")
    if version == 0 and schema.tables(db):
        schema.validate(db, path, version)  # tables but no version: is it whole?
    schema.migrate(db)
    has = schema.validate(db, path, schema.SCHEMA_VERSION)
    return has, recover_interrupted(db, now())
