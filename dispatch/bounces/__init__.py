"""Who did not get the letter: delivery status notifications read back from a mailbox.

    >>> from dispatch.bounces import scan, source_from
    >>> result = scan(source_from("bounces.mbox", os.environ))   # doctest: +SKIP
    >>> [(b.recipient, b.status) for b in result.bounces]        # doctest: +SKIP
    [('old.address@example.org', '5.1.1')]

:func:`scan` reads a source (mbox, Maildir, ``.eml`` files, IMAP) and returns a
:class:`ScanResult`; :func:`read_notification` reads one message; :func:`write_fix_list`
writes the addresses to correct as a workbook.
"""

from dispatch.bounces.errors import BounceError, MailboxConnectionError
from dispatch.bounces.fix_list import FixListEntry, write_fix_list
from dispatch.bounces.limits import MAX_MESSAGE_BYTES, Skipped
from dispatch.bounces.notifications import (
    MAX_NESTING,
    Bounce,
    BounceKind,
    NotReadable,
    Reading,
    read_message,
    read_notification,
)
from dispatch.bounces.sources import (
    BounceSource,
    EmlFolderSource,
    ImapSource,
    MaildirSource,
    MboxSource,
    ScanResult,
    scan,
    source_from,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_NESTING",
    "Bounce",
    "BounceError",
    "BounceKind",
    "BounceSource",
    "EmlFolderSource",
    "FixListEntry",
    "ImapSource",
    "MailboxConnectionError",
    "MaildirSource",
    "MboxSource",
    "NotReadable",
    "Reading",
    "ScanResult",
    "Skipped",
    "read_message",
    "read_notification",
    "scan",
    "source_from",
    "write_fix_list",
]
