"""What the journal holds and hands out: its rows, plans and records, as typed values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, Protocol, TypeVar, get_args

__all__ = [
    "STATES",
    "BounceKind",
    "BounceRecord",
    "JournalRow",
    "MailingIdentity",
    "Plan",
    "Plannable",
    "State",
]

State = Literal["planned", "sending", "sent", "failed-temporary", "failed-permanent", "unknown"]
STATES: tuple[State, ...] = get_args(State)

BounceKind = Literal["bounced", "delayed"]


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
