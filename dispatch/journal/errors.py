"""The journal's own errors, and the words for what SQLite or the system says went wrong."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from dispatch.errors import JournalError
from dispatch.journal.records import MailingIdentity
from dispatch.paths import JOURNAL_DIR, JOURNAL_FILE

__all__ = ["NEW_MAILING_FLAG", "JournalMismatch", "JournalMissing", "os_error", "sqlite_error"]

NEW_MAILING_FLAG = "--new-mailing"
"""The option the CLI offers to start a new journal when the old one is not this mailing's."""


class JournalMismatch(JournalError):
    """The journal was made for another mailing (a folder copied with its ``.dispatch``)."""

    exit_code = 2  # the user decides: put the journal back, or say --new-mailing

    def __init__(self, path: Path, recorded: MailingIdentity, folder: str, reference: str) -> None:
        self.path = path
        self.recorded = recorded
        self.folder = folder
        self.reference = reference
        super().__init__(
            f"{path}: this journal belongs to another mailing: it was made in "
            f"{recorded.folder} for {recorded.reference}, and this mailing, in {folder}, is "
            f"{reference}. The folder was probably copied from that mailing with its "
            "journal, which would make dispatch take this mailing's letters for already "
            f"sent. If this is a new mailing, run again with {NEW_MAILING_FLAG}: the old "
            "journal is kept beside it under another name, and a new one is started. If "
            "it is the same mailing, moved and renamed, put the reference back as it was."
        )


class JournalMissing(JournalError):
    """The journal is gone, but files beside it show that this mailing was sent before."""

    exit_code = 2  # the user decides: put the journal back, or say --new-mailing

    def __init__(self, path: Path, evidence: Sequence[Path]) -> None:
        self.path = path
        self.evidence = tuple(evidence)
        shown = ", ".join(p.name for p in self.evidence)
        super().__init__(
            f"{path}: the journal is missing or empty, but {shown} beside it show that "
            "this mailing was sent before; without its journal, every letter would be sent "
            "again. Put the journal back (from a backup or the folder it was copied "
            f"from), or, if this really is a new mailing, run again with {NEW_MAILING_FLAG} "
            "(the files found are set aside, not deleted)."
        )


# SQLite's primary result codes (sqlite3.Error.sqlite_errorcode & 0xFF)
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_READONLY, _SQLITE_IOERR = 3, 5, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26

KEEP_A_COPY = (
    f"Keep a copy of it and of the files beside it ({JOURNAL_FILE}-wal) before anything "
    "else, since it is the record of what was sent; restore it from a backup if you have "
    "one. Nothing is reported or sent from a damaged journal."
)


def sqlite_error(path: Path, error: sqlite3.Error, doing: str) -> JournalError:
    """The words for an SQLite error on the journal: where, what happened, what to do.

    A full disk is not damage: SQLite rolls the change back and the journal stays whole.
    """
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(error)
    if code == _SQLITE_FULL or "disk is full" in text:
        return JournalError(
            f"{path}: the disk holding the journal is full ({text}) while {doing}. The "
            "journal is intact: every change recorded before is kept, and a message whose "
            "result could not be recorded is shown as unknown by the next run, never sent "
            "twice without asking. Free some space on that disk and run the same command "
            "again."
        )
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return JournalError(
            f"{path}: the journal cannot be read ({text}): it is damaged or is not a "
            f"dispatch journal. {KEEP_A_COPY}"
        )
    if code in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN):
        return JournalError(
            f"{path}: the journal cannot be written ({text}) while {doing}: its folder is "
            "read-only, or you may not write there. Copy the mailing folder, with its "
            f"{JOURNAL_DIR} folder, to a disk you can write, or ask for write permission, and "
            "run again."
        )
    if code == _SQLITE_BUSY:
        return JournalError(
            f"{path}: the journal is held by another program ({text}) while {doing}. "
            "Close any program that has it open (a database browser) and run again."
        )
    if code == _SQLITE_IOERR:
        return JournalError(
            f"{path}: the disk failed while {doing} ({text}). Check the disk (is it "
            "full, removed, a network share?) and run again; the journal keeps every "
            "change recorded before."
        )
    return JournalError(
        f"{path}: the journal cannot be read ({text}). It may not be a dispatch journal "
        f"or may be damaged. {KEEP_A_COPY}"
    )


def os_error(path: Path, error: OSError, doing: str) -> JournalError:
    """The words for a system error on the journal's folder, its lock or its files."""
    hints = {
        errno.ENOSPC: "the disk is full: free some space on it and run again",
        errno.EDQUOT: "your disk quota is used up: free some space and run again",
        errno.EROFS: f"the disk is read-only: copy the mailing folder, with its {JOURNAL_DIR} "
        "folder, to a disk you can write, and run again",
        errno.EACCES: "you may not write there: ask for write permission, or copy the "
        "mailing folder somewhere you can write, and run again",
        errno.EPERM: "you may not write there: ask for write permission, or copy the "
        "mailing folder somewhere you can write, and run again",
    }
    hint = hints.get(error.errno or 0, "check the folder and the disk, and run again")
    where = Path(error.filename) if error.filename else path
    return JournalError(
        f"{where}: {error.strerror or error} while {doing}: {hint}. The journal keeps "
        "every change recorded before."
    )
