"""The journal of a mailing: what was sent to whom, kept on disk as it happens.

The journal is what lets a mailing of ten thousand letters be interrupted (a crash,
Ctrl-C, a relay that goes away) and run again without anybody receiving a letter
twice. It is an SQLite database (WAL mode) with one row per addressee, keyed by the
addressee's lower-cased e-mail address. Every change of state is committed before
dispatch relies on it, and every commit survives a crash of dispatch at once. A commit
that marks a row ``sending`` is also flushed to the disk (``fsync``) before the
message's content goes out, so that not even a power cut can hide a message that may
have been sent; the other commits reach the disk with the next such flush, and if a
power cut loses one, its row reads ``sending``, so ``unknown``: never resent without
asking. While a run sends, :class:`dispatch.journal_writer.JournalWriter` commits the
changes of all its connections in groups (:meth:`Journal.apply`): one flush for all
the marks that arrived meanwhile.

The states:

``planned``
    known to the mailing, not yet tried (or an attempt was interrupted before any
    of the message was transmitted).
``sending``
    a transaction with the relay has begun. A row is ``sending`` on disk before the
    message's content is transmitted, and leaves that state only on the relay's
    final reply, so a crash can never hide a message that may have gone out.
``sent``
    the relay accepted the message (its reply is kept, with any Cc it refused).
``failed-temporary``
    a 4xx reply or a connection lost before the content was transmitted, after all
    retries of the run: the next run sends it.
``failed-permanent``
    a 5xx reply for the recipient or the message. The next run skips it unless asked
    (``retry_failed``): a wrong address, once corrected, is a new addressee anyway
    since the key is the address.
``unknown``
    the content was fully transmitted but the relay's final reply never came (the
    connection dropped, the reply timed out, the run was killed). The relay may have
    accepted it, so it is not resent unless asked (``retry_unknown``).

On opening, rows left ``sending`` by a run that crashed become ``unknown``
(:attr:`Journal.recovered` says how many). Only the holder of the mailing's
:class:`MailingLock` may open the journal for writing; ``dispatch status`` and the
like open it with ``readonly=True``, which never changes a row.

The files, in ``<mailing>/.dispatch/`` (0700; each file 0600): ``journal.sqlite3``;
while a run works, ``journal.sqlite3-wal`` and ``-shm``; ``journal.sqlite3.id``, the
marker that a journal was written here (a journal deleted next to it is
:class:`JournalMissing`, not a fresh start); and ``lock``. The WAL is checkpointed into
the journal file when a journal is opened for writing and when it is closed (a run's
end, Ctrl-C, an error), so a copy of ``journal.sqlite3`` alone then holds every row.
After a SIGKILL or a power cut, that file alone holds the rows as of the last
checkpoint (the killed run's opening, or SQLite's own every ~1000 pages of changes):
the rest is in the ``-wal``, and the next opening for writing puts it in. Copy a
mailing's ``.dispatch`` folder whole, or after a run has ended.

The journal knows its mailing (:meth:`Journal.bind`): a random id, the folder and the
reference it was made for; a copied folder edited for a new mailing is
:class:`JournalMismatch` until the user says ``--new-mailing``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sqlite3
import stat
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Generic, Literal, Protocol, Self, TypeVar, get_args

from dispatch.errors import JournalError, LockedError, OutputError
from dispatch.files import PRIVATE_FILE_MODE, private_dir, write_atomic

__all__ = [
    "NEW_MAILING_FLAG",
    "STATES",
    "BounceKind",
    "BounceRecord",
    "Change",
    "Journal",
    "JournalMismatch",
    "JournalMissing",
    "JournalRow",
    "MailingIdentity",
    "MailingLock",
    "Plan",
    "Plannable",
    "State",
    "evidence_of_sends",
    "set_aside",
]

State = Literal["planned", "sending", "sent", "failed-temporary", "failed-permanent", "unknown"]
STATES: tuple[State, ...] = get_args(State)

# 3: ``left_at`` (the row's addressee left the mailing), the mailing's identity in meta
# 4: ``approval`` (the approval a message was sent under), the ``bounces`` table
_SCHEMA_VERSION = 4
_SCHEMA = """
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
    sent_at TEXT,
    left_at TEXT,
    approval TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_state ON messages (state);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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


class Plannable(Protocol):
    """What the journal needs of a message (``dispatch.send.Outgoing`` has it)."""

    @property
    def key(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def recipients(self) -> tuple[str, ...]: ...
    @property
    def digest(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def categories(self) -> tuple[str, ...]: ...


T = TypeVar("T", bound=Plannable)


BounceKind = Literal["bounced", "delayed"]


@dataclass(frozen=True)
class BounceRecord:
    """A delivery status notification recorded against the journal (``dispatch bounces``).

    ``source_id`` identifies the notification and recipient (see
    :class:`dispatch.bounces.Bounce`): recording it twice changes nothing. ``key`` is the
    row it was matched to, or ``None`` when it matches no message of the mailing.
    ``bounced``: the server gave up; ``delayed``: it is still trying. ``recipient`` is
    the address that did not get it: the addressee's own, or one of its copies (Cc).
    """

    source_id: str
    key: str | None
    recipient: str
    message_id: str | None
    kind: BounceKind
    status: str | None
    diagnostic: str
    arrived: datetime | None = None
    recorded_at: datetime | None = None

    @property
    def permanent(self) -> bool:
        """Whether the address is wrong (correct it), as RFC 3463 and the action say.

        A 5.x.x status (or none, from a server that gave up) is permanent; a server that
        gave up (``failed``) on a 4.x.x status, a full mailbox, is not: the address is
        right, send again later. ``delayed`` never is.
        """
        return self.kind == "bounced" and (self.status is None or self.status.startswith("5"))


@dataclass(frozen=True)
class JournalRow:
    """One addressee's line in the journal."""

    key: str
    message_id: str
    recipients: tuple[str, ...]
    digest: str
    language: str
    categories: tuple[str, ...]
    state: State
    attempts: int
    code: int | None
    reply: str | None
    updated_at: datetime
    sent_at: datetime | None
    left_at: datetime | None = None  # when its addressee was found no longer in the mailing
    approval: str | None = None  # the approval (its manifest's id) it was planned under
    bounce: BounceRecord | None = None  # what came back for the addressee's own address
    copy_bounces: tuple[BounceRecord, ...] = ()  # what came back for its copies (Cc)

    @property
    def withdrawn(self) -> bool:
        """Left the mailing before anything of its message could reach the addressee."""
        return self.left_at is not None and self.state not in ("sent", "unknown", "sending")


@dataclass(frozen=True)
class Plan(Generic[T]):
    """What a run would do with each message of a mailing, given the journal.

    ``to_send`` keeps the order of the messages given. Messages already sent are
    never resent; if their content changed since (``changed``), they are reported so
    that the user can decide, but still not resent. ``not_in_mailing`` counts journal
    rows whose addressee is no longer part of the mailing.
    """

    to_send: tuple[T, ...]
    already_sent: tuple[T, ...]
    changed: tuple[T, ...]
    unknown: tuple[T, ...]
    failed_permanent: tuple[T, ...]
    not_in_mailing: int
    _new: tuple[T, ...] = field(default=(), repr=False)  # to insert
    _updated: tuple[T, ...] = field(default=(), repr=False)  # unsent, with new content

    @property
    def skipped(self) -> int:
        """How many messages this run leaves alone, for whatever reason."""
        return (
            len(self.already_sent)
            + len(self.changed)
            + len(self.unknown)
            + len(self.failed_permanent)
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Change:
    """One change of state of one row: what :meth:`Journal.apply` commits.

    Build it with the class methods, which say which states a row may leave.
    """

    key: str
    state: State
    allowed_from: tuple[State, ...]
    code: int | None = None
    reply: str | None = None
    attempts: bool = False  # count an attempt (the change to `sending`)
    sent: bool = False  # stamp sent_at

    @classmethod
    def sending(cls, key: str) -> Change:
        """A transaction for ``key`` begins (before anything is transmitted)."""
        return cls(key, "sending", _RETRYABLE, attempts=True)

    @classmethod
    def sent_ok(cls, key: str, code: int, reply: str) -> Change:
        """The relay accepted the message (its final reply)."""
        return cls(key, "sent", ("sending",), code=code, reply=reply, sent=True)

    @classmethod
    def failed(cls, key: str, *, permanent: bool, code: int | None, reply: str) -> Change:
        """A refusal (``permanent``: 5xx) or a temporary failure."""
        state: State = "failed-permanent" if permanent else "failed-temporary"
        return cls(key, state, ("sending",), code=code, reply=reply)

    @classmethod
    def unknown(cls, key: str, reply: str) -> Change:
        """The content went out but the relay's final reply never came."""
        return cls(key, "unknown", ("sending",), reply=reply)

    @classmethod
    def released(cls, key: str, reply: str) -> Change:
        """Back to ``planned``: the attempt stopped before any content went out."""
        return cls(key, "planned", ("sending",), reply=reply)


_RETRYABLE: tuple[State, ...] = ("planned", "failed-temporary", "unknown", "failed-permanent")


NEW_MAILING_FLAG = "--new-mailing"
"""The option the CLI offers to start a new journal when the old one is not this mailing's."""


@dataclass(frozen=True)
class MailingIdentity:
    """Which mailing a journal belongs to: kept in the journal at its first run.

    ``id`` is a random UUID drawn then (Message-IDs can be derived from it: it does not
    change when the reference is corrected); ``folder`` and ``folder_inode`` say where
    the mailing's folder was (its absolute path, and ``device:inode``, which a copy does
    not keep and a rename does); ``reference`` is what names the mailing to people (its
    reference and date, as the caller serialises them).
    """

    id: str
    folder: str
    folder_inode: str
    reference: str
    created_at: str


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


def _marker(path: Path) -> Path:
    """The file that says a journal was written here (kept when the journal is deleted)."""
    return path.with_name(path.name + ".id")


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def evidence_of_sends(path: Path) -> list[Path]:
    """Files beside the journal ``path`` that only a journal leaves: its marker, its WAL.

    Not the lock file: a dry run takes the lock too, and a first send after a dry run
    must not be refused. A journal of the first release has no marker until this version
    opens it once for writing.
    """
    return [p for p in (_marker(path), *_sidecars(path)) if p.exists()]


def set_aside(path: Path) -> Path | None:
    """Rename the journal ``path`` and the files beside it out of the way; the new name.

    ``journal.sqlite3`` becomes ``journal.set-aside-<UTC time>.sqlite3`` with its WAL
    (still readable with the usual tools). Nothing is deleted. ``None`` if there was no
    journal file (its marker or WAL alone are renamed all the same).
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = path.with_name(f"{path.stem}.set-aside-{stamp}{path.suffix}")
    moves = [(path, target), (_marker(path), _marker(target))]
    moves += list(zip(_sidecars(path), _sidecars(target), strict=True))
    try:
        for source, destination in moves:
            if source.exists():
                source.rename(destination)
    except OSError as error:
        raise _os_error(path, error, "setting the old journal aside") from None
    return target if target.exists() else None


class Journal:
    """The SQLite journal of one mailing. Open it with :meth:`Journal.open`."""

    def __init__(self, path: Path, connection: sqlite3.Connection, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self.recovered = 0  # rows found `sending` on opening, now `unknown`
        self._db = connection
        self._has_left = True  # a journal of schema 2 opened read-only has no left_at
        self._has_approval = True  # nor one of schema 3 an approval column
        self._has_bounces = True  # or a bounces table
        self._closed = False

    # -- opening and closing -------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False, new_mailing: bool = False) -> Journal:
        """Open (creating it and its folder if needed) the journal at ``path``.

        Opened for writing, rows left ``sending`` by a crashed run become ``unknown``
        and :attr:`recovered` counts them. ``readonly=True`` changes nothing, not
        even that: use it while another run may be sending.

        Every opening checks the journal (its tables, ``PRAGMA quick_check``): a damaged
        journal is a :class:`JournalError`, never read from. A missing or empty journal
        next to :func:`evidence_of_sends` is a :class:`JournalMissing` unless
        ``new_mailing`` (the evidence is then set aside). The journal, its WAL and its
        folder are private to their owner (0600, 0700).
        """
        path = Path(path)
        try:
            if readonly:
                connection = cls._connect_readonly(path)
            else:
                cls._create_private(path, new_mailing=new_mailing)
                # A run hands the connection to its journal writer thread while it
                # sends (never to two threads at once): see dispatch.send.
                connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise _sqlite_error(path, error, "opening it") from error
        except OSError as error:
            raise _os_error(path, error, "opening it") from error
        journal = cls(path, connection, readonly=readonly)
        try:
            journal._prepare()
        except sqlite3.Error as error:
            connection.close()
            raise _sqlite_error(path, error, "reading it") from error
        except BaseException:
            connection.close()
            raise
        if not readonly and not _marker(path).exists():
            journal._write_marker()
        return journal

    @staticmethod
    def _connect_readonly(path: Path) -> sqlite3.Connection:
        if not path.exists():
            evidence = evidence_of_sends(path)
            if evidence:
                raise JournalMissing(path, evidence)
            raise JournalError(
                f"{path}: there is no journal yet: nothing was sent for this "
                "mailing. Run the send command to start it."
            )
        uri = path.resolve().as_uri()
        try:
            connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
            connection.execute("PRAGMA schema_version").fetchone()
            return connection
        except sqlite3.OperationalError:
            # A WAL journal on a read-only disk with no -shm cannot be opened read-only
            # (SQLite would create the -shm); with no -wal there is nothing pending, and
            # nobody can write there meanwhile: read the file as it is.
            if any(p.exists() for p in _sidecars(path)) or os.access(path.parent, os.W_OK):
                raise
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)

    @staticmethod
    def _create_private(path: Path, *, new_mailing: bool) -> None:
        private_dir(path.parent)
        empty = not path.exists() or path.stat().st_size == 0
        if empty:
            evidence = evidence_of_sends(path)
            if evidence and not new_mailing:
                raise JournalMissing(path, evidence)
            if evidence:  # a stale WAL would be replayed into the new journal
                set_aside(path)
        # SQLite gives the -wal and -shm the mode of the journal file: create it 0600.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            status = os.fstat(fd)
            if status.st_uid == os.geteuid() and stat.S_IMODE(status.st_mode) != 0o600:
                os.fchmod(fd, PRIVATE_FILE_MODE)  # made 0644 by an older version
        finally:
            os.close(fd)
        for sidecar in _sidecars(path):
            with contextlib.suppress(FileNotFoundError):
                if stat.S_IMODE(sidecar.stat().st_mode) != 0o600:
                    os.chmod(sidecar, PRIVATE_FILE_MODE)

    def _write_marker(self) -> None:
        found = self.identity()
        try:
            write_atomic(
                _marker(self.path), f"{found.id if found else ''}\n".encode(), private=True
            )
        except OutputError as error:  # said as the journal's
            raise JournalError(str(error)) from None

    def _prepare(self) -> None:
        db = self._db
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA temp_store = MEMORY")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise JournalError(
                f"{self.path}: this journal was written by a newer version of dispatch "
                f"(schema {version}). Upgrade dispatch to continue this mailing."
            )
        if self.readonly:
            self._validate(version)
            return
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise JournalError(
                f"{self.path}: SQLite cannot use write-ahead logging here (mode {mode}); "
                "the folder may be on a network share. Keep mailings on a local disk."
            )
        # NORMAL: commits survive a crash of this process; mark_sending flushes (FULL).
        db.execute("PRAGMA synchronous = NORMAL")
        if version == 0 and self._tables():
            self._validate(version)  # tables but no version: not a dispatch journal
        if version < _SCHEMA_VERSION:  # new, or an older schema: IF NOT EXISTS, then add
            columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
            add = "".join(
                f"ALTER TABLE messages ADD COLUMN {column} TEXT;"
                for column in ("left_at", "approval")
                if columns and column not in columns
            )
            db.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} {add} PRAGMA user_version = {_SCHEMA_VERSION}; COMMIT;"
            )
        self._validate(_SCHEMA_VERSION)
        cursor = db.execute(
            "UPDATE messages SET state = 'unknown', updated_at = ?, code = NULL, reply = "
            "'interrupted while sending: the relay may or may not have accepted it' "
            "WHERE state = 'sending'",
            (_now(),),
        )
        self.recovered = cursor.rowcount
        # What a killed run left in the WAL goes into the journal file now, so that a
        # copy of that file alone holds every row from here on.
        self.checkpoint()

    def _tables(self) -> set[str]:
        return {
            name
            for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }

    def _validate(self, version: int) -> None:
        """Refuse a journal that is not whole: missing tables or columns, damaged pages."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(messages)")}
        missing = set(_REQUIRED_COLUMNS - columns)
        if version >= 2 and "meta" not in self._tables():
            missing.add("meta table")
        if not columns or missing:
            what = "no table of messages" if not columns else f"no {', '.join(sorted(missing))}"
            empty = " (it is empty)" if not columns and _empty(self.path) else ""
            raise JournalError(
                f"{self.path}: the journal cannot be read: it has {what}, so it is not a "
                f"whole dispatch journal{empty}"
                ". Keep a copy of it before doing anything else; if it was restored from "
                "a backup, restore it again, whole."
            )
        self._has_left = "left_at" in columns
        self._has_approval = "approval" in columns
        self._has_bounces = "bounces" in self._tables()
        problems = [row[0] for row in self._db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise JournalError(
                f"{self.path}: the journal cannot be read: SQLite finds it damaged "
                f"({'; '.join(problems[:3])}). Nothing is reported from it. Keep a copy of "
                "it and of the files beside it (journal.sqlite3-wal) before anything else, "
                "since it is the record of what was sent; restore it from a backup if you "
                "have one."
            )

    def checkpoint(self) -> bool:
        """Copy every committed change from the WAL into the journal file, emptying the WAL.

        Then the journal file alone (copied without its ``-wal``) holds every row.
        Called when the journal is opened for writing and when it is closed (a run's
        end, Ctrl-C, an error), and by the journal writer when it stops. False if it
        could not be done (another reader, a full disk): the changes stay safe in the
        WAL, and the next opening puts them in.
        """
        if self.readonly:
            return False
        try:
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error:
            return False
        return int(busy) == 0

    def close(self) -> None:
        """Checkpoint the WAL into the journal file and close; the journal cannot be used after."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self.readonly and not self._db.in_transaction:
                self.checkpoint()
        finally:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode (``wal`` for a journal opened for writing)."""
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    # -- planning --------------------------------------------------------------------

    def preview(
        self, messages: Sequence[T], *, retry_unknown: bool = False, retry_failed: bool = False
    ) -> Plan[T]:
        """Say what :meth:`plan` would do, changing nothing.

        ``retry_unknown`` sends again the messages whose fate is unknown (the relay
        may have accepted them: the addressee may get two copies, with the same
        Message-ID). ``retry_failed`` sends again those refused permanently.
        """
        known: dict[str, tuple[str, str, str]] = {
            key: (state, digest, recipients)
            for key, state, digest, recipients in self._db.execute(
                "SELECT key, state, digest, recipients FROM messages"
            )
        }
        seen: set[str] = set()
        to_send: list[T] = []
        already_sent: list[T] = []
        changed: list[T] = []
        unknown: list[T] = []
        failed_permanent: list[T] = []
        new: list[T] = []
        updated: list[T] = []
        for message in messages:
            if message.key in seen:
                raise ValueError(f"two messages of the mailing have the key {message.key!r}")
            seen.add(message.key)
            row = known.get(message.key)
            if row is None:
                new.append(message)
                to_send.append(message)
                continue
            state, digest, recipients = row
            same = digest == message.digest and recipients == _dump(message.recipients)
            if state == "sent":
                (already_sent if same else changed).append(message)
                continue
            if state == "unknown" and not retry_unknown:
                unknown.append(message)
                continue
            if state == "failed-permanent" and not retry_failed:
                failed_permanent.append(message)
                continue
            # planned, failed-temporary, or a retry that was asked for: the content sent
            # is the content of today's run.
            to_send.append(message)
            if not same:
                updated.append(message)
        return Plan(
            to_send=tuple(to_send),
            already_sent=tuple(already_sent),
            changed=tuple(changed),
            unknown=tuple(unknown),
            failed_permanent=tuple(failed_permanent),
            not_in_mailing=len(known.keys() - seen),
            _new=tuple(new),
            _updated=tuple(updated),
        )

    def plan(
        self,
        messages: Sequence[T],
        *,
        retry_unknown: bool = False,
        retry_failed: bool = False,
        inputs: str | None = None,
    ) -> Plan[T]:
        """Record the mailing's messages and return what to send and what to skip.

        New addressees are inserted as ``planned``; unsent rows whose content changed
        take the new content; ``inputs``, the fingerprint of what the messages were made
        from (see :mod:`dispatch.fingerprint`), is recorded with them. All of it is one
        transaction.
        """
        self._check_writable()
        plan = self.preview(messages, retry_unknown=retry_unknown, retry_failed=retry_failed)
        self._check_message_ids(plan.to_send)
        now = _now()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO messages (key, message_id, recipients, digest, language, "
                "categories, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'planned', ?)",
                (
                    (
                        m.key,
                        m.message_id,
                        _dump(m.recipients),
                        m.digest,
                        m.language,
                        _dump(m.categories),
                        now,
                    )
                    for m in plan._new
                ),
            )
            # The approval a message goes out under (None: sent without one); a message
            # sent keeps the one it was sent under.
            self._db.executemany(
                "UPDATE messages SET approval = ? WHERE key = ? AND state != 'sent'",
                ((getattr(m, "approval", None), m.key) for m in plan.to_send),
            )
            # Never the Message-ID: it is fixed at the row's first plan (message_id_for).
            self._db.executemany(
                "UPDATE messages SET recipients = ?, digest = ?, language = ?, "
                "categories = ?, updated_at = ? WHERE key = ? AND state != 'sent'",
                (
                    (
                        _dump(m.recipients),
                        m.digest,
                        m.language,
                        _dump(m.categories),
                        now,
                        m.key,
                    )
                    for m in plan._updated
                ),
            )
            if self._has_left:  # an addressee back in the mailing is no longer withdrawn
                self._db.executemany(
                    "UPDATE messages SET left_at = NULL WHERE key = ? AND left_at IS NOT NULL",
                    ((m.key,) for m in messages),
                )
            if inputs is not None:
                self.record_inputs(inputs)
        return plan

    def _check_message_ids(self, to_send: Sequence[Plannable]) -> None:
        stored = self.message_ids()
        wrong = [m for m in to_send if stored.get(m.key, m.message_id) != m.message_id]
        if wrong:
            first = wrong[0]
            raise JournalError(
                f"{self.path}: {len(wrong)} message(s) would be sent again under a new "
                f"Message-ID ({first.key}: {first.message_id}, where the journal holds "
                f"{stored[first.key]}), so their addressees could not recognise a second "
                "copy. Nothing was sent. This is a fault of dispatch (the messages must be "
                "built with Journal.message_id_for); please report it."
            )

    # -- the Message-ID of each addressee -------------------------------------------

    def message_ids(self) -> dict[str, str]:
        """The Message-ID fixed for each addressee of the journal (all of them, at once)."""
        return dict(self._db.execute("SELECT key, message_id FROM messages"))

    def message_id_for(self, key: str, proposed: str) -> str:
        """The Message-ID of ``key``'s message: the journal's if it has one, else ``proposed``.

        A message keeps its first Message-ID for every attempt, whatever changed since
        (a reference corrected between runs): a recipient who gets a message twice
        after an ``unknown`` can see it is the same one. ``proposed`` is recorded by
        :meth:`plan` with the row; nothing is sent before, so nothing needs keeping.
        """
        found = self._db.execute("SELECT message_id FROM messages WHERE key = ?", (key,)).fetchone()
        return proposed if found is None else str(found[0])

    # -- the mailing this journal belongs to ---------------------------------------

    @classmethod
    def open_for_mailing(
        cls, path: Path, *, folder: Path, reference: str, new_mailing: bool = False
    ) -> Journal:
        """Open the journal of the mailing in ``folder`` for writing, checking it is its own.

        Raises :class:`JournalMissing` (the journal is gone but was there) or
        :class:`JournalMismatch` (it belongs to another mailing: a copied folder) unless
        ``new_mailing``, which sets the old journal aside and starts a new one.
        """
        journal = cls.open(path, new_mailing=new_mailing)
        try:
            journal.bind(folder, reference)
        except JournalMismatch:
            journal.close()
            if not new_mailing:
                raise
            set_aside(path)
            journal = cls.open(path, new_mailing=True)
            journal.bind(folder, reference)
        except BaseException:
            journal.close()
            raise
        return journal

    def identity(self) -> MailingIdentity | None:
        """The mailing this journal was made for (None: not yet bound, or an old journal)."""
        try:
            meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key LIKE 'mailing.%'"))
        except sqlite3.OperationalError:  # schema 1, read-only: no meta table
            return None
        if "mailing.id" not in meta:
            return None
        return MailingIdentity(
            id=meta["mailing.id"],
            folder=meta.get("mailing.folder", ""),
            folder_inode=meta.get("mailing.folder_inode", ""),
            reference=meta.get("mailing.reference", ""),
            created_at=meta.get("mailing.created_at", ""),
        )

    def bind(self, folder: Path, reference: str) -> MailingIdentity:
        """Check that this journal is the one of the mailing in ``folder`` named ``reference``.

        The rule: a journal belongs to another mailing when the folder it sees is not the
        one it was made in (another absolute path, or the same path but another folder:
        its device and inode differ, as a copy's do) *and* the reference changed too,
        and the journal holds rows. Either alone is an ordinary change of one mailing: a
        folder moved or renamed keeps its reference; a reference corrected in place
        keeps its folder (and each addressee keeps its Message-ID). Both at once is what
        copying last month's folder for a new circular looks like, and the journal's
        rows would then pass this mailing's letters off as sent.

        On the first call the identity is created (a random UUID); afterwards the folder
        and reference seen are recorded. Raises :class:`JournalMismatch`.
        """
        self._check_writable()
        where = Path(folder).resolve()
        status = where.stat()
        inode = f"{status.st_dev}:{status.st_ino}"
        found = self.identity()
        if found is not None:
            moved = found.folder != str(where) or found.folder_inode != inode
            renamed = found.reference != reference
            has_rows = self._db.execute("SELECT 1 FROM messages LIMIT 1").fetchone() is not None
            if moved and renamed and has_rows:
                raise JournalMismatch(self.path, found, str(where), reference)
        identity = MailingIdentity(
            id=found.id if found else str(uuid.uuid4()),
            folder=str(where),
            folder_inode=inode,
            reference=reference,
            created_at=found.created_at if found else _now(),
        )
        with self._transaction():
            self._db.executemany(
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
        if found is None:
            self._write_marker()
        return identity

    # -- rows whose addressee left the mailing --------------------------------------

    def withdraw(self, present: Iterable[str]) -> dict[State, int]:
        """Record which rows' addressees are no longer in the mailing; count them by state.

        ``present`` is every key of the whole mailing (not a ``--only`` selection:
        the others would pass for gone). A row that left is kept, stamped ``left_at``:
        if it was never delivered (planned, failed) it is *withdrawn* and no longer
        counted by :meth:`counts`; if it was sent (or may have been: unknown) it still
        is, and :meth:`left` counts it as "sent, no longer in the mailing". An addressee
        who comes back is in the mailing again.
        """
        self._check_writable()
        now = _now()
        with self._transaction():
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS present (key TEXT PRIMARY KEY)")
            self._db.execute("DELETE FROM temp.present")
            self._db.executemany(
                "INSERT OR IGNORE INTO temp.present (key) VALUES (?)", ((k,) for k in present)
            )
            self._db.execute(
                "UPDATE messages SET left_at = ? WHERE left_at IS NULL "
                "AND key NOT IN (SELECT key FROM temp.present)",
                (now,),
            )
            self._db.execute(
                "UPDATE messages SET left_at = NULL WHERE left_at IS NOT NULL "
                "AND key IN (SELECT key FROM temp.present)"
            )
            self._db.execute("DELETE FROM temp.present")
        return self.left()

    def left(self) -> dict[State, int]:
        """Rows whose addressee left the mailing, by state (``sent``: sent, then left)."""
        counts: dict[State, int] = dict.fromkeys(STATES, 0)
        if not self._has_left:
            return counts
        for state, count in self._db.execute(
            "SELECT state, COUNT(*) FROM messages WHERE left_at IS NOT NULL GROUP BY state"
        ):
            counts[state] = count
        return counts

    # -- changes of state ----------------------------------------------------------

    def mark_sending(self, key: str) -> None:
        """Record that a transaction for ``key`` begins (before anything is transmitted)."""
        self._one(Change.sending(key))

    def mark_sent(self, key: str, code: int, reply: str) -> None:
        """Record the relay's acceptance of the message (its final reply)."""
        self._one(Change.sent_ok(key, code, reply))

    def mark_failed(self, key: str, *, permanent: bool, code: int | None, reply: str) -> None:
        """Record a refusal (``permanent``: 5xx) or a temporary failure of ``key``."""
        self._one(Change.failed(key, permanent=permanent, code=code, reply=reply))

    def mark_unknown(self, key: str, reply: str) -> None:
        """Record that the content went out but the relay's final reply never came."""
        self._one(Change.unknown(key, reply))

    def release(self, key: str, reply: str) -> None:
        """Put ``key`` back to ``planned``: its attempt stopped before any content went out."""
        self._one(Change.released(key, reply))

    def _one(self, change: Change) -> None:
        error = self.apply([change])[0]
        if error is not None:
            raise error

    def apply(self, changes: Sequence[Change]) -> list[RuntimeError | None]:
        """Commit ``changes`` in one transaction, in order; what went wrong with each.

        A change whose row is not in one of its ``allowed_from`` states changes nothing
        and gets a :class:`RuntimeError` in the returned list (the others still commit).
        If any change is to ``sending``, the commit is flushed to the disk (fsync) before
        this returns: the group commit of all connections' marks costs one flush where
        each mark alone would cost one. An SQLite error rolls the whole group back and
        is raised. Safe to call from one thread other than the opener's at a time.
        """
        self._check_writable()
        if not changes:
            return []
        now = _now()
        durable = any(change.state == "sending" for change in changes)
        errors: list[RuntimeError | None] = []
        if durable:  # on the disk before any of the message goes out
            self._db.execute("PRAGMA synchronous = FULL")
        try:
            with self._transaction():
                for change in changes:
                    cursor = self._db.execute(*_update(change, now))
                    errors.append(None if cursor.rowcount == 1 else self._refusal(change))
        finally:
            if durable:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("PRAGMA synchronous = NORMAL")
        return errors

    def _refusal(self, change: Change) -> RuntimeError:
        found = self._db.execute(
            "SELECT state FROM messages WHERE key = ?", (change.key,)
        ).fetchone()
        return RuntimeError(
            f"journal {self.path}: cannot mark {change.key!r} {change.state}: it is "
            f"{found[0] if found else 'not in the journal'}"
        )

    # -- what the journal knows of the mailing's inputs ----------------------------

    def inputs(self) -> str | None:
        """The fingerprint recorded by :meth:`record_inputs`, if any."""
        try:
            found = self._db.execute("SELECT value FROM meta WHERE key = 'inputs'").fetchone()
        except sqlite3.OperationalError:  # a journal of schema 1 opened read-only
            return None
        return None if found is None else str(found[0])

    def record_inputs(self, fingerprint: str) -> None:
        """Record the fingerprint of the inputs whose messages :meth:`plan` recorded."""
        self._check_writable()
        try:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('inputs', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (fingerprint,),
            )
        except sqlite3.Error as error:
            raise _sqlite_error(self.path, error, "recording the inputs") from error

    # -- reading ---------------------------------------------------------------------

    def counts(self) -> dict[State, int]:
        """How many rows are in each state (every state is present, maybe with 0).

        Withdrawn rows (their addressee left the mailing before anything was delivered,
        see :meth:`withdraw`) are not counted: the totals are the mailing's.
        """
        counts: dict[State, int] = dict.fromkeys(STATES, 0)
        where = (
            " WHERE left_at IS NULL OR state IN ('sent', 'unknown', 'sending')"
            if self._has_left
            else ""
        )
        for state, count in self._db.execute(
            f"SELECT state, COUNT(*) FROM messages{where} GROUP BY state"
        ):
            counts[state] = count
        return counts

    def rows(self, states: Iterable[State] | None = None) -> list[JournalRow]:
        """The rows in ``states`` (all rows if ``None``), in the order they were planned."""
        if states is None:
            return self._select("", ())
        wanted = tuple(states)
        return self._select(f" WHERE state IN ({','.join('?' * len(wanted))})", wanted)

    def _select(self, where: str, parameters: tuple[str, ...]) -> list[JournalRow]:
        sql = (
            "SELECT key, message_id, recipients, digest, language, categories, state, "
            "attempts, code, reply, updated_at, sent_at, "
            + ("left_at" if self._has_left else "NULL")
            + (", approval" if self._has_approval else ", NULL")
            + " FROM messages"
        )
        bounces = self._bounce_by_key()
        rows = [
            JournalRow(
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
                sent_at=None if sent_at is None else datetime.fromisoformat(sent_at),
                left_at=None if left_at is None else datetime.fromisoformat(left_at),
                approval=approval,
            )
            for (
                key,
                message_id,
                recipients,
                digest,
                language,
                categories,
                state,
                attempts,
                code,
                reply,
                updated_at,
                sent_at,
                left_at,
                approval,
            ) in self._db.execute(sql + where + " ORDER BY rowid", parameters)
        ]
        return [_with_bounces(row, bounces.get(row.key, [])) for row in rows]

    # -- bounces -----------------------------------------------------------------------

    def record_bounces(self, records: Iterable[BounceRecord]) -> int:
        """Record delivery status notifications; return how many were new.

        Keyed by ``source_id``: a notification recorded already (the same mailbox read
        twice) is left as it is, so reading a mailbox again changes nothing.
        """
        self._check_writable()
        now = _now()
        before = self._db.total_changes
        with self._transaction():
            self._db.executemany(
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
                        now,
                    )
                    for r in records
                ),
            )
        return self._db.total_changes - before

    def bounces(self) -> list[BounceRecord]:
        """Every notification recorded, matched or not, in the order recorded."""
        if not self._has_bounces:
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
                arrived=None if arrived is None else datetime.fromisoformat(arrived),
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
            ) in self._db.execute(
                "SELECT source_id, key, recipient, message_id, kind, status, diagnostic, "
                "arrived, recorded_at FROM bounces ORDER BY rowid"
            )
        ]

    def backup(self, target: Path) -> None:
        """Write a consistent copy of the journal to ``target`` (SQLite's backup API).

        A file copy of a journal in WAL mode may miss what the ``-wal`` holds, or catch
        a page in the middle of a commit; the backup holds every committed row.
        """
        try:
            with contextlib.closing(sqlite3.connect(target)) as copy:
                self._db.backup(copy)
        except sqlite3.Error as error:
            raise _sqlite_error(self.path, error, "copying it") from error

    def _bounce_by_key(self) -> dict[str, list[BounceRecord]]:
        """For each row, every notification recorded against it, in the order recorded."""
        found: dict[str, list[BounceRecord]] = {}
        for record in self.bounces():
            if record.key is not None:
                found.setdefault(record.key, []).append(record)
        return found

    def row(self, key: str) -> JournalRow | None:
        """The row of ``key``, if the journal has one."""
        found = self._select(" WHERE key = ?", (key,))
        return found[0] if found else None

    # -- helpers -----------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self.readonly:
            raise RuntimeError(f"journal {self.path} was opened read-only")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction; an SQLite error in it is a :class:`JournalError` that says why."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back already
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise _sqlite_error(self.path, error, "recording a change") from error


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

# SQLite's primary result codes (sqlite3.Error.sqlite_errorcode & 0xFF)
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_READONLY, _SQLITE_IOERR = 3, 5, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26

_KEEP_A_COPY = (
    "Keep a copy of it and of the files beside it (journal.sqlite3-wal) before anything "
    "else, since it is the record of what was sent; restore it from a backup if you have "
    "one. Nothing is reported or sent from a damaged journal."
)


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def _sqlite_error(path: Path, error: sqlite3.Error, doing: str) -> JournalError:
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
            f"dispatch journal. {_KEEP_A_COPY}"
        )
    if code in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN):
        return JournalError(
            f"{path}: the journal cannot be written ({text}) while {doing}: its folder is "
            "read-only, or you may not write there. Copy the mailing folder, with its "
            ".dispatch folder, to a disk you can write, or ask for write permission, and "
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
        f"or may be damaged. {_KEEP_A_COPY}"
    )


def _os_error(path: Path, error: OSError, doing: str) -> JournalError:
    """The words for a system error on the journal's folder, its lock or its files."""
    hints = {
        errno.ENOSPC: "the disk is full: free some space on it and run again",
        errno.EDQUOT: "your disk quota is used up: free some space and run again",
        errno.EROFS: "the disk is read-only: copy the mailing folder, with its .dispatch "
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


def _update(change: Change, now: str) -> tuple[str, list[object]]:
    """The UPDATE statement of ``change`` and its parameters."""
    marks = ",".join("?" * len(change.allowed_from))
    sql = (
        "UPDATE messages SET state = ?, updated_at = ?"
        + (", attempts = attempts + 1" if change.attempts else ", code = ?, reply = ?")
        + (", sent_at = ?" if change.sent else "")
        + f" WHERE key = ? AND state IN ({marks})"
    )
    parameters: list[object] = [change.state, now]
    if not change.attempts:
        parameters += [change.code, change.reply]
    if change.sent:
        parameters.append(now)
    parameters += [change.key, *change.allowed_from]
    return sql, parameters


def _dump(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


class MailingLock:
    """Only one run at a time may work on a mailing: an exclusive ``flock`` on a file.

    The lock file holds the holder's process id, host name and start time, so that a
    second run can say who holds it. The kernel releases a ``flock`` when its process
    dies, however it dies, so a lock file left by a killed run never blocks the next.
    The file itself is left in place (removing it would let two runs lock two
    different files of the same name).

        with MailingLock(mailing_dir / ".dispatch" / "lock"):
            ...
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`LockedError` at once naming its holder."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path}: this lock is already held by this object")
        try:
            private_dir(self.path.parent)
        except OutputError as error:
            raise JournalError(str(error)) from None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise _os_error(self.path, error, "taking the mailing's lock") from None
        try:
            status = os.fstat(fd)
            if status.st_uid == os.geteuid() and stat.S_IMODE(status.st_mode) != 0o600:
                os.fchmod(fd, PRIVATE_FILE_MODE)  # made 0644 by an older version
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _read_holder(fd)
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise _os_error(self.path, error, "taking the mailing's lock") from None
            raise LockedError(
                f"{self.path}: another dispatch run is working on this mailing "
                f"({holder}). Wait for it to finish, or stop that process; a lock left "
                "by a process that no longer exists does not block, so there is no file "
                "to delete."
            ) from None
        started = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} {started}\n".encode(), 0)
        except OSError as error:
            os.close(fd)
            raise _os_error(self.path, error, "taking the mailing's lock") from None
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (emptying the file first, so nobody reads a stale holder)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 512, 0).decode("utf-8", "replace").split()
    except OSError:
        text = []
    if len(text) >= 3:
        return f"process {text[0]} on {text[1]}, started {text[2]}"
    if text:
        return f"process {text[0]}"
    return "a process that is just starting"


def journal_dir(folder: Path) -> Path:
    """Where the journal and lock of the mailing in ``folder`` live: ``<folder>/.dispatch/``."""
    return folder / ".dispatch"


def journal_path(folder: Path) -> Path:
    """The journal of the mailing in ``folder``: the record of every message sent."""
    return journal_dir(folder) / "journal.sqlite3"


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
