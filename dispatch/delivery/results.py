"""What a delivery run tells its caller: progress events, failures and the summary.

Types of their own, so that a caller (the CLI, :mod:`dispatch.job`) can name them
without loading the SMTP client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dispatch.errors import SendError
from dispatch.journal import Plan
from dispatch.outgoing import Outgoing

__all__ = ["DeliveryEvent", "DeliveryInterrupted", "DeliverySummary", "EventKind", "Failure"]


EventKind = Literal[
    "started",
    "sent",
    "retrying",
    "failed-temporary",
    "failed-permanent",
    "unknown",
    "stopping",
    "finished",
]


@dataclass(frozen=True)
class DeliveryEvent:
    """Progress of a run, for a progress bar: what just happened and the counts so far.

    ``kind`` is what happened (``retrying`` is a temporary failure that will be tried
    again in this run; ``stopping`` means the run was interrupted and finishes the
    messages in flight); ``key``, ``code`` and ``reason`` say to which message and why.
    """

    kind: EventKind
    total: int  # messages this run sends
    sent: int
    failed: int  # failed for good in this run (temporary after all retries, or permanent)
    unknown: int
    remaining: int  # not yet settled in this run
    elapsed: float  # seconds since the run started
    key: str | None = None
    code: int | None = None
    reason: str = ""

    @property
    def per_minute(self) -> float:
        """Messages accepted per minute so far."""
        return 60.0 * self.sent / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class Failure:
    """A message that did not (or may not have) reach its recipients, and why."""

    key: str
    recipients: tuple[str, ...]
    state: Literal["failed-temporary", "failed-permanent", "unknown", "sent"]
    code: int | None  # the relay's reply code, None for a lost connection or timeout
    reason: str
    attempts: int  # in this run


@dataclass(frozen=True)
class DeliverySummary:
    """What a run did. The journal holds the same, message by message.

    ``partial`` lists messages sent, but refused for some recipients (a wrong Cc).
    ``not_attempted`` counts messages this run meant to send but never tried
    (interrupted, or the relay was lost: see ``halted``); ``held_by_limit`` those
    left for later by ``limit``. ``plan`` says what was skipped and why.
    """

    plan: Plan[Outgoing]
    total: int
    sent: int
    partial: tuple[Failure, ...]
    failed_temporary: tuple[Failure, ...]
    failed_permanent: tuple[Failure, ...]
    unknown: tuple[Failure, ...]
    not_attempted: int
    held_by_limit: int
    recovered: int  # rows a crashed run had left `sending`, found `unknown` on opening
    interrupted: bool
    halted: str | None  # why the run stopped before the end, if it did
    elapsed: float

    @property
    def finished(self) -> bool:
        """True when a next run would have nothing left to send (unknowns aside)."""
        return not (self.failed_temporary or self.not_attempted or self.held_by_limit)

    @property
    def complete(self) -> bool:
        """True when every message of the mailing is sent: nothing failed, unknown or left.

        Stricter than :attr:`finished`: a message refused, or unknown, in this run or an
        earlier one, or sent to only some of its recipients, makes it False.
        """
        return (
            self.finished
            and not self.unknown
            and not self.failed_permanent
            and not self.plan.unknown
            and not self.plan.failed_permanent
            and not self.partial
        )

    @property
    def per_minute(self) -> float:
        """Messages accepted per minute over the run."""
        return 60.0 * self.sent / self.elapsed if self.elapsed > 0 else 0.0


class DeliveryInterrupted(SendError):
    """The run was interrupted (Ctrl-C); ``summary`` says what was done before.

    Every message is recorded in the journal as it stood: running the same command
    again sends the rest.
    """

    exit_code = 130

    def __init__(self, message: str, summary: DeliverySummary) -> None:
        super().__init__(message)
        self.summary = summary
