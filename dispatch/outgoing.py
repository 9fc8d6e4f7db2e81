"""One message ready to go: what composing a letter hands to delivery and the journal.

A type of its own, so that building messages (:mod:`dispatch.compose`) does not load the
SMTP client, and delivery does not load the renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Outgoing"]


@dataclass(frozen=True)
class Outgoing:
    """One message ready to go, built by ``dispatch.message`` for one addressee.

    ``data`` is the whole message as bytes, or a function building them: a mailing of
    ten thousand letters with their PDFs need not sit in memory, and a message that is
    skipped (already sent) is never built. A function is called once per run, when the
    message is about to be sent, in a worker thread (one at a time, so that it need not
    be thread-safe) so that the connections keep being served meanwhile.
    """

    key: str  # stable id of the addressee within the mailing (lower-cased e-mail)
    message_id: str  # deterministic Message-ID (same on every run)
    sender: str  # envelope MAIL FROM
    recipients: tuple[str, ...]  # envelope RCPT TO (To + Cc)
    # the whole message (CRLF line ends), or its builder; not in reprs (it can be huge)
    data: bytes | Callable[[], bytes] = field(repr=False)
    digest: str  # hash of the rendered content, stable across runs (excludes Date)
    language: str  # for summaries
    categories: tuple[str, ...]
    approval: str | None = None  # the approval (manifest id) these bytes were frozen by

    def payload(self) -> bytes:
        """The message's bytes (built now if they were given as a function)."""
        return self.data if isinstance(self.data, bytes) else self.data()
