"""Which mailing a journal belongs to: recorded at its first run, checked at every one.

A journal belongs to another mailing when the folder it sees is not the one it was made
in (another absolute path, or the same path but another folder: its device and inode
differ, as a copy's do) *and* the reference changed too, and the journal holds rows.
Either alone is an ordinary change of one mailing: a folder moved or renamed keeps its
reference; a reference corrected in place keeps its folder (and each addressee keeps its
Message-ID). Both at once is what copying last month's folder for a new circular looks
like, and the journal's rows would then pass this mailing's letters off as sent.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from dispatch.journal import queries
from dispatch.journal.errors import JournalMismatch
from dispatch.journal.records import MailingIdentity
from dispatch.journal.schema import Features
from dispatch.journal.sql import now, transaction

__all__ = ["bind"]


def bind(
    db: sqlite3.Connection, path: Path, folder: Path, reference: str
) -> tuple[MailingIdentity, bool]:
    """Check the journal is the mailing's in ``folder`` named ``reference``, and record it.

    The identity, and whether it was made now (a random UUID on the first call).
    Raises :class:`JournalMismatch`.
    """
    where = Path(folder).resolve()
    status = where.stat()
    inode = f"{status.st_dev}:{status.st_ino}"
    found = queries.identity(db, Features())
    if found is not None:
        moved = found.folder != str(where) or found.folder_inode != inode
        renamed = found.reference != reference
        if moved and renamed and queries.has_rows(db):
            raise JournalMismatch(path, found, str(where), reference)
    identity = MailingIdentity(
        id=found.id if found else str(uuid.uuid4()),
        folder=str(where),
        folder_inode=inode,
        reference=reference,
        created_at=found.created_at if found else now(),
    )
    with transaction(db, path):
        db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [
                ("mailing.id", identity.id),
                ("mailing.folder", identity.folder),
                ("mailing.folder_inode", identity.folder_inode),
                ("mailing.reference", identity.reference),
                ("mailing.created_at", identity.created_at),
            ],
        )
    return identity, found is None
