"""Scheduling a run: which messages, over how many connections, how fast, how often.

:func:`deliver` sends what the journal says is still to send, over a few concurrent
connections, at a bounded rate, retrying temporary failures, and records every
message's fate in the :class:`~dispatch.journal.Journal` as it happens. It never
prints: it reports progress through a callback, and returns a
:class:`~dispatch.delivery.results.DeliverySummary`.

The journal row goes to ``sending`` (committed) before the transaction with the relay
begins, and leaves it only on the relay's final reply to the content (see
:mod:`dispatch.delivery.smtp` for how a reply decides a message's fate). A temporary
failure is retried with exponential backoff up to ``settings.retries`` times, then left
``failed-temporary`` for the next run. A message whose fate is unknown is not resent
unless asked, since resending risks a second copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from aiosmtplib import SMTP

from dispatch.delivery.results import (
    DeliveryEvent,
    DeliveryInterrupted,
    DeliverySummary,
    EventKind,
    Failure,
)
from dispatch.delivery.smtp import (
    FINAL_REPLY_LOST,
    Phase,
    connect,
    normalized,
    quit_politely,
    transact,
)
from dispatch.errors import RelayError
from dispatch.journal import Change, Journal, Plan
from dispatch.journal.writer import JournalWriter
from dispatch.outgoing import Outgoing
from dispatch.settings import SmtpSettings

__all__ = ["DeliveryOptions", "deliver", "deliver_sync"]


@dataclass(frozen=True)
class DeliveryOptions:
    """How a run chooses and reports its messages.

    ``limit`` sends at most that many messages. ``retry_unknown`` also sends the
    messages whose fate is unknown (the relay may already have them), ``retry_failed``
    those refused permanently. ``on_event`` is called with each :class:`DeliveryEvent`.
    ``inputs``, the fingerprint of what the messages were made from, is recorded in the
    journal with the plan (see :mod:`dispatch.fingerprint`). ``preview``, a plan the
    caller already made from the same journal, spares the run from making it again.
    """

    limit: int | None = None
    retry_unknown: bool = False
    retry_failed: bool = False
    on_event: Callable[[DeliveryEvent], None] | None = None
    inputs: str | None = None
    # The caller's Journal.preview of these messages, made under the mailing's lock with
    # the same retry options: the run does not compute it again.
    preview: Plan[Outgoing] | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must be at least 0")


async def deliver(
    outgoings: Sequence[Outgoing],
    settings: SmtpSettings,
    journal: Journal,
    options: DeliveryOptions | None = None,
) -> DeliverySummary:
    """Send the messages of ``outgoings`` that the journal says are still to send.

    The relay is reached (and logged into) first: if it cannot be, :class:`RelayError`
    is raised and the journal is left as it was. ``options`` says how many and which
    (:class:`DeliveryOptions`).

    If the task is cancelled (Ctrl-C), no new message is started; the messages in
    flight get up to ``settings.timeout`` seconds to finish, then are cancelled: one
    whose content was transmitted is recorded ``unknown``, one whose content was not
    goes back to ``planned``. The cancellation is then re-raised.
    """
    return await _Delivery(outgoings, settings, journal, options or DeliveryOptions()).run()


def deliver_sync(
    outgoings: Sequence[Outgoing],
    settings: SmtpSettings,
    journal: Journal,
    options: DeliveryOptions | None = None,
) -> DeliverySummary:
    """Run :func:`deliver` in a new event loop, for a program that has none.

    Ctrl-C stops the run as :func:`deliver` describes, then raises
    :class:`DeliveryInterrupted` carrying the summary of what was done.
    """
    run = _Delivery(outgoings, settings, journal, options or DeliveryOptions())
    try:
        return asyncio.run(run.run())
    except KeyboardInterrupt:
        summary = run.summary(interrupted=True)
        left = summary.not_attempted + len(summary.failed_temporary)
        raise DeliveryInterrupted(
            f"Interrupted: {summary.sent} sent, {left} not sent, {len(summary.unknown)} "
            "unknown (interrupted in flight; the relay may have them). Run the same "
            "command again to send the rest.",
            summary,
        ) from None


# -- one run -------------------------------------------------------------------------


@dataclass
class _Item:
    message: Outgoing
    tries: int = 0  # in this run
    last: Failure | None = None
    wire: bytes | None = None  # the content as transmitted, built at the first try


class _RateLimiter:
    """Spaces message starts evenly across all connections (``per_minute``, or no limit).

    Each call reserves the next free slot, so concurrent workers queue up behind each
    other rather than bursting.
    """

    def __init__(self, per_minute: float | None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_slot = 0.0

    def reserve(self) -> float:
        """Take the next slot; return how long to wait for it, in seconds."""
        if not self.interval:
            return 0.0
        now = time.monotonic()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        return slot - now


class _Delivery:
    def __init__(
        self,
        outgoings: Sequence[Outgoing],
        settings: SmtpSettings,
        journal: Journal,
        options: DeliveryOptions,
    ) -> None:
        self.outgoings = outgoings
        self.settings = settings
        self.journal = journal
        self.limit = options.limit
        self.retry_unknown = options.retry_unknown
        self.retry_failed = options.retry_failed
        self.on_event = options.on_event
        self.inputs = options.inputs
        self.preview = options.preview
        self.started = time.monotonic()
        self.plan: Plan[Outgoing] = Plan((), (), (), (), (), 0)
        self.batch: tuple[Outgoing, ...] = ()
        self.items: dict[str, _Item] = {}
        self.sent = 0
        self.partial: list[Failure] = []
        self.final_failures: dict[str, Failure] = {}
        self.unknown_count = 0
        self.settled: set[str] = set()
        self.interrupted = False
        self.halted: str | None = None
        self.stopping = False
        self.live_workers = 0
        self.relay_problem: RelayError | None = None  # why the last connection attempt failed
        self.local_hostname = settings.local_hostname or ""
        self.limiter = _RateLimiter(settings.rate_per_minute)
        self.queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self.timers: set[asyncio.TimerHandle] = set()
        self.wake: asyncio.Event | None = None
        # Builds lazy messages off the event loop, one at a time.
        self.builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispatch-build")
        # Commits the journal's changes while the workers send: see dispatch.journal.writer.
        self.writer: JournalWriter | None = None

    # -- the run as a whole ----------------------------------------------------------

    async def run(self) -> DeliverySummary:
        try:
            return await self._run()
        finally:
            # A message being built when the run was cancelled finishes in its thread.
            self.builder.shutdown(wait=False, cancel_futures=True)
            if self.writer is not None:  # every change queued is committed before returning
                self.writer.close()

    async def _run(self) -> DeliverySummary:
        self.started = time.monotonic()
        self.wake = asyncio.Event()
        kwargs = {"retry_unknown": self.retry_unknown, "retry_failed": self.retry_failed}
        self.plan = (
            self.preview
            if self.preview is not None
            else self.journal.preview(self.outgoings, **kwargs)
        )
        to_send = self.plan.to_send
        self.batch = to_send if self.limit is None else to_send[: self.limit]
        if not self.batch:
            return self.summary()
        if not self.local_hostname:
            self.local_hostname = await asyncio.to_thread(socket.getfqdn)
        first = await connect(self.settings, self.local_hostname)
        try:
            self.plan = self.journal.plan(self.outgoings, inputs=self.inputs, **kwargs)
            self.writer = JournalWriter(self.journal)
            self.items = {m.key: _Item(m) for m in self.batch}
            for item in self.items.values():
                self.queue.put_nowait(item)
            self._emit("started")
        except BaseException:
            first.close()
            raise
        workers = min(self.settings.concurrency, len(self.batch))
        self.live_workers = workers
        tasks = [
            asyncio.create_task(self._worker(first if n == 0 else None), name=f"smtp-{n}")
            for n in range(workers)
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        except asyncio.CancelledError:
            self.interrupted = True
            self._emit(
                "stopping",
                reason=f"Interrupted: finishing the messages in flight (up to "
                f"{self.settings.timeout:g} s, --timeout); press Ctrl-C again to stop now "
                "(a message whose content went out is then recorded unknown).",
            )
            await self._wind_down(tasks)
            raise
        failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
        if failed:  # a bug, or the on_event callback raised: stop cleanly, then report it
            self._stop(None)
            await self._wind_down(tasks)
            error = failed[0].exception()
            assert error is not None
            raise error
        self._cancel_timers()
        summary = self.summary()
        self._emit("finished")
        return summary

    async def _wind_down(self, tasks: list[asyncio.Task[None]]) -> None:
        """Stop taking messages, let those in flight finish for a while, then cancel.

        A message whose content went out is recorded ``unknown`` when cancelled, one
        whose content did not goes back to ``planned``. If this wait is itself cancelled
        (a second Ctrl-C), the workers are cancelled at once: they record their state as
        soon as the event loop runs them (``asyncio.run`` does, before it returns).
        """
        self._stop(None)
        try:
            await asyncio.wait(tasks, timeout=self.settings.timeout)
        finally:
            running = [task for task in tasks if not task.done()]
            for task in running:
                task.cancel()
        if running:
            await asyncio.wait(running)
        for task in tasks:  # so that no exception goes unretrieved
            if not task.cancelled():
                task.exception()

    def _stop(self, reason: str | None) -> None:
        if reason and not self.halted:
            self.halted = reason
        self.stopping = True
        self._cancel_timers()
        assert self.wake is not None
        self.wake.set()
        for _ in range(self.live_workers + 1):
            self.queue.put_nowait(None)

    def _cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()

    def summary(self, *, interrupted: bool = False) -> DeliverySummary:
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
            recovered=self.journal.recovered,
            interrupted=self.interrupted or interrupted,
            halted=self.halted,
            elapsed=time.monotonic() - self.started,
        )

    def _emit(
        self, kind: EventKind, key: str | None = None, code: int | None = None, reason: str = ""
    ) -> None:
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

    # -- workers: one connection each ---------------------------------------------

    async def _worker(self, smtp: SMTP | None) -> None:
        used = 0
        try:
            while not self.stopping:
                item = await self.queue.get()
                if item is None or self.stopping:
                    break
                if smtp is None or not smtp.is_connected or used >= self._per_connection:
                    await quit_politely(smtp, self.settings.timeout)
                    smtp, used = await self._reconnect(), 0
                    if smtp is None:
                        self.queue.put_nowait(item)  # for another connection, if any
                        break
                delay = self.limiter.reserve()
                if delay and await self._pause(delay):
                    break
                used += 1
                await self._attempt(smtp, item)
        except asyncio.CancelledError:
            if smtp is not None:
                smtp.close()
            raise
        except BaseException:
            if smtp is not None:
                smtp.close()
            raise
        else:
            await quit_politely(smtp, self.settings.timeout)
        finally:
            self.live_workers -= 1
            if self.live_workers == 0 and not self.stopping and len(self.settled) < len(self.batch):
                problem = self.relay_problem or "no connection to the relay is left"
                self._stop(f"lost the relay: {problem}")

    @property
    def _per_connection(self) -> int:
        return self.settings.messages_per_connection

    async def _pause(self, seconds: float) -> bool:
        """Sleep, unless the run stops meanwhile; return True if it did."""
        assert self.wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)
        return self.stopping

    async def _reconnect(self) -> SMTP | None:
        """A new connection, trying ``retries`` more times; None if the relay is lost."""
        problem: RelayError | None = None
        for attempt in range(self.settings.retries + 1):
            if self.stopping:
                return None
            try:
                return await connect(self.settings, self.local_hostname)
            except RelayError as error:
                problem = error
            if attempt < self.settings.retries and await self._pause(self._backoff(attempt + 1)):
                return None
        if problem is not None:
            self.relay_problem = problem
        return None

    def _backoff(self, tries: int) -> float:
        # Exponential, with some jitter so that several connections do not retry in step.
        return float(self.settings.backoff * 2 ** (tries - 1) * random.uniform(0.75, 1.25))

    # -- one message ------------------------------------------------------------------

    async def _attempt(self, smtp: SMTP, item: _Item) -> None:
        message = item.message
        if item.wire is None:  # built before the row is marked: a failure here sends nothing
            if isinstance(message.data, bytes):
                item.wire = normalized(message.data)
            else:
                loop = asyncio.get_running_loop()
                built = await loop.run_in_executor(self.builder, message.payload)
                item.wire = normalized(built)
        item.tries += 1
        last_try = item.tries > self.settings.retries
        writer = self.writer
        assert writer is not None
        # The mark is committed (and flushed) while MAIL, RCPT and DATA go back and forth;
        # _transact waits for it before the content, the only part that can deliver.
        durable = writer.write(Change.sending(message.key))
        phase = Phase()
        try:
            result = await transact(
                smtp, message, item.wire, self.settings.timeout, phase, last_try, durable
            )
            await asyncio.shield(durable)  # its error, if the transaction ended before it
        except BaseException as error:
            smtp.close()
            unmarked = False  # the `sending` mark itself failed: the row never left `planned`
            if durable.done() and not durable.cancelled():
                unmarked = durable.exception() is not None  # retrieved: `error` matters
            if phase.transmitted:
                reason = f"interrupted after the content was transmitted: {FINAL_REPLY_LOST}"
                writer.post(Change.unknown(message.key, reason))
                self._settle(item, "unknown", None, reason)
            elif not unmarked:  # (if unmarked, a release would be refused: it is `planned`)
                reason = "interrupted before the content was transmitted"
                if not isinstance(error, asyncio.CancelledError):
                    reason += f" ({type(error).__name__}: {error})"
                writer.post(Change.released(message.key, reason))
            raise
        # The outcome is queued, not waited for: a crash before its commit leaves the row
        # `sending`, read as `unknown` (never resent without asking).
        key = message.key
        if result.state == "sent":
            reply = result.reason + (f"; {result.refused}" if result.refused else "")
            writer.post(Change.sent_ok(key, result.code or 250, reply))
            self.sent += 1
            if result.refused:
                self.partial.append(
                    Failure(key, message.recipients, "sent", result.code, reply, item.tries)
                )
            self._done(key, "sent", result.code, reply)
        elif result.state == "unknown":
            writer.post(Change.unknown(key, result.reason))
            self._settle(item, "unknown", result.code, result.reason)
        elif result.state == "permanent":
            writer.post(Change.failed(key, permanent=True, code=result.code, reply=result.reason))
            self._settle(item, "failed-permanent", result.code, result.reason)
        else:
            writer.post(Change.failed(key, permanent=False, code=result.code, reply=result.reason))
            failure = Failure(
                key, message.recipients, "failed-temporary", result.code, result.reason, item.tries
            )
            item.last = failure
            if last_try or self.stopping or result.halt:
                self._settle(item, "failed-temporary", result.code, result.reason)
            else:
                self._retry_later(item)
                self._emit("retrying", key, result.code, result.reason)
        if result.halt:
            self._stop(result.halt)

    def _settle(
        self,
        item: _Item,
        state: Literal["failed-temporary", "failed-permanent", "unknown"],
        code: int | None,
        reason: str,
    ) -> None:
        key = item.message.key
        failure = Failure(key, item.message.recipients, state, code, reason, item.tries)
        self.final_failures[key] = failure
        self.unknown_count += state == "unknown"
        self._done(key, state, code, reason)

    def _done(self, key: str, kind: EventKind, code: int | None, reason: str) -> None:
        """``key`` is settled for this run: report it, and end the run after the last."""
        self.settled.add(key)
        self._emit(kind, key, code, reason)
        if len(self.settled) == len(self.batch):
            self._stop(None)

    def _retry_later(self, item: _Item) -> None:
        loop = asyncio.get_running_loop()

        def requeue() -> None:
            self.timers.discard(timer)
            if not self.stopping:
                self.queue.put_nowait(item)

        timer = loop.call_later(self._backoff(item.tries), requeue)
        self.timers.add(timer)
