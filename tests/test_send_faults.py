"""Sending when things go wrong: the relay defers, refuses, drops, stalls or goes away.

Each test checks the same promises: nobody receives a message twice (counted by
Message-ID at the server), every addressee ends in a journal state that matches what
the server saw, and a later run completes the mailing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dispatch import paths
from dispatch.errors import RelayError
from dispatch.journal import Journal
from dispatch.send import (
    DeliveryEvent,
    DeliveryInterrupted,
    DeliveryOptions,
    deliver,
    deliver_sync,
)
from tests.smtp_server import (
    Faults,
    Sink,
    accepting_only,
    address,
    assert_consistent,
    mailing,
    outgoing,
)

ROOT = Path(__file__).resolve().parent.parent


def message_id(n: int) -> str:
    return f"<invitation-2025.{n:05d}@example.org>"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there any more


# -- the relay cannot be used at all ------------------------------------------------


def test_an_unreachable_relay_is_reported_and_nothing_is_recorded(
    sink: Sink, journal: Journal
) -> None:
    port = free_port()
    with pytest.raises(RelayError) as refused:
        deliver_sync(mailing(3), sink.settings(port=port), journal)
    text = str(refused.value)
    assert text.startswith(f"127.0.0.1:{port}: cannot connect to the relay (")
    assert "Check DISPATCH_SMTP_HOST and DISPATCH_SMTP_PORT" in text
    assert refused.value.exit_code == 3
    assert journal.rows() == []


def test_a_refused_login_is_reported_and_nothing_is_recorded(journal: Journal) -> None:
    with Sink(authenticator=accepting_only("mailer", "right"), auth_require_tls=False) as sink:
        settings = sink.settings(user="mailer", password="wrong-password")
        with pytest.raises(RelayError) as refused:
            deliver_sync(mailing(3), settings, journal)
        assert sink.recorder.mails == 0
    text = str(refused.value)
    assert "the relay refused the login of user 'mailer' (535" in text
    assert "Check DISPATCH_SMTP_USER and DISPATCH_SMTP_PASSWORD" in text
    assert "wrong-password" not in text
    assert journal.rows() == []


def test_a_relay_that_turns_clients_away_is_reported(sink: Sink, journal: Journal) -> None:
    sink.recorder.faults.down = True
    with pytest.raises(RelayError, match=r"turned the connection away \(421 4\.3\.2"):
        deliver_sync(mailing(3), sink.settings(), journal)
    assert journal.rows() == []


def test_a_relay_without_starttls_is_reported_with_what_to_change(
    sink: Sink, journal: Journal
) -> None:
    with pytest.raises(RelayError, match="The relay does not offer STARTTLS: set DISPATCH_SMTP"):
        deliver_sync(mailing(1), sink.settings(security="starttls"), journal)
    assert journal.rows() == []


def test_a_relay_taking_fewer_connections_than_asked_still_gets_everything(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(12)
    sink.recorder.faults.max_connections = 2
    summary = deliver_sync(messages, sink.settings(concurrency=4, retries=1), journal)
    assert (summary.sent, summary.finished, summary.halted) == (12, True, None)
    assert_consistent(journal, sink.recorder, messages)
    assert sink.open_connections() == 0


# -- temporary failures --------------------------------------------------------------


def test_a_451_on_every_third_message_is_retried_and_each_arrives_once(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(30)
    sink.recorder.faults.defer_every = 3
    events: list[DeliveryEvent] = []
    summary = deliver_sync(
        messages, sink.settings(), journal, DeliveryOptions(on_event=events.append)
    )
    assert (summary.sent, summary.finished) == (30, True)
    assert any(e.kind == "retrying" and e.code == 451 for e in events)
    assert_consistent(journal, sink.recorder, messages)
    assert len(sink.recorder.accepted()) == 30


def test_a_deferral_outlasting_the_retries_is_left_for_the_next_run(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(5)
    sink.recorder.faults.defer_data = {message_id(2): 3}  # retries=1: two tries per run
    first = deliver_sync(messages, sink.settings(retries=1), journal)
    assert (first.sent, first.finished) == (4, False)
    [failure] = first.failed_temporary
    assert (failure.key, failure.code, failure.attempts) == (address(2), 451, 2)
    row = journal.row(address(2))
    assert row is not None and (row.state, row.code, row.attempts) == ("failed-temporary", 451, 2)
    assert_consistent(journal, sink.recorder, messages)

    second = deliver_sync(messages, sink.settings(retries=1), journal)
    assert (second.total, second.sent, second.finished) == (1, 1, True)
    assert_consistent(journal, sink.recorder, messages)
    assert journal.counts()["sent"] == 5


def test_a_deferred_cc_holds_the_whole_letter_back_until_it_is_accepted(
    sink: Sink, journal: Journal
) -> None:
    letter = outgoing(1, cc=("board@example.org",))
    sink.recorder.faults.defer_rcpt = {"board@example.org": 2}
    summary = deliver_sync([letter], sink.settings(retries=3), journal)
    assert summary.sent == 1 and not summary.partial
    [got] = sink.recorder.accepted()
    assert got.rcpt_tos == letter.recipients  # one delivery, to both, after the deferrals
    assert_consistent(journal, sink.recorder, [letter])


def test_a_connection_dropped_before_the_content_is_retried(sink: Sink, journal: Journal) -> None:
    messages = mailing(6)
    sink.recorder.faults.drop_at_mail = 2
    summary = deliver_sync(messages, sink.settings(concurrency=2), journal)
    assert (summary.sent, summary.finished) == (6, True)
    assert_consistent(journal, sink.recorder, messages)
    assert sink.open_connections() == 0


def test_a_relay_slower_than_the_timeout_before_the_content_is_retried(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(4)
    sink.recorder.faults.slow_mail = 1
    sink.recorder.faults.slowness = 1.5
    events: list[DeliveryEvent] = []
    summary = deliver_sync(
        messages, sink.settings(concurrency=1), journal, DeliveryOptions(on_event=events.append)
    )
    assert (summary.sent, summary.finished) == (4, True)
    [retry] = [e for e in events if e.kind == "retrying"]
    assert retry.reason.startswith("timed out before the content was transmitted")
    assert_consistent(journal, sink.recorder, messages)


# -- permanent failures --------------------------------------------------------------


def test_a_550_for_one_address_fails_it_for_good_and_the_run_goes_on(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(8)
    sink.recorder.faults.refuse_rcpt = {address(3)}
    summary = deliver_sync(messages, sink.settings(), journal)
    assert (summary.sent, summary.finished) == (7, True)
    [failure] = summary.failed_permanent
    assert (failure.key, failure.code, failure.attempts) == (address(3), 550, 1)
    assert "User unknown" in failure.reason
    row = journal.row(address(3))
    assert row is not None and (row.state, row.code) == ("failed-permanent", 550)
    assert_consistent(journal, sink.recorder, messages)

    again = deliver_sync(messages, sink.settings(), journal)
    assert again.total == 0 and len(again.plan.failed_permanent) == 1
    assert sink.recorder.mails == 8


def test_content_refused_with_a_554_fails_for_good(sink: Sink, journal: Journal) -> None:
    messages = mailing(3)
    sink.recorder.faults.reject_data = {message_id(1)}
    summary = deliver_sync(messages, sink.settings(), journal)
    [failure] = summary.failed_permanent
    assert (failure.key, failure.code) == (address(1), 554)
    assert "reply to the content" in failure.reason
    assert_consistent(journal, sink.recorder, messages)


def test_a_relay_refusing_the_sender_stops_the_run(sink: Sink, journal: Journal) -> None:
    messages = mailing(10)
    sink.recorder.faults.refuse_sender = True
    summary = deliver_sync(messages, sink.settings(concurrency=1), journal)
    assert summary.sent == 0 and not summary.failed_permanent
    assert summary.halted is not None
    assert "the relay refuses the sender secretariat@example.org (550" in summary.halted
    assert sink.recorder.mails == 1  # stopped at once, not 10 refusals
    assert journal.counts()["failed-temporary"] == 1 and journal.counts()["planned"] == 9

    sink.recorder.faults.refuse_sender = False
    again = deliver_sync(messages, sink.settings(), journal)
    assert (again.sent, again.finished) == (10, True)
    assert_consistent(journal, sink.recorder, messages)


# -- the uncertain case: the content went out, the reply never came ----------------


def test_a_connection_dropped_after_the_content_leaves_it_unknown_and_not_resent(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(6)
    sink.recorder.faults.drop_after_data = {message_id(2): 1}
    summary = deliver_sync(messages, sink.settings(), journal)
    assert summary.sent == 5
    [unknown] = summary.unknown
    assert unknown.key == address(2)
    assert unknown.reason.startswith("connection lost after the content was transmitted")
    row = journal.row(address(2))
    assert row is not None and row.state == "unknown" and row.attempts == 1
    assert_consistent(journal, sink.recorder, messages)

    again = deliver_sync(messages, sink.settings(), journal)  # not resent without asking
    assert again.total == 0 and len(again.plan.unknown) == 1
    assert sink.recorder.received_count()[message_id(2)] == 1

    resent = deliver_sync(messages, sink.settings(), journal, DeliveryOptions(retry_unknown=True))
    assert resent.sent == 1
    assert sink.recorder.received_count()[message_id(2)] == 2  # with the same Message-ID


def test_a_final_reply_slower_than_the_timeout_leaves_it_unknown(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(4)
    sink.recorder.faults.delay_final_reply = {message_id(1): 2.0}
    summary = deliver_sync(messages, sink.settings(), journal)
    assert summary.sent == 3
    [unknown] = summary.unknown
    assert unknown.reason.startswith("timed out after the content was transmitted")
    assert_consistent(journal, sink.recorder, messages)
    assert sink.open_connections() == 0


# -- the relay goes away, the run is interrupted or killed -------------------------


def test_a_relay_lost_mid_run_stops_it_and_the_next_run_finishes(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(20)
    sink.recorder.accepted_after = 5  # then 421 to every command and every new client
    first = deliver_sync(messages, sink.settings(concurrency=2, retries=1), journal)
    # The other connection may have had one more message past MAIL FROM by then.
    assert 5 <= first.sent <= 6 and not first.finished
    assert first.halted is not None and first.halted.startswith("lost the relay: 127.0.0.1:")
    assert first.sent + first.not_attempted + len(first.failed_temporary) == 20
    assert journal.counts()["sending"] == 0
    assert_consistent(journal, sink.recorder, messages)

    sink.recorder.faults.down = False
    second = deliver_sync(messages, sink.settings(), journal)
    assert (second.sent, second.finished) == (20 - first.sent, True)
    assert_consistent(journal, sink.recorder, messages)
    assert len(sink.recorder.accepted()) == 20


def test_cancelling_a_run_finishes_or_releases_what_is_in_flight(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(40)

    async def interrupted_run() -> None:
        sent = asyncio.Event()

        def on_event(event: DeliveryEvent) -> None:
            if event.sent >= 5:
                sent.set()

        settings = sink.settings(concurrency=4, rate_per_minute=3000)
        task = asyncio.create_task(
            deliver(messages, settings, journal, DeliveryOptions(on_event=on_event))
        )
        await sent.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted_run())
    counts = journal.counts()
    assert counts["sending"] == 0 and 5 <= counts["sent"] < 40
    assert counts["sent"] + counts["planned"] == 40
    assert_consistent(journal, sink.recorder, messages)
    assert sink.open_connections() == 0

    again = deliver_sync(messages, sink.settings(), journal)
    assert again.finished and journal.counts()["sent"] == 40
    assert_consistent(journal, sink.recorder, messages)


def test_a_second_cancellation_records_the_message_awaiting_its_reply_as_unknown(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(3)
    sink.recorder.faults.delay_final_reply = {message_id(1): 20.0}

    async def cancelled_twice() -> None:
        settings = sink.settings(concurrency=1, timeout=20)
        task = asyncio.create_task(deliver(messages, settings, journal))
        while sink.recorder.received_count()[message_id(1)] == 0:
            await asyncio.sleep(0.01)
        task.cancel()  # Ctrl-C: message 1 may finish...
        await asyncio.sleep(0.05)
        task.cancel()  # ...a second Ctrl-C: stop now
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_twice())
    row = journal.row(address(1))
    assert row is not None and row.state == "unknown"
    assert row.reply is not None and row.reply.startswith("interrupted after the content")
    assert journal.counts() == {
        "planned": 1,
        "sending": 0,
        "sent": 1,
        "failed-temporary": 0,
        "failed-permanent": 0,
        "unknown": 1,
    }
    assert_consistent(journal, sink.recorder, messages)


def test_ctrl_c_stops_the_run_with_a_summary_and_the_next_run_finishes(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(30)

    def press_ctrl_c(event: DeliveryEvent) -> None:
        if event.kind == "sent" and event.sent == 3:
            os.kill(os.getpid(), signal.SIGINT)

    settings = sink.settings(concurrency=2, rate_per_minute=1200)
    with pytest.raises(DeliveryInterrupted) as stopped:
        deliver_sync(messages, settings, journal, DeliveryOptions(on_event=press_ctrl_c))
    summary = stopped.value.summary
    assert summary.interrupted and 3 <= summary.sent < 30
    assert stopped.value.exit_code == 130
    assert "Run the same command again" in str(stopped.value)
    assert journal.counts()["sending"] == 0
    assert_consistent(journal, sink.recorder, messages)

    again = deliver_sync(messages, sink.settings(), journal)
    assert again.sent == 30 - summary.sent and again.finished
    assert_consistent(journal, sink.recorder, messages)


KILLED_RUN = """
    import sys
    from pathlib import Path
    from dispatch.journal import Journal
    from dispatch.send import deliver_sync
    from dispatch.settings import SmtpSettings
    from tests.smtp_server import mailing
    settings = SmtpSettings(host="127.0.0.1", port=int(sys.argv[2]), security="none",
                            timeout=30, concurrency=1, local_hostname="client.example.org")
    with Journal.open(Path(sys.argv[1])) as journal:
        deliver_sync(mailing(5), settings, journal)
"""


@pytest.mark.slow
def test_a_run_killed_while_waiting_for_the_reply_leaves_the_message_unknown(
    sink: Sink, tmp_path: Path
) -> None:
    path = paths.journal_path(tmp_path)
    sink.recorder.faults.delay_final_reply = {message_id(2): 30.0}
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_RUN), str(path), str(sink.port)], cwd=ROOT
    )
    deadline = time.monotonic() + 20
    while sink.recorder.received_count()[message_id(2)] == 0:  # the content is at the server
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.01)
    child.kill()
    child.wait(timeout=30)

    messages = mailing(5)
    with Journal.open(path) as journal:
        assert journal.recovered == 1
        row = journal.row(address(2))
        assert row is not None and row.state == "unknown"
        sink.open_connections()  # let the server see the client go
        assert_consistent(journal, sink.recorder, messages)
        again = deliver_sync(messages, sink.settings(), journal)
        assert (again.sent, len(again.plan.unknown)) == (2, 1)
        assert_consistent(journal, sink.recorder, messages)


# -- the invariant, for any pattern of faults ----------------------------------------


@pytest.fixture(scope="module")
def shared_sink() -> Iterator[Sink]:
    with Sink() as server:
        yield server


FAULTS = st.one_of(
    st.just(("none", 0)),
    st.tuples(st.just("defer"), st.integers(1, 3)),  # 451 to the content, k times
    st.tuples(st.just("defer-rcpt"), st.integers(1, 3)),  # 451 to RCPT TO, k times
    st.just(("refuse", 0)),  # 550 at RCPT TO
    st.just(("reject", 0)),  # 554 to the content
    st.just(("drop", 0)),  # the connection drops after the content, before the reply
)


@hypothesis_settings(max_examples=25, deadline=None)
@given(faults=st.lists(FAULTS, min_size=1, max_size=8), concurrency=st.integers(1, 3))
def test_any_pattern_of_faults_ends_with_each_message_sent_once_refused_or_unknown(
    shared_sink: Sink, faults: list[tuple[str, int]], concurrency: int
) -> None:
    retries = 1
    messages = mailing(len(faults))
    plan = Faults()
    for n, (kind, times) in enumerate(faults):
        if kind == "defer":
            plan.defer_data[message_id(n)] = times
        elif kind == "defer-rcpt":
            plan.defer_rcpt[address(n)] = times
        elif kind == "refuse":
            plan.refuse_rcpt.add(address(n))
        elif kind == "reject":
            plan.reject_data.add(message_id(n))
        elif kind == "drop":
            plan.drop_after_data[message_id(n)] = 1
    shared_sink.recorder.reset(plan)
    settings = shared_sink.settings(retries=retries, concurrency=concurrency)
    with (
        tempfile.TemporaryDirectory() as folder,
        Journal.open(Path(folder) / "journal.sqlite3") as journal,
    ):
        # Each run tries a message retries + 1 times, so (retries + 1) runs make
        # (retries + 1) ** 2 = 4 tries: enough for 3 deferrals, the most drawn above.
        for _ in range(retries + 1):
            deliver_sync(messages, settings, journal)
            assert_consistent(journal, shared_sink.recorder, messages)
        counts = journal.counts()
        rows = {row.key: row.state for row in journal.rows()}
    accepted = shared_sink.recorder.accepted_count()
    for n, (kind, _) in enumerate(faults):
        if kind in ("refuse", "reject"):
            assert rows[address(n)] == "failed-permanent"
            assert accepted[message_id(n)] == 0
        elif kind == "drop":  # maybe delivered: never sent again without being asked
            assert rows[address(n)] == "unknown"
            assert shared_sink.recorder.received_count()[message_id(n)] == 1
        else:
            assert rows[address(n)] == "sent"
            assert accepted[message_id(n)] == 1
    assert counts["sent"] + counts["failed-permanent"] + counts["unknown"] == len(faults)
