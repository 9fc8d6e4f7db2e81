"""The journal's schema and its migrations: the one place that says what the tables are.

Each version is a step from the one before (:data:`MIGRATIONS`), so a journal written
by any earlier release is brought up to date in place when it is opened for writing,
and a test can build the journal of an earlier release with :func:`migrate`. A step is
idempotent (``IF NOT EXISTS``, a column added only if missing): a journal of an early
development version, with tables but no version, is validated and then stepped too.

To change the schema, add a step (the next version: its statements and the columns it
adds to ``messages``), never edit one that shipped; a new table is defined here too.

Opened read-only, a journal is never migrated: :class:`Features` says which of the
later parts it has, and the queries do without the others.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from dispatch.errors import JournalError
from dispatch.journal.errors import KEEP_A_COPY

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Features", "features", "migrate", "tables", "validate"]

_MESSAGES = """
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    recipients TEXT NOT NULL,
    digest TEXT NOT NULL,
    language TEXT NOT NULL,
    categories TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN (
        'planned', 'sending', 'sent', 'failed-temporary', 'failed-permanent', 'unknown')),
    attempts INTEGER NOT NULL DEFAULT 0,
    code INTEGER,
    reply TEXT,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_state ON messages (state);
"""

_BOUNCES = """
CREATE TABLE IF NOT EXISTS bounces (
    source_id TEXT PRIMARY KEY,
    key TEXT,
    recipient TEXT NOT NULL,
    message_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('bounced', 'delayed')),
    status TEXT,
    diagnostic TEXT NOT NULL,
    arrived TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bounces_by_key ON bounces (key);
"""

_APPROVALS = """
CREATE TABLE IF NOT EXISTS approvals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    folder TEXT NOT NULL,
    digest TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approved_dates (
    key TEXT PRIMARY KEY,
    approval TEXT NOT NULL,
    date TEXT NOT NULL
);
"""

#: For each version, what it adds to the one before: statements, and columns of messages.
MIGRATIONS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: (_MESSAGES, ()),  # the first release
    2: ("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);", ()),
    3: ("", ("left_at",)),  # the row's addressee left the mailing; the identity in meta
    4: (_BOUNCES, ("approval",)),  # the approval a message was sent under; bounces
    5: (_APPROVALS, ()),  # each approval as made, the Date each approved message went with
}
SCHEMA_VERSION = max(MIGRATIONS)

_REQUIRED_COLUMNS = frozenset(
    {
        "key",
        "message_id",
        "recipients",
        "digest",
        "language",
        "categories",
        "state",
        "attempts",
        "code",
        "reply",
        "updated_at",
        "sent_at",
    }
)


@dataclass(frozen=True)
class Features:
    """Which parts of the latest schema a journal has (an old one opened read-only lacks some)."""

    left: bool = True  # messages.left_at
    approval: bool = True  # messages.approval
    bounces: bool = True  # the bounces table
    meta: bool = True  # the meta table (inputs, the mailing's identity)


def version(db: sqlite3.Connection) -> int:
    """The schema version the journal says it has (0: none said)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def tables(db: sqlite3.Connection) -> set[str]:
    """The names of the journal's tables."""
    return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(db: sqlite3.Connection) -> set[str]:
    return {row[1] for row in db.execute("PRAGMA table_info(messages)")}


def migrate(db: sqlite3.Connection, *, upto: int = SCHEMA_VERSION) -> None:
    """Bring the journal from its version to ``upto``, in one transaction."""
    steps = [MIGRATIONS[n] for n in range(version(db) + 1, upto + 1)]
    if not steps:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for statements, added in steps:
            if statements:
                for statement in filter(str.strip, statements.split(";")):
                    db.execute(statement)
            present = _columns(db)
            for column in added:
                if column not in present:
                    db.execute(f"ALTER TABLE messages ADD COLUMN {column} TEXT")
        db.execute(f"PRAGMA user_version = {int(upto)}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def features(db: sqlite3.Connection) -> Features:
    """Which parts of the latest schema this journal has."""
    columns, found = _columns(db), tables(db)
    return Features(
        left="left_at" in columns,
        approval="approval" in columns,
        bounces="bounces" in found,
        meta="meta" in found,
    )


def validate(db: sqlite3.Connection, path: Path, at: int) -> Features:
    """Refuse a journal that is not whole: missing tables or columns, damaged pages.

    ``at`` is the version the journal claims (after any migration).
    """
    columns = _columns(db)
    missing = set(_REQUIRED_COLUMNS - columns)
    if at >= 2 and "meta" not in tables(db):
        missing.add("meta table")
    if not columns or missing:
        what = "no table of messages" if not columns else f"no {', '.join(sorted(missing))}"
        empty = " (it is empty)" if not columns and _empty(path) else ""
        raise JournalError(
            f"{path}: the journal cannot be read: it has {what}, so it is not a "
            f"whole dispatch journal{empty}"
            ". Keep a copy of it before doing anything else; if it was restored from "
            "a backup, restore it again, whole."
        )
    problems = [row[0] for row in db.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise JournalError(
            f"{path}: the journal cannot be read: SQLite finds it damaged "
            f"({'; '.join(problems[:3])}). {KEEP_A_COPY}"
        )
    return features(db)


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
