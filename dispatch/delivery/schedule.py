"""Scheduling a run: which messages, over how many connections, how fast, how often.

:func:`deliver` sends what the journal says is still to send, over a few concurrent
connections, at a bounded rate, retrying temporary failures, and records every
message's fate in the :class:`~dispatch.journal.Journal` as it happens. It never
prints: it reports progress through a callback, and returns a
:class:`~dispatch.delivery.results.DeliverySummary`.

The parts of a run: :mod:`~dispatch.delivery.pool` (the connections),
:mod:`~dispatch.delivery.policy` (rate and retries), :mod:`~dispatch.delivery.recording`
(each outcome in the journal, the counts and the summary); this module runs the workers.

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
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiosmtplib import SMTP

from dispatch.delivery.policy import RateLimiter, RetryPolicy
from dispatch.delivery.pool import Connections
from dispatch.delivery.recording import Item, Tally
from dispatch.delivery.results import DeliveryEvent, DeliveryInterrupted, DeliverySummary
from dispatch.delivery.smtp import Phase, normalized, transact
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


class _Delivery:
    """One run: workers take messages from a queue, one connection each, until all settle."""

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
        self.options = options
        self.tally = Tally(options.on_event)
        self.policy = RetryPolicy(settings.retries, settings.backoff)
        self.limiter = RateLimiter(settings.rate_per_minute)
        self.connections = Connections(settings, self.policy, self._pause, lambda: self.stopping)
        self.interrupted = False
        self.halted: str | None = None
        self.stopping = False
        self.live_workers = 0
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue()
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

    async def _start(self) -> SMTP | None:
        """Plan the run; its first connection, or None if there is nothing to send."""
        tally, options = self.tally, self.options
        retries = {"retry_unknown": options.retry_unknown, "retry_failed": options.retry_failed}
        tally.plan = options.preview or self.journal.preview(self.outgoings, **retries)
        to_send = tally.plan.to_send
        tally.batch = to_send if options.limit is None else to_send[: options.limit]
        if not tally.batch:
            return None
        first = await self.connections.first()
        try:
            tally.plan = self.journal.plan(self.outgoings, inputs=options.inputs, **retries)
            self.writer = JournalWriter(self.journal)
            tally.items = {m.key: Item(m) for m in tally.batch}
            for item in tally.items.values():
                self.queue.put_nowait(item)
            tally.emit("started")
        except BaseException:
            first.close()
            raise
        return first

    async def _run(self) -> DeliverySummary:
        self.tally.started = time.monotonic()
        self.wake = asyncio.Event()
        first = await self._start()
        if first is None:
            return self.summary()
        workers = min(self.settings.concurrency, len(self.tally.batch))
        self.live_workers = workers
        tasks = [
            asyncio.create_task(self._worker(first if n == 0 else None), name=f"smtp-{n}")
            for n in range(workers)
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        except asyncio.CancelledError:
            self.interrupted = True
            self.tally.emit(
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
        self.tally.emit("finished")
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
        return self.tally.summary(
            recovered=self.journal.recovered,
            interrupted=self.interrupted or interrupted,
            halted=self.halted,
        )

    # -- workers: one connection each ---------------------------------------------

    async def _worker(self, smtp: SMTP | None) -> None:
        used = 0
        try:
            while not self.stopping:
                item = await self.queue.get()
                if item is None or self.stopping:
                    break
                smtp, used = await self.connections.ready(smtp, used)
                if smtp is None:
                    self.queue.put_nowait(item)  # for another connection, if any
                    break
                delay = self.limiter.reserve()
                if delay and await self._pause(delay):
                    break
                used += 1
                await self._attempt(smtp, item)
        except BaseException:
            if smtp is not None:
                smtp.close()
            raise
        else:
            await self.connections.close(smtp)
        finally:
            self.live_workers -= 1
            if self.live_workers == 0 and not self.stopping and not self.tally.finished:
                problem = self.connections.relay_problem or "no connection to the relay is left"
                self._stop(f"lost the relay: {problem}")

    async def _pause(self, seconds: float) -> bool:
        """Sleep, unless the run stops meanwhile; return True if it did."""
        assert self.wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)
        return self.stopping

    # -- one message ------------------------------------------------------------------

    async def _wire(self, item: Item) -> bytes:
        """The message's content as transmitted, built once (before its row is marked)."""
        if item.wire is None:  # a failure here sends nothing
            data = item.message.data
            if not isinstance(data, bytes):
                loop = asyncio.get_running_loop()
                data = await loop.run_in_executor(self.builder, item.message.payload)
            item.wire = normalized(data)
        return item.wire

    async def _attempt(self, smtp: SMTP, item: Item) -> None:
        message = item.message
        wire = await self._wire(item)
        item.tries += 1
        last_try = self.policy.last_try(item.tries)
        writer = self.writer
        assert writer is not None
        # The mark is committed (and flushed) while MAIL, RCPT and DATA go back and forth;
        # transact waits for it before the content, the only part that can deliver.
        durable = writer.write(Change.sending(message.key))
        phase = Phase()
        try:
            result = await transact(
                smtp, message, wire, self.settings.timeout, phase, last_try, durable
            )
            await asyncio.shield(durable)  # its error, if the transaction ended before it
        except BaseException as error:
            smtp.close()
            unmarked = False  # the `sending` mark itself failed: the row never left `planned`
            if durable.done() and not durable.cancelled():
                unmarked = durable.exception() is not None  # retrieved: `error` matters
            # (if unmarked, a release would be refused: it is `planned`)
            if phase.transmitted or not unmarked:
                self.tally.interrupted(writer, item, error, transmitted=phase.transmitted)
            self._stop_if_finished()
            raise
        final = last_try or self.stopping or bool(result.halt)
        if self.tally.record(writer, item, result, final):
            self._retry_later(item)
        self._stop_if_finished()
        if result.halt:
            self._stop(result.halt)

    def _stop_if_finished(self) -> None:
        if self.tally.finished:
            self._stop(None)

    def _retry_later(self, item: Item) -> None:
        loop = asyncio.get_running_loop()

        def requeue() -> None:
            self.timers.discard(timer)
            if not self.stopping:
                self.queue.put_nowait(item)

        timer = loop.call_later(self.policy.delay(item.tries), requeue)
        self.timers.add(timer)
