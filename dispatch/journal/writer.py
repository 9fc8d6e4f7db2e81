"""Group commit: the journal's changes of a whole run, written by one thread.

While a mailing is sent, every connection marks a row ``sending`` before the message's
content goes out, and that mark must be flushed to the disk (one ``fsync``, a few
milliseconds). Done on the event loop, each flush stopped every connection; done one
by one, eight connections queued behind each other's flushes. :class:`JournalWriter`
takes the changes of all connections, and commits whatever has arrived since its last
commit in one transaction with one flush, in a thread of its own (SQLite releases the
GIL while it writes), while the event loop goes on talking to the relay.

The order of changes is kept (one queue, one thread), so a row's ``sending`` is always
committed before the change that ends it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor

from dispatch.journal.core import Journal
from dispatch.journal.states import Change

__all__ = ["JournalWriter"]


class JournalWriter:
    """Commits :class:`~dispatch.journal.states.Change` objects in groups, in a thread.

    The journal's connection belongs to the writer from the first :meth:`submit` to
    :meth:`close`: nothing else may use the journal meanwhile. After :meth:`close`, a
    change is committed at once by the caller's thread (a worker cancelled late, after
    its run was torn down, still records what became of its message).
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.commits = 0  # transactions committed (each may hold many changes)
        self._lock = threading.Lock()
        self._pending: list[tuple[Change, Future[None]]] = []
        self._scheduled = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispatch-journal")
        self._lost: list[BaseException] = []  # errors of changes nobody waited for
        self._closed = False

    def submit(self, change: Change) -> Future[None]:
        """Queue ``change``; the future is done once it is committed (or failed).

        Called from one thread (the event loop's), like :meth:`close`.
        """
        done: Future[None] = Future()
        with self._lock:
            self._pending.append((change, done))
            start = not self._scheduled
            self._scheduled = True
        if start and self._closed:
            self._commit()
        elif start:
            self._thread.submit(self._commit)
        return done

    def write(self, change: Change) -> asyncio.Future[None]:
        """Queue ``change`` now; await the result to know it is committed.

        Queued at the call, not when awaited, so changes keep the order of the calls.
        Wrap the wait in :func:`asyncio.shield` where it may be cancelled: the change is
        committed all the same, and whatever follows it for the same row finds it.
        """
        return asyncio.wrap_future(self.submit(change))

    def post(self, change: Change) -> None:
        """Queue ``change`` without waiting; :meth:`close` raises if it failed."""
        self.submit(change).add_done_callback(self._keep_error)

    def _keep_error(self, done: Future[None]) -> None:
        error = done.exception()
        if error is not None:
            self._lost.append(error)

    def _commit(self) -> None:
        with self._lock:
            group, self._pending = self._pending, []
            self._scheduled = False
        errors: Sequence[BaseException | None]
        try:
            errors = self.journal.apply([change for change, _ in group])
            self.commits += 1
        except BaseException as failure:  # noqa: BLE001 - handed to every waiter
            errors = [failure] * len(group)
        for (_, done), error in zip(group, errors, strict=True):
            try:
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)
            except InvalidStateError:  # the waiter was cancelled: the change stands
                pass

    def close(self) -> None:
        """Wait for every queued change; raise the first error nobody waited for."""
        self._thread.shutdown(wait=True)
        self._closed = True
        if self._pending:  # queued while the thread was stopping
            self._commit()
        self.journal.checkpoint()  # the journal file alone then holds every change
        if self._lost:
            raise self._lost[0]
