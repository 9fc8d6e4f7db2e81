"""The delivery engine: hand a mailing's messages to the SMTP relay, journaling each one.

:func:`deliver` sends what the journal says is still to send, over a few concurrent
connections, at a bounded rate, retrying temporary failures, and records every
message's fate in the :class:`~dispatch.journal.Journal` as it happens. It never
prints: it reports progress through a callback, and returns a
:class:`DeliverySummary`.

How a message's fate is decided, and why:

* The journal row goes to ``sending`` (committed) before the transaction with the
  relay begins, and leaves it only on the relay's final reply to the content.
* A 4xx reply, a timeout or a lost connection *before the content was transmitted*
  (MAIL FROM, RCPT TO, the DATA command) means the relay does not have the message:
  it is retried with exponential backoff up to ``settings.retries`` times, then left
  ``failed-temporary`` for the next run.
* A 5xx reply for every recipient, or to the content, is ``failed-permanent``; the
  run goes on. If only some recipients are refused (a wrong Cc), the message goes to
  the others and is ``sent``, with the refusals in the reply text.
* Once the whole content has been written, a lost connection or a timeout before the
  final reply leaves us not knowing: the relay may have queued the message (RFC 1047's
  "duplicate message" problem). Such a message is ``unknown`` and is not resent unless
  asked, since resending risks a second copy. To know exactly where a failure happened,
  the DATA exchange is done in two steps here (the DATA command, then the content)
  rather than through ``aiosmtplib.SMTP.data``, which raises the same exception
  whether the connection dropped before the 354 reply or after the content.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.parser import BytesParser
from email.utils import make_msgid, parseaddr
from typing import Literal

from aiosmtplib import (
    SMTP,
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPException,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponse,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from dispatch.errors import (
    DeliveryInterrupted,
    InvalidInput,
    Location,
    Problem,
    RelayError,
    SendError,
)
from dispatch.journal import Change, Journal, Plan
from dispatch.journal_writer import JournalWriter
from dispatch.settings import SmtpSettings

__all__ = [
    "DeliveryEvent",
    "DeliveryInterrupted",  # raised by deliver_sync; defined in dispatch.errors
    "DeliverySummary",
    "Failure",
    "Outgoing",
    "SampleResult",
    "connect",
    "deliver",
    "deliver_sync",
    "send_samples",
    "send_samples_sync",
]


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

    def payload(self) -> bytes:
        """The message's bytes (built now if they were given as a function)."""
        return self.data if isinstance(self.data, bytes) else self.data()


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
    def per_minute(self) -> float:
        """Messages accepted per minute over the run."""
        return 60.0 * self.sent / self.elapsed if self.elapsed > 0 else 0.0


async def deliver(
    outgoings: Sequence[Outgoing],
    settings: SmtpSettings,
    journal: Journal,
    *,
    limit: int | None = None,
    retry_unknown: bool = False,
    retry_failed: bool = False,
    on_event: Callable[[DeliveryEvent], None] | None = None,
    inputs: str | None = None,
) -> DeliverySummary:
    """Send the messages of ``outgoings`` that the journal says are still to send.

    The relay is reached (and logged into) first: if it cannot be, :class:`RelayError`
    is raised and the journal is left as it was. ``limit`` sends at most that many
    messages. ``retry_unknown`` also sends the messages whose fate is unknown (the
    relay may already have them), ``retry_failed`` those refused permanently.

    If the task is cancelled (Ctrl-C), no new message is started; the messages in
    flight get up to ``settings.timeout`` seconds to finish, then are cancelled: one
    whose content was transmitted is recorded ``unknown``, one whose content was not
    goes back to ``planned``. The cancellation is then re-raised.

    ``inputs``, the fingerprint of what the messages were made from, is recorded in
    the journal with the plan (see :mod:`dispatch.fingerprint`).
    """
    run = _Delivery(
        outgoings,
        settings,
        journal,
        limit=limit,
        retry_unknown=retry_unknown,
        retry_failed=retry_failed,
        on_event=on_event,
        inputs=inputs,
    )
    return await run.run()


def deliver_sync(
    outgoings: Sequence[Outgoing],
    settings: SmtpSettings,
    journal: Journal,
    *,
    limit: int | None = None,
    retry_unknown: bool = False,
    retry_failed: bool = False,
    on_event: Callable[[DeliveryEvent], None] | None = None,
    inputs: str | None = None,
) -> DeliverySummary:
    """Run :func:`deliver` in a new event loop, for the command line.

    Ctrl-C stops the run as :func:`deliver` describes, then raises
    :class:`DeliveryInterrupted` carrying the summary of what was done.
    """
    run = _Delivery(
        outgoings,
        settings,
        journal,
        limit=limit,
        retry_unknown=retry_unknown,
        retry_failed=retry_failed,
        on_event=on_event,
        inputs=inputs,
    )
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


_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")
_FINAL_REPLY_LOST = "the relay's final reply never came"


@dataclass
class _Item:
    message: Outgoing
    tries: int = 0  # in this run
    last: Failure | None = None
    wire: bytes | None = None  # the content as transmitted, built at the first try


@dataclass
class _Result:
    state: Literal["sent", "temporary", "permanent", "unknown"]
    code: int | None
    reason: str
    refused: str = ""  # recipients refused while the message went to the others
    halt: str | None = None  # a problem that is not this message's: stop the run


class _Phase:
    """Where a transaction stands, read when it is cancelled."""

    transmitted = False


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
        *,
        limit: int | None,
        retry_unknown: bool,
        retry_failed: bool,
        on_event: Callable[[DeliveryEvent], None] | None,
        inputs: str | None = None,
    ) -> None:
        if limit is not None and limit < 0:
            raise ValueError("limit must be at least 0")
        self.outgoings = outgoings
        self.settings = settings
        self.journal = journal
        self.limit = limit
        self.retry_unknown = retry_unknown
        self.retry_failed = retry_failed
        self.on_event = on_event
        self.inputs = inputs
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
        # Commits the journal's changes while the workers send: see dispatch.journal_writer.
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
        self.plan = self.journal.preview(self.outgoings, **kwargs)
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
            self._emit("stopping", reason="interrupted: finishing the messages in flight")
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
                    await _quit(smtp, self.settings.timeout)
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
            await _quit(smtp, self.settings.timeout)
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
                item.wire = _normalized(message.data)
            else:
                loop = asyncio.get_running_loop()
                built = await loop.run_in_executor(self.builder, message.payload)
                item.wire = _normalized(built)
        item.tries += 1
        last_try = item.tries > self.settings.retries
        writer = self.writer
        assert writer is not None
        # The mark is committed (and flushed) while MAIL, RCPT and DATA go back and forth;
        # _transact waits for it before the content, the only part that can deliver.
        durable = writer.write(Change.sending(message.key))
        phase = _Phase()
        try:
            result = await _transact(
                smtp, message, item.wire, self.settings.timeout, phase, last_try, durable
            )
            await asyncio.shield(durable)  # its error, if the transaction ended before it
        except BaseException as error:
            smtp.close()
            if durable.done() and not durable.cancelled():
                durable.exception()  # retrieved: the error that matters is `error`
            if phase.transmitted:
                reason = f"interrupted after the content was transmitted: {_FINAL_REPLY_LOST}"
                writer.post(Change.unknown(message.key, reason))
                self._settle(item, "unknown", None, reason)
            else:
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


# -- the SMTP conversation -----------------------------------------------------------


async def _transact(
    smtp: SMTP,
    message: Outgoing,
    wire: bytes,
    timeout: float,
    phase: _Phase,
    last_try: bool,
    durable: Awaitable[None],
) -> _Result:
    """One SMTP transaction for ``message`` (``wire``: its normalized content).

    ``durable`` is the journal's ``sending`` mark: the content is not transmitted
    before it is on the disk.

    Returns the outcome; never raises an SMTP exception.
    """
    addresses = (message.sender, *message.recipients)
    options = []
    encoding = "ascii"
    if not all(a.isascii() for a in addresses):
        if not smtp.supports_extension("smtputf8"):
            return _Result(
                "permanent",
                None,
                "an address has non-ASCII characters and the relay does not accept "
                "such addresses (no SMTPUTF8)",
            )
        options.append("SMTPUTF8")
        encoding = "utf-8"
    if smtp.supports_extension("size"):
        options.append(f"SIZE={len(wire)}")
    if not wire.isascii() and smtp.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    try:
        try:
            await smtp.mail(message.sender, options=options, encoding=encoding, timeout=timeout)
        except SMTPSenderRefused as error:
            await _reset(smtp, timeout)
            if error.code == 552:  # the message is too large for the relay
                return _Result("permanent", error.code, error.message)
            if error.code >= 500:
                return _Result(
                    "temporary",
                    error.code,
                    error.message,
                    halt=f"the relay refuses the sender {message.sender} ({error.code} "
                    f"{error.message}). Check the sender address of the mailing, and that "
                    "the relay lets this account send as it.",
                )
            return _Result("temporary", error.code, error.message)
        refused: dict[str, SMTPRecipientRefused] = {}
        for recipient in message.recipients:
            try:
                await smtp.rcpt(recipient, encoding=encoding, timeout=timeout)
            except SMTPRecipientRefused as error:
                refused[recipient] = error
        if refused:
            deferred = [e for e in refused.values() if e.code < 500]
            if len(refused) == len(message.recipients) or (deferred and not last_try):
                await _reset(smtp, timeout)
                worst = deferred[0] if deferred else next(iter(refused.values()))
                state: Literal["temporary", "permanent"] = "temporary" if deferred else "permanent"
                return _Result(state, worst.code, _refusals(refused))
        reply = await smtp.execute_command(b"DATA", timeout=timeout)
        if reply.code != 354:
            await _reset(smtp, timeout)
            return _reply_result(reply, "the DATA command")
        await asyncio.shield(durable)
        protocol = smtp.protocol
        if protocol is None:
            raise SMTPServerDisconnected("Connection lost")
        protocol.write(_dot_stuffed(wire) + b".\r\n")
        phase.transmitted = True
        reply = await protocol.read_response(timeout=timeout)
    except (SMTPServerDisconnected, SMTPTimeoutError, ConnectionError, OSError) as error:
        smtp.close()
        what = "timed out" if isinstance(error, TimeoutError) else "connection lost"
        if phase.transmitted:
            return _Result(
                "unknown", None, f"{what} after the content was transmitted: {_FINAL_REPLY_LOST}"
            )
        return _Result("temporary", None, f"{what} before the content was transmitted: {error}")
    except SMTPResponseException as error:  # a malformed or oversized reply
        smtp.close()
        if phase.transmitted:
            return _Result("unknown", None, f"unreadable final reply ({error.message})")
        return _Result("temporary", error.code, error.message)
    except ValueError as error:  # an address that cannot be put in an SMTP command
        await _reset(smtp, timeout)
        return _Result("permanent", None, f"cannot be sent by SMTP: {error}")
    if reply.code == 250:
        return _Result("sent", reply.code, reply.message, refused=_refusals(refused))
    if reply.code == 421:
        smtp.close()
    if 400 <= reply.code < 600:
        return _reply_result(reply, "the content")
    smtp.close()
    return _Result("unknown", reply.code, f"unexpected final reply {reply.code} {reply.message}")


def _reply_result(reply: SMTPResponse, what: str) -> _Result:
    state: Literal["temporary", "permanent"] = "permanent" if reply.code >= 500 else "temporary"
    return _Result(state, reply.code, f"{reply.message} (reply to {what})")


def _refusals(refused: dict[str, SMTPRecipientRefused]) -> str:
    if not refused:
        return ""
    return "refused: " + ", ".join(f"{a} ({e.code} {e.message})" for a, e in refused.items())


def _normalized(data: bytes) -> bytes:
    """The content with CRLF line ends and a final CRLF, as it goes on the wire."""
    crlf = data.count(b"\r\n")
    if not crlf == data.count(b"\r") == data.count(b"\n"):  # not already CRLF throughout
        data = _LINE_ENDS.sub(b"\r\n", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _dot_stuffed(wire: bytes) -> bytes:
    """``wire`` with a dot doubled at the start of each line (RFC 5321, 4.5.2)."""
    if wire.startswith(b".") or b"\n." in wire:
        return _LEADING_DOT.sub(b"..", wire)
    return wire


async def _reset(smtp: SMTP, timeout: float) -> None:
    """End a failed transaction (RSET); a connection that cannot is closed."""
    if not smtp.is_connected:
        return
    try:
        await smtp.rset(timeout=timeout)
    except (SMTPException, OSError):
        smtp.close()


async def _quit(smtp: SMTP | None, timeout: float) -> None:
    if smtp is None:
        return
    if smtp.is_connected:
        with contextlib.suppress(SMTPException, OSError):
            await smtp.quit(timeout=min(timeout, 5.0))
    smtp.close()


async def connect(settings: SmtpSettings, local_hostname: str | None = None) -> SMTP:
    """Open a connection to the relay, with STARTTLS or TLS and login as set.

    Raises :class:`RelayError` saying what failed and what to check.
    """
    password = settings.password.get_secret_value() if settings.password else None
    smtp = SMTP(
        hostname=settings.host,
        port=settings.port,
        username=settings.user,
        password=password,
        local_hostname=local_hostname or None,
        timeout=settings.timeout,
        use_tls=settings.security == "tls",
        start_tls=settings.security == "starttls",
        validate_certs=settings.validate_certs,
        cert_bundle=str(settings.ca_file) if settings.ca_file else None,
    )
    where = settings.address
    check = "Check DISPATCH_SMTP_HOST and DISPATCH_SMTP_PORT"
    try:
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
    except SMTPAuthenticationError as error:
        smtp.close()
        raise RelayError(
            f"{where}: the relay refused the login of user {settings.user!r} "
            f"({error.code} {error.message}). Check DISPATCH_SMTP_USER and "
            "DISPATCH_SMTP_PASSWORD."
        ) from None
    except SMTPConnectTimeoutError:
        smtp.close()
        raise RelayError(
            f"{where}: the relay did not answer within {settings.timeout:g} s. {check}, "
            "and that this machine may reach it (firewall, VPN)."
        ) from None
    except SMTPConnectResponseError as error:
        smtp.close()
        raise RelayError(
            f"{where}: the relay turned the connection away ({error.code} {error.message}). "
            "Try again later, or ask its administrator."
        ) from None
    except SMTPConnectError as error:
        smtp.close()
        cause = error.__cause__ or error
        detail = getattr(cause, "strerror", None) or str(cause)
        if isinstance(cause, ssl.SSLError):
            raise RelayError(_tls_problem(where, cause)) from None
        raise RelayError(
            f"{where}: cannot connect to the relay ({detail}). {check}, and that the "
            "relay is running and reachable from this machine."
        ) from None
    except ssl.SSLError as error:
        smtp.close()
        raise RelayError(_tls_problem(where, error)) from None
    except SMTPTimeoutError:
        smtp.close()
        raise RelayError(
            f"{where}: the relay stopped answering while the connection was set up "
            f"(no reply within {settings.timeout:g} s). Check DISPATCH_SMTP_SECURITY: "
            '"tls" is for a port like 465 that expects TLS at once, "starttls" for 587.'
        ) from None
    except SMTPServerDisconnected as error:
        smtp.close()
        raise RelayError(
            f"{where}: the relay closed the connection while it was set up ({error}). "
            "Check DISPATCH_SMTP_SECURITY and DISPATCH_SMTP_PORT."
        ) from None
    except SMTPResponseException as error:
        smtp.close()
        raise RelayError(
            f"{where}: the relay answered {error.code} {error.message} while the connection "
            "was set up. Check the settings, or ask the relay's administrator."
        ) from None
    except SMTPException as error:
        smtp.close()
        text = str(error)
        if "STARTTLS" in text.upper():
            hint = (
                'The relay does not offer STARTTLS: set DISPATCH_SMTP_SECURITY to "tls" if '
                'it expects TLS at once (port 465), or to "none" only on a trusted network.'
            )
        elif "AUTH" in text.upper():
            hint = (
                "The relay does not offer a login on this connection: remove "
                "DISPATCH_SMTP_USER and DISPATCH_SMTP_PASSWORD if it needs none, or use "
                "STARTTLS or TLS if it offers a login only over an encrypted connection."
            )
        else:
            hint = "Check the settings."
        raise RelayError(f"{where}: {text} {hint}") from None
    except OSError as error:
        smtp.close()
        raise RelayError(
            f"{where}: cannot connect to the relay ({error.strerror or error}). {check}."
        ) from None
    except BaseException:
        smtp.close()
        raise
    return smtp


def _tls_problem(where: str, error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"{where}: the relay's TLS certificate is not trusted "
            f"({error.verify_message}). If the relay uses a private certificate authority, "
            "set ca_file in the [smtp] settings (or DISPATCH_SMTP_CA_FILE) to its "
            "certificate; check DISPATCH_SMTP_HOST matches the name in the certificate."
        )
    return (
        f"{where}: the TLS handshake with the relay failed ({error.reason or error}). "
        'Check DISPATCH_SMTP_SECURITY: "tls" is for a port like 465, "starttls" for 587.'
    )


# -- samples to a test address ---------------------------------------------------------


@dataclass(frozen=True)
class SampleResult:
    """The fate of one sample: which addressee's letter, in which language, and the reply."""

    language: str
    key: str  # the addressee whose letter was used
    to_address: str
    accepted: bool
    code: int | None
    reply: str


async def send_samples(
    outgoings: Sequence[Outgoing], settings: SmtpSettings, to_address: str
) -> list[SampleResult]:
    """Send the first message of each language to ``to_address``, to check the letters.

    The journal is not touched. Each sample goes to ``to_address`` only: the envelope,
    and the To header, name it alone (Cc and Bcc are removed, so the real addressees
    cannot receive it). Its subject starts with ``[TEST] ``, it gets a Message-ID of its
    own (so that it can never be taken for the real letter, which keeps the mailing's
    Message-ID), and an ``X-Dispatch-Sample-Of`` header names whom the letter is for.
    """
    test_address = _test_address(to_address)
    samples: dict[str, Outgoing] = {}
    for message in outgoings:
        samples.setdefault(message.language, message)
    if not samples:
        return []
    local_hostname = settings.local_hostname or await asyncio.to_thread(socket.getfqdn)
    smtp = await connect(settings, local_hostname)
    results: list[SampleResult] = []
    try:
        for language, message in samples.items():
            data = sample_of(message, test_address)
            try:
                _, reply = await smtp.sendmail(
                    message.sender, [test_address], data, timeout=settings.timeout
                )
            except SMTPRecipientsRefused as error:
                first = error.recipients[0]
                results.append(
                    SampleResult(
                        language, message.key, test_address, False, first.code, first.message
                    )
                )
            except SMTPResponseException as error:
                results.append(
                    SampleResult(
                        language, message.key, test_address, False, error.code, error.message
                    )
                )
            except (SMTPServerDisconnected, SMTPTimeoutError) as error:
                raise SendError(
                    f"{settings.address}: the connection to the relay was lost while the "
                    f"{language} sample was sent ({error}); it may or may not arrive. "
                    "Run the command again."
                ) from None
            else:
                results.append(SampleResult(language, message.key, test_address, True, 250, reply))
    finally:
        await _quit(smtp, settings.timeout)
    return results


def send_samples_sync(
    outgoings: Sequence[Outgoing], settings: SmtpSettings, to_address: str
) -> list[SampleResult]:
    """Run :func:`send_samples` in a new event loop, for the command line."""
    return asyncio.run(send_samples(outgoings, settings, to_address))


def sample_of(message: Outgoing, to_address: str) -> bytes:
    """The bytes of ``message`` re-addressed to ``to_address`` as a test sample."""
    parsed = BytesParser(policy=policy.SMTP).parsebytes(message.payload())
    original = [str(v) for name in ("To", "Cc") for v in parsed.get_all(name, [])]
    subject = str(parsed.get("Subject", ""))
    for name in ("To", "Cc", "Bcc", "Subject", "Message-ID", "X-Dispatch-Sample-Of"):
        del parsed[name]
    parsed["To"] = to_address
    parsed["Subject"] = f"[TEST] {subject}"
    domain = message.sender.rpartition("@")[2] or None
    parsed["Message-ID"] = make_msgid("dispatch-sample", domain=domain)
    parsed["X-Dispatch-Sample-Of"] = ", ".join(original) or message.key
    return parsed.as_bytes(policy=policy.SMTP)


def _test_address(text: str) -> str:
    _name, address = parseaddr(text)
    problem: str | None = None
    if not address or address != text.strip() or "@" not in address:
        problem = "is not a single e-mail address"
    else:
        try:
            Address(addr_spec=address)
        except (ValueError, IndexError):
            problem = "is not a valid e-mail address"
    if problem is not None:
        raise InvalidInput(
            [
                Problem(
                    Location(field="test address"),
                    problem,
                    "Give one address, like you@example.org.",
                    value=text,
                )
            ]
        )
    return address
