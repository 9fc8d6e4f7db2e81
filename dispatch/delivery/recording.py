"""What a run did, message by message: each outcome recorded in the journal and counted.

:class:`Tally` turns the relay's answer about a message (:class:`~.smtp.Result`) into
the journal's change of state (queued with the journal writer), the run's counts, the
events its caller sees, and, at the end, the :class:`~.results.DeliverySummary`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from dispatch.delivery.results import DeliveryEvent, DeliverySummary, EventKind, Failure
from dispatch.delivery.smtp import FINAL_REPLY_LOST, Result
from dispatch.journal import Change, Plan
from dispatch.journal.writer import JournalWriter
from dispatch.outgoing import Outgoing

__all__ = ["Item", "Tally"]

Settled = Literal["failed-temporary", "failed-permanent", "unknown"]


@dataclass
class Item:
    """One message of the run, with what this run tried."""

    message: Outgoing
    tries: int = 0  # in this run
    last: Failure | None = None
    wire: bytes | None = None  # the content as transmitted, built at the first try


class Tally:
    """The run's record: messages settled, failures, counts, and the events it emits."""

    def __init__(self, on_event: Callable[[DeliveryEvent], None] | None) -> None:
        self.on_event = on_event
        self.started = time.monotonic()
        self.plan: Plan[Outgoing] = Plan((), (), (), (), (), 0)
        self.batch: tuple[Outgoing, ...] = ()
        self.items: dict[str, Item] = {}
        self.sent = 0
        self.partial: list[Failure] = []
        self.final_failures: dict[str, Failure] = {}
        self.unknown_count = 0
        self.settled: set[str] = set()

    @property
    def finished(self) -> bool:
        """Every message of the batch is settled for this run."""
        return len(self.settled) == len(self.batch)

    def record(self, writer: JournalWriter, item: Item, result: Result, final: bool) -> bool:
        """Queue the journal's change for ``result`` and count it; True: try again later.

        ``final``: no retry is possible (the last try, the run stopping, a halt). The
        outcome is queued, not waited for: a crash before its commit leaves the row
        ``sending``, read as ``unknown`` (never resent without asking).
        """
        message, key = item.message, item.message.key
        if result.state == "sent":
            reply = result.reason + (f"; {result.refused}" if result.refused else "")
            writer.post(Change.sent_ok(key, result.code or 250, reply))
            self.sent += 1
            if result.refused:
                self.partial.append(
                    Failure(key, message.recipients, "sent", result.code, reply, item.tries)
                )
            self.done(key, "sent", result.code, reply)
        elif result.state == "unknown":
            writer.post(Change.unknown(key, result.reason))
            self.settle(item, "unknown", result.code, result.reason)
        elif result.state == "permanent":
            writer.post(Change.failed(key, permanent=True, code=result.code, reply=result.reason))
            self.settle(item, "failed-permanent", result.code, result.reason)
        else:
            writer.post(Change.failed(key, permanent=False, code=result.code, reply=result.reason))
            item.last = Failure(
                key, message.recipients, "failed-temporary", result.code, result.reason, item.tries
            )
            if not final:
                self.emit("retrying", key, result.code, result.reason)
                return True
            self.settle(item, "failed-temporary", result.code, result.reason)
        return False

    def interrupted(
        self, writer: JournalWriter, item: Item, error: BaseException, *, transmitted: bool
    ) -> None:
        """The transaction of ``item`` stopped before the relay's final reply (``error``).

        Its content went out (``transmitted``): ``unknown``. It did not: back to
        ``planned``. Call only if the row was marked ``sending``.
        """
        key = item.message.key
        if transmitted:
            reason = f"interrupted after the content was transmitted: {FINAL_REPLY_LOST}"
            writer.post(Change.unknown(key, reason))
            self.settle(item, "unknown", None, reason)
            return
        reason = "interrupted before the content was transmitted"
        if not isinstance(error, asyncio.CancelledError):
            reason += f" ({type(error).__name__}: {error})"
        writer.post(Change.released(key, reason))

    def settle(self, item: Item, state: Settled, code: int | None, reason: str) -> None:
        """``item`` failed for this run (or its fate is unknown)."""
        key = item.message.key
        failure = Failure(key, item.message.recipients, state, code, reason, item.tries)
        self.final_failures[key] = failure
        self.unknown_count += state == "unknown"
        self.done(key, state, code, reason)

    def done(self, key: str, kind: EventKind, code: int | None, reason: str) -> None:
        """``key`` is settled for this run: report it."""
        self.settled.add(key)
        self.emit(kind, key, code, reason)

    def emit(
        self, kind: EventKind, key: str | None = None, code: int | None = None, reason: str = ""
    ) -> None:
        """Tell the caller, if it listens."""
        if self.on_event is None:
            return
        unknown = self.unknown_count
        self.on_event(
            DeliveryEvent(
                kind=kind,
                total=len(self.batch),
                sent=self.sent,
                failed=len(self.final_failures) - unknown,
                unknown=unknown,
                remaining=len(self.batch) - len(self.settled),
                elapsed=time.monotonic() - self.started,
                key=key,
                code=code,
                reason=reason,
            )
        )

    def summary(self, *, recovered: int, interrupted: bool, halted: str | None) -> DeliverySummary:
        """What the run did so far."""
        failures = [self.final_failures[k] for k in self.items if k in self.final_failures]
        # A message whose retry was still waiting when the run stopped is failed-temporary
        # in the journal; say so here too.
        waiting = [
            item.last
            for key, item in self.items.items()
            if key not in self.settled and item.last is not None
        ]
        temporary = [f for f in failures if f.state == "failed-temporary"] + waiting
        attempted = len(self.settled) + len(waiting)
        return DeliverySummary(
            plan=self.plan,
            total=len(self.batch),
            sent=self.sent,
            partial=tuple(self.partial),
            failed_temporary=tuple(temporary),
            failed_permanent=tuple(f for f in failures if f.state == "failed-permanent"),
            unknown=tuple(f for f in failures if f.state == "unknown"),
            not_attempted=len(self.batch) - attempted,
            held_by_limit=len(self.plan.to_send) - len(self.batch),
            recovered=recovered,
            interrupted=interrupted,
            halted=halted,
            elapsed=time.monotonic() - self.started,
        )
