"""The journal of one mailing, as its callers use it: open it, plan, mark, read, close.

:class:`Journal` holds the connection and says what each operation means; the work is
done by the parts of this package, one job each: :mod:`~dispatch.journal.schema`,
:mod:`~dispatch.journal.states`, :mod:`~dispatch.journal.planning`,
:mod:`~dispatch.journal.queries`, :mod:`~dispatch.journal.identity`,
:mod:`~dispatch.journal.disk`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from dispatch.errors import JournalError, OutputError
from dispatch.files import write_atomic
from dispatch.journal import disk, identity, opening, planning, queries, schema
from dispatch.journal.bounce_log import record_bounces
from dispatch.journal.errors import JournalMismatch, sqlite_error
from dispatch.journal.records import BounceRecord, JournalRow, MailingIdentity, Plan, State, T
from dispatch.journal.sql import now
from dispatch.journal.states import Change, IllegalTransition, apply_changes

__all__ = ["Journal"]


class Journal:
    """The SQLite journal of one mailing. Open it with :meth:`Journal.open`."""

    def __init__(self, path: Path, connection: sqlite3.Connection, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self.recovered = 0  # rows found `sending` on opening, now `unknown`
        self._db = connection
        self._has = schema.Features()  # an old journal opened read-only lacks some parts
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
        connection = opening.connect(path, readonly=readonly, new_mailing=new_mailing)
        journal = cls(path, connection, readonly=readonly)
        try:
            journal._has, journal.recovered = opening.prepare(connection, path, readonly=readonly)
        except BaseException:
            connection.close()
            raise
        if not readonly:
            # What a killed run left in the WAL goes into the journal file now, so that
            # a copy of that file alone holds every row from here on.
            journal.checkpoint()
            if not disk.marker(path).exists():
                journal._write_marker()
        return journal

    def _write_marker(self) -> None:
        found = self.identity()
        try:
            text = f"{found.id if found else ''}\n".encode()
            write_atomic(disk.marker(self.path), text, private=True)
        except OutputError as error:  # said as the journal's
            raise JournalError(str(error)) from None

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
            disk.set_aside(path)
            journal = cls.open(path, new_mailing=True)
            journal.bind(folder, reference)
        except BaseException:
            journal.close()
            raise
        return journal

    def checkpoint(self) -> bool:
        """Copy every committed change from the WAL into the journal file, emptying the WAL.

        Then the journal file alone (copied without its ``-wal``) holds every row. False
        if it could not be done (another reader, a full disk): the changes stay safe in
        the WAL, and the next opening puts them in.
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

    def backup(self, target: Path) -> None:
        """Write a consistent copy of the journal to ``target`` (SQLite's backup API).

        A file copy of a journal in WAL mode may miss what the ``-wal`` holds, or catch
        a page in the middle of a commit; the backup holds every committed row.
        """
        try:
            with contextlib.closing(sqlite3.connect(target)) as copy:
                self._db.backup(copy)
        except sqlite3.Error as error:
            raise sqlite_error(self.path, error, "copying it") from error

    # -- planning --------------------------------------------------------------------

    def preview(
        self, messages: Sequence[T], *, retry_unknown: bool = False, retry_failed: bool = False
    ) -> Plan[T]:
        """Say what :meth:`plan` would do, changing nothing.

        ``retry_unknown`` sends again the messages whose fate is unknown (the relay
        may have accepted them: the addressee may get two copies, with the same
        Message-ID). ``retry_failed`` sends again those refused permanently.
        """
        known = queries.states_and_contents(self._db)
        return planning.preview(
            known, messages, retry_unknown=retry_unknown, retry_failed=retry_failed
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
        from (see :mod:`dispatch.fingerprint`), is recorded with them. One transaction.
        """
        self._check_writable()
        plan = self.preview(messages, retry_unknown=retry_unknown, retry_failed=retry_failed)
        planning.check_message_ids(self._db, self.path, plan.to_send)
        planning.record(self._db, self.path, self._has, plan, messages, inputs)
        return plan

    def message_ids(self) -> dict[str, str]:
        """The Message-ID fixed for each addressee of the journal (all of them, at once)."""
        return queries.message_ids(self._db)

    def message_id_for(self, key: str, proposed: str) -> str:
        """The Message-ID of ``key``'s message: the journal's if it has one, else ``proposed``.

        A message keeps its first Message-ID for every attempt, whatever changed since
        (a reference corrected between runs): a recipient who gets a message twice
        after an ``unknown`` can see it is the same one.
        """
        return queries.message_ids(self._db, key).get(key, proposed)

    def identity(self) -> MailingIdentity | None:
        """The mailing this journal was made for (None: not yet bound, or an old journal)."""
        return queries.identity(self._db, self._has)

    def bind(self, folder: Path, reference: str) -> MailingIdentity:
        """Check that this journal is the one of the mailing in ``folder`` named ``reference``.

        See :mod:`dispatch.journal.identity` for the rule. Raises :class:`JournalMismatch`.
        """
        self._check_writable()
        found, created = identity.bind(self._db, self.path, folder, reference)
        if created:
            self._write_marker()
        return found

    def withdraw(self, present: Iterable[str]) -> dict[State, int]:
        """Record which rows' addressees are no longer in the mailing; count them by state.

        ``present`` is every key of the whole mailing (not a ``--only`` selection). A row
        that left is kept, stamped ``left_at``: never delivered (planned, failed), it is
        *withdrawn* and no longer counted by :meth:`counts`; sent (or maybe: unknown), it
        still is, and :meth:`left` counts it. An addressee who comes back is in again.
        """
        self._check_writable()
        planning.withdraw(self._db, self.path, present)
        return self.left()

    def inputs(self) -> str | None:
        """The fingerprint recorded by :meth:`record_inputs`, if any."""
        return queries.inputs(self._db, self._has)

    def record_inputs(self, fingerprint: str) -> None:
        """Record the fingerprint of the inputs whose messages :meth:`plan` recorded."""
        self._check_writable()
        try:
            planning.record_inputs(self._db, fingerprint)
        except sqlite3.Error as error:
            raise sqlite_error(self.path, error, "recording the inputs") from error

    # -- changes of state (the rules: dispatch.journal.states) ----------------------

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

    def apply(self, changes: Sequence[Change]) -> list[IllegalTransition | None]:
        """Commit ``changes`` in one transaction, in order; what went wrong with each.

        A change the row's state does not allow changes nothing and gets an
        :class:`IllegalTransition` in the returned list (the others still commit). A
        group with a change to ``sending`` is flushed to the disk before this returns.
        Safe to call from one thread other than the opener's at a time.
        """
        self._check_writable()
        return apply_changes(self._db, self.path, changes, now())

    # -- reading (the queries: dispatch.journal.queries) ----------------------------

    def counts(self) -> dict[State, int]:
        """How many rows are in each state (every state is present, maybe with 0).

        Withdrawn rows (their addressee left the mailing before anything was delivered,
        see :meth:`withdraw`) are not counted: the totals are the mailing's.
        """
        return queries.counts(self._db, self._has)

    def left(self) -> dict[State, int]:
        """Rows whose addressee left the mailing, by state (``sent``: sent, then left)."""
        return queries.left(self._db, self._has)

    def rows(self, states: Iterable[State] | None = None) -> list[JournalRow]:
        """The rows in ``states`` (all rows if ``None``), in the order they were planned."""
        return queries.rows(self._db, self._has, states)

    def row(self, key: str) -> JournalRow | None:
        """The row of ``key``, if the journal has one."""
        found = queries.rows(self._db, self._has, key=key)
        return found[0] if found else None

    def record_bounces(self, records: Iterable[BounceRecord]) -> int:
        """Record delivery status notifications; return how many were new.

        Keyed by ``source_id``: a notification recorded already (the same mailbox read
        twice) is left as it is, so reading a mailbox again changes nothing.
        """
        self._check_writable()
        return record_bounces(self._db, self.path, records)

    def bounces(self) -> list[BounceRecord]:
        """Every notification recorded, matched or not, in the order recorded."""
        return queries.bounces(self._db, self._has)

    def _check_writable(self) -> None:
        if self.readonly:
            raise RuntimeError(f"journal {self.path} was opened read-only")
