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
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Generic, Literal, Protocol, Self, TypeVar, get_args

from dispatch.errors import JournalError, LockedError

__all__ = [
    "STATES",
    "Change",
    "Journal",
    "JournalRow",
    "MailingLock",
    "Plan",
    "Plannable",
    "State",
]

State = Literal["planned", "sending", "sent", "failed-temporary", "failed-permanent", "unknown"]
STATES: tuple[State, ...] = get_args(State)

_SCHEMA_VERSION = 2
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
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_state ON messages (state);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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


class Journal:
    """The SQLite journal of one mailing. Open it with :meth:`Journal.open`."""

    def __init__(self, path: Path, connection: sqlite3.Connection, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self.recovered = 0  # rows found `sending` on opening, now `unknown`
        self._db = connection

    # -- opening and closing -------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> Journal:
        """Open (creating it and its folder if needed) the journal at ``path``.

        Opened for writing, rows left ``sending`` by a crashed run become ``unknown``
        and :attr:`recovered` counts them. ``readonly=True`` changes nothing, not
        even that: use it while another run may be sending.
        """
        path = Path(path)
        try:
            if readonly:
                if not path.exists():
                    raise JournalError(
                        f"{path}: there is no journal yet: nothing was sent for this "
                        "mailing. Run the send command to start it."
                    )
                connection = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                # A run hands the connection to its journal writer thread while it
                # sends (never to two threads at once): see dispatch.send.
                connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as error:
            raise JournalError(
                f"{path}: the journal cannot be opened ({error}). Check that the folder "
                "exists and can be written."
            ) from error
        journal = cls(path, connection, readonly=readonly)
        try:
            journal._prepare()
        except sqlite3.Error as error:
            connection.close()
            raise JournalError(
                f"{path}: the journal cannot be read ({error}). It may not be a dispatch "
                "journal or may be damaged; keep a copy before doing anything else, since "
                "it is the record of what was sent."
            ) from error
        except BaseException:
            connection.close()
            raise
        return journal

    def _prepare(self) -> None:
        db = self._db
        db.execute("PRAGMA busy_timeout = 5000")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise JournalError(
                f"{self.path}: this journal was written by a newer version of dispatch "
                f"(schema {version}). Upgrade dispatch to continue this mailing."
            )
        if self.readonly:
            return
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise JournalError(
                f"{self.path}: SQLite cannot use write-ahead logging here (mode {mode}); "
                "the folder may be on a network share. Keep mailings on a local disk."
            )
        # NORMAL: commits survive a crash of this process; mark_sending flushes (FULL).
        db.execute("PRAGMA synchronous = NORMAL")
        if version < _SCHEMA_VERSION:  # new, or version 1 (no meta table): IF NOT EXISTS
            db.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {_SCHEMA_VERSION}; COMMIT;"
            )
        cursor = db.execute(
            "UPDATE messages SET state = 'unknown', updated_at = ?, code = NULL, reply = "
            "'interrupted while sending: the relay may or may not have accepted it' "
            "WHERE state = 'sending'",
            (_now(),),
        )
        self.recovered = cursor.rowcount

    def close(self) -> None:
        """Close the database; the journal cannot be used after."""
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
            self._db.executemany(
                "UPDATE messages SET message_id = ?, recipients = ?, digest = ?, language = ?, "
                "categories = ?, updated_at = ? WHERE key = ? AND state != 'sent'",
                (
                    (
                        m.message_id,
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
            if inputs is not None:
                self.record_inputs(inputs)
        return plan

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
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('inputs', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (fingerprint,),
        )

    # -- reading ---------------------------------------------------------------------

    def counts(self) -> dict[State, int]:
        """How many rows are in each state (every state is present, maybe with 0)."""
        counts: dict[State, int] = dict.fromkeys(STATES, 0)
        for state, count in self._db.execute("SELECT state, COUNT(*) FROM messages GROUP BY state"):
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
            "attempts, code, reply, updated_at, sent_at FROM messages"
        )
        return [
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
            ) in self._db.execute(sql + where + " ORDER BY rowid", parameters)
        ]

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
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _read_holder(fd)
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise LockedError(
                f"{self.path}: another dispatch run is working on this mailing "
                f"({holder}). Wait for it to finish, or stop that process; a lock left "
                "by a process that no longer exists does not block, so there is no file "
                "to delete."
            ) from None
        started = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} {started}\n".encode(), 0)
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
