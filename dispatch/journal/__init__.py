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
asking. While a run sends, :class:`dispatch.journal.writer.JournalWriter` commits the
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

The parts, one job each:

- :mod:`~dispatch.journal.schema`: the tables and their migrations (the one place);
- :mod:`~dispatch.journal.states`: the states and the only code that changes one;
- :mod:`~dispatch.journal.planning`: which messages a run sends;
- :mod:`~dispatch.journal.queries`: what status, report, archive and bounces read;
- :mod:`~dispatch.journal.writer`: the group commit of a run's changes;
- :mod:`~dispatch.journal.lock`: one run at a time per mailing;
- :mod:`~dispatch.journal.core`: :class:`Journal`, which callers open.
"""

from __future__ import annotations

from dispatch.journal.core import Journal
from dispatch.journal.disk import evidence_of_sends, set_aside
from dispatch.journal.errors import NEW_MAILING_FLAG, JournalMismatch, JournalMissing
from dispatch.journal.lock import MailingLock
from dispatch.journal.records import (
    STATES,
    BounceKind,
    BounceRecord,
    JournalRow,
    MailingIdentity,
    Plan,
    Plannable,
    State,
)
from dispatch.journal.states import TRANSITIONS, Change, IllegalTransition
from dispatch.paths import journal_dir, journal_path, lock_path

__all__ = [
    "NEW_MAILING_FLAG",
    "STATES",
    "TRANSITIONS",
    "BounceKind",
    "BounceRecord",
    "Change",
    "IllegalTransition",
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
    "journal_dir",
    "journal_path",
    "lock_path",
    "set_aside",
]
