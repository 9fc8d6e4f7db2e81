"""How much of a mailbox dispatch reads, and what it tells a person about the rest.

A mailbox is outside input: anyone can send a message into it, and a folder on disk can
hold anything. Every reader takes a message only up to :data:`MAX_MESSAGE_BYTES` (its
size is checked before it is read, and no more than that is ever read), and what it
leaves is a :class:`Skipped`, listed with the reason, while the rest of the source is
still read.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_MESSAGE_BYTES", "Item", "Raw", "Skipped", "too_large"]

#: The largest message read. A notification returns at most the letter it is about, and
#: relays refuse letters past 25-35 MB (Microsoft 365, Gmail), so a notification past
#: this size is not one of ours; parsing it would take about ten times its size in memory.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Raw:
    """The bytes of one message, and ``where`` it is (a file, ``mbox, message 3``, a UID)."""

    where: str
    data: bytes


@dataclass(frozen=True)
class Skipped:
    """A message (or a file that would be one) left unread: ``where`` it is, and why.

    >>> Skipped("bounces/cur/1.eml", "is a link: not followed")
    Skipped(where='bounces/cur/1.eml', reason='is a link: not followed')
    """

    where: str
    reason: str

    def line(self) -> str:
        """``where: reason``, as a person reads it."""
        return f"{self.where}: {self.reason}"


def too_large(size: int, limit: int) -> str:
    """The reason a message of ``size`` bytes is skipped.

    >>> too_large(150 * 1024 * 1024, 32 * 1024 * 1024)
    'is 150.0 MB, more than the 32.0 MB a notification may be: not read'
    """
    mb = 1024 * 1024
    return (
        f"is {size / mb:.1f} MB, more than the {limit / mb:.1f} MB a notification may be: not read"
    )


#: What a reader gives for each message: its bytes, or why it was left.
Item = Raw | Skipped
