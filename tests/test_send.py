"""Sending a mailing through a real SMTP server, and the SMTP settings."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPException,
    SMTPServerDisconnected,
)
from hypothesis import given
from hypothesis import strategies as st

from dispatch.delivery.smtp import CONNECTION_ERRORS, connection_problem, dot_stuffed, normalized
from dispatch.errors import InvalidInput, RelayError
from dispatch.journal import Journal
from dispatch.send import (
    DeliveryEvent,
    DeliveryOptions,
    Outgoing,
    deliver,
    deliver_sync,
    send_samples_sync,
)
from dispatch.settings import SmtpSettings, load_settings
from tests.smtp_server import (
    SENDER,
    Faults,
    RecordingHandler,
    Sink,
    accepting_only,
    address,
    assert_consistent,
    mailing,
    outgoing,
    self_signed_certificate,
)

# -- settings --------------------------------------------------------------------------

RELAY = {"DISPATCH_SMTP_HOST": "relay.example.org"}


def test_settings_from_the_environment_alone() -> None:
    settings = load_settings(
        None,
        {
            **RELAY,
            "DISPATCH_SMTP_USER": "mailer",
            "DISPATCH_SMTP_PASSWORD": "s3cret-Pa55",
            "DISPATCH_SMTP_CONCURRENCY": "8",
            "DISPATCH_SMTP_RATE": "120",
            "DISPATCH_SMTP_TIMEOUT": "30",
        },
    )
    assert (settings.host, settings.port, settings.security) == (
        "relay.example.org",
        587,
        "starttls",
    )
    assert (settings.concurrency, settings.rate_per_minute, settings.timeout) == (8, 120, 30)
    assert (settings.messages_per_connection, settings.retries, settings.backoff) == (100, 3, 1)
    assert settings.password is not None and settings.password.get_secret_value() == "s3cret-Pa55"


def test_the_password_never_shows() -> None:
    settings = load_settings(
        None, {**RELAY, "DISPATCH_SMTP_USER": "mailer", "DISPATCH_SMTP_PASSWORD": "s3cret-Pa55"}
    )
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings)
    assert "s3cret" not in settings.model_dump_json()


def test_the_environment_overrides_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    file = tmp_path / "dispatch.toml"
    file.write_text(
        '[smtp]\nhost = "old.example.org"\nsecurity = "tls"\nretries = 5\nca_file = "ca.pem"\n'
    )
    settings = load_settings(file, {**RELAY, "DISPATCH_SMTP_PORT": "2465"})
    assert (settings.host, settings.port, settings.security) == ("relay.example.org", 2465, "tls")
    assert settings.retries == 5
    assert settings.ca_file == tmp_path / "ca.pem"  # relative to the settings file


def test_the_default_port_follows_the_security() -> None:
    ports = [
        load_settings(None, {**RELAY, "DISPATCH_SMTP_SECURITY": kind}).port
        for kind in ("starttls", "tls", "none")
    ]
    assert ports == [587, 465, 25]


def test_a_password_in_the_settings_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    file = tmp_path / "dispatch.toml"
    file.write_text('[smtp]\nhost = "relay.example.org"\nuser = "u"\npassword = "hunter2"\n')
    with pytest.raises(InvalidInput) as refused:
        load_settings(file, {})
    text = str(refused.value)
    assert "dispatch.toml, field smtp.password: " in text
    assert "a password is not accepted in a settings file" in text.lower()
    assert "DISPATCH_SMTP_PASSWORD" in text
    assert "hunter2" not in text


def test_every_bad_value_is_reported_with_its_variable_and_what_to_do(tmp_path: Path) -> None:
    env = {
        **RELAY,
        "DISPATCH_SMTP_PORT": "smtp",
        "DISPATCH_SMTP_SECURITY": "ssl",
        "DISPATCH_SMTP_CONCURRENCY": "0",
        "DISPATCH_SMTP_USER": "mailer",
    }
    with pytest.raises(InvalidInput) as refused:
        load_settings(None, env)
    problems = [str(p) for p in refused.value.problems]
    assert len(problems) == 4
    assert problems[0].lower() == (
        "environment variable dispatch_smtp_user: is set but the password is not. "
        "set dispatch_smtp_password too, or neither. (or sign in with "
        "dispatch_smtp_password_command, dispatch_smtp_keyring=true or "
        "dispatch_smtp_token_command.)"
    )
    assert problems[1].startswith('environment variable DISPATCH_SMTP_PORT: "smtp" is not valid')
    assert "Give a port number like 587" in problems[1]
    assert problems[2].startswith('environment variable DISPATCH_SMTP_SECURITY: "ssl"')
    assert '"starttls" (port 587), "tls" (port 465)' in problems[2]
    assert problems[3].startswith('environment variable DISPATCH_SMTP_CONCURRENCY: "0"')


def test_every_problem_of_the_settings_file_is_reported_in_one_pass(tmp_path: Path) -> None:
    file = tmp_path / "dispatch.toml"
    file.write_text('[smtp]\nhost = "smtp://relay"\nport = 70000\npassword = "hunter2"\n')
    with pytest.raises(InvalidInput) as refused:
        load_settings(file, {})
    problems = [str(p) for p in refused.value.problems]
    assert [p.split(":")[0] for p in problems] == [
        "dispatch.toml, field smtp.password",
        "dispatch.toml, field smtp.host",
        "dispatch.toml, field smtp.port",
    ]
    assert "without a scheme like smtp://" in problems[1]
    assert '"70000" is not valid (it should be less than or equal to 65535)' in problems[2]


def test_a_missing_relay_and_unknown_keys_are_reported_together(tmp_path: Path) -> None:
    file = tmp_path / "dispatch.toml"
    file.write_text("[smtp]\nhots = 'relay.example.org'\n")
    with pytest.raises(InvalidInput) as refused:
        load_settings(file, {"DISPATCH_SMTP_HOST": "  "})
    problems = [str(p) for p in refused.value.problems]
    assert (
        problems[0]
        .lower()
        .startswith(
            "dispatch.toml, field smtp.hots: is not a known smtp setting (known: host, port,"
        )
    )
    assert (
        problems[1]
        .lower()
        .startswith("environment variable dispatch_smtp_host: the smtp relay is not set")
    )


def test_a_settings_file_that_is_not_toml_is_reported(tmp_path: Path) -> None:
    file = tmp_path / "dispatch.toml"
    file.write_text("[smtp\nhost = 1\n")
    with pytest.raises(InvalidInput, match=r"(?i)dispatch\.toml: is not valid TOML \(.*line 1"):
        load_settings(file, RELAY)


# -- delivering ------------------------------------------------------------------------


def test_every_message_reaches_the_server_once_byte_for_byte(sink: Sink, journal: Journal) -> None:
    messages = mailing(20)
    summary = deliver_sync(messages, sink.settings(), journal)
    assert (summary.total, summary.sent, summary.finished) == (20, 20, True)
    assert not (summary.failed_temporary or summary.failed_permanent or summary.unknown)
    received = {r.message_id: r for r in sink.recorder.accepted()}
    for message in messages:
        got = received[message.message_id]
        assert got.data == message.data  # dot-stuffing undone, 8-bit body intact
        assert (got.mail_from, got.rcpt_tos) == (SENDER, message.recipients)
    assert journal.counts()["sent"] == 20
    row = journal.row(messages[0].key)
    assert row is not None and row.code == 250 and row.reply is not None
    assert row.reply.startswith("2.0.0 Ok: queued as")
    assert_consistent(journal, sink.recorder, messages)


def test_the_subject_and_body_arrive_in_french(sink: Sink, journal: Journal) -> None:
    deliver_sync([outgoing(1, language="fr")], sink.settings(), journal)
    parsed = message_from_bytes(sink.recorder.accepted()[0].data, policy=policy.default)
    assert parsed["Subject"] == "Réunion à Genève"
    body = parsed.get_body()
    assert body is not None and "à Genève" in body.get_content()


def test_a_second_run_sends_nothing_more(sink: Sink, journal: Journal) -> None:
    messages = mailing(6)
    deliver_sync(messages, sink.settings(), journal)
    again = deliver_sync(messages, sink.settings(), journal)
    assert (again.total, again.sent, len(again.plan.already_sent)) == (0, 0, 6)
    assert sink.recorder.accepted_count().most_common(1)[0][1] == 1


def test_every_message_is_sending_on_the_disk_before_its_content_arrives(
    sink: Sink, journal: Journal
) -> None:
    # Read as another process would after a crash: a connection of its own, committed
    # rows only. The mark is committed while MAIL, RCPT and DATA go back and forth, and
    # must be there before the content, the only part that can deliver the message.
    messages = mailing(40)
    by_id = {m.message_id: m.key for m in messages}
    seen: dict[str, str] = {}

    def read_the_journal(message_id: str) -> None:
        with Journal.open(journal.path, readonly=True) as other:
            row = other.row(by_id[message_id])
        assert row is not None
        seen[message_id] = row.state

    sink.recorder.on_content = read_the_journal
    summary = deliver_sync(messages, sink.settings(concurrency=4), journal)
    assert summary.sent == 40
    assert seen == dict.fromkeys(by_id, "sending")
    assert journal.counts()["sent"] == 40


def test_the_marks_of_several_connections_are_all_committed(sink: Sink, journal: Journal) -> None:
    # Eight connections mark their messages at once (grouped commits, one thread): every
    # mark and every outcome reaches the journal, in order, and nobody gets two copies.
    messages = mailing(60)
    summary = deliver_sync(messages, sink.settings(concurrency=8), journal)
    assert summary.sent == 60 and journal.counts()["sent"] == 60
    assert_consistent(journal, sink.recorder, messages)


@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"\xc3\xa9", b" "])))
def test_the_wire_form_is_crlf_throughout_with_leading_dots_doubled(parts: list[bytes]) -> None:
    data = b"".join(parts)
    wire = normalized(data)
    expected = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    assert wire == (expected if expected.endswith(b"\r\n") else expected + b"\r\n")
    assert normalized(wire) == wire
    assert dot_stuffed(wire) == re.sub(rb"(?m)^\.", b"..", wire)


def test_nothing_to_send_does_not_even_connect(journal: Journal) -> None:
    unreachable = SmtpSettings(host="127.0.0.1", port=9, security="none", timeout=0.5)
    summary = deliver_sync([], unreachable, journal)
    assert summary.total == 0 and summary.finished


def test_limit_sends_at_most_that_many_and_the_next_run_the_rest(
    sink: Sink, journal: Journal
) -> None:
    messages = mailing(10)
    first = deliver_sync(messages, sink.settings(), journal, DeliveryOptions(limit=4))
    assert (first.sent, first.held_by_limit, first.finished) == (4, 6, False)
    assert journal.counts()["planned"] == 6
    second = deliver_sync(messages, sink.settings(), journal)
    assert (second.sent, second.finished) == (6, True)
    # Each message once, whatever order the connections finished them in.
    accepted = sorted(r.message_id for r in sink.recorder.accepted())
    assert accepted == sorted(m.message_id for m in messages)


def test_a_connection_carries_several_messages_then_is_renewed(
    sink: Sink, journal: Journal
) -> None:
    deliver_sync(mailing(10), sink.settings(concurrency=1, messages_per_connection=3), journal)
    assert sink.connections() == 4
    assert sink.recorder.quits == 4  # each connection ended politely
    assert sink.open_connections() == 0


def test_connections_are_bounded_by_concurrency_and_all_closed(
    sink: Sink, journal: Journal
) -> None:
    summary = deliver_sync(mailing(40), sink.settings(concurrency=3), journal)
    assert summary.sent == 40
    assert sink.connections() == 3
    assert sink.open_connections() == 0


def test_the_rate_limit_spaces_messages_out(sink: Sink, journal: Journal) -> None:
    started = time.monotonic()
    deliver_sync(mailing(6), sink.settings(rate_per_minute=600, concurrency=3), journal)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.5  # 6 messages, one every 0.1 s, whatever the connections
    assert elapsed < 3


def test_progress_events_count_up_to_the_summary(sink: Sink, journal: Journal) -> None:
    events: list[DeliveryEvent] = []
    sink.recorder.faults.refuse_rcpt = {"invite00002@example.org"}
    summary = deliver_sync(
        mailing(5), sink.settings(), journal, DeliveryOptions(on_event=events.append)
    )
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("sent") == 4 and kinds.count("failed-permanent") == 1
    last = events[-1]
    assert (last.total, last.sent, last.failed, last.unknown, last.remaining) == (5, 4, 1, 0, 0)
    assert last.per_minute > 0
    assert summary.sent == 4


def test_a_refused_cc_does_not_stop_the_letter_to_the_others(sink: Sink, journal: Journal) -> None:
    sink.recorder.faults.refuse_rcpt = {"nobody@example.org"}
    letter = outgoing(1, cc=("nobody@example.org", "board@example.org"))
    summary = deliver_sync([letter], sink.settings(), journal)
    assert summary.sent == 1
    [partial] = summary.partial
    assert partial.key == letter.key and "nobody@example.org (550 5.1.1" in partial.reason
    [got] = sink.recorder.accepted()
    assert got.rcpt_tos == ("invite00001@example.org", "board@example.org")
    row = journal.row(letter.key)
    assert row is not None and row.state == "sent"
    assert row.reply is not None and "refused: nobody@example.org (550" in row.reply


def _event_loop_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_a_message_given_as_a_builder_is_built_once_when_sent_never_when_skipped(
    sink: Sink, journal: Journal
) -> None:
    built: list[tuple[str, bool]] = []

    def lazy(n: int) -> Outgoing:
        ready = outgoing(n)

        def build() -> bytes:
            built.append((ready.key, _event_loop_here()))
            assert isinstance(ready.data, bytes)
            return ready.data

        return replace(ready, data=build)

    sink.recorder.faults.defer_data = {"<invitation-2025.00001@example.org>": 1}
    messages = [lazy(n) for n in range(4)]
    deliver_sync(messages[:2], sink.settings(), journal)  # 1 is deferred once, retried
    assert sorted(key for key, _ in built) == [address(0), address(1)]
    # Built off the event loop, so that the connections are served meanwhile.
    assert not any(loop_here for _, loop_here in built)
    deliver_sync(messages, sink.settings(), journal)
    assert sorted(key for key, _ in built) == [address(n) for n in range(4)]
    assert len(sink.recorder.accepted()) == 4
    assert_consistent(journal, sink.recorder, messages)


def test_deliver_runs_inside_an_existing_event_loop(sink: Sink, journal: Journal) -> None:
    async def main() -> int:
        summary = await deliver(mailing(3), sink.settings(), journal)
        return summary.sent

    assert asyncio.run(main()) == 3


# -- TLS and login -------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


def test_starttls_with_a_private_certificate_and_a_login(
    certificate: tuple[Path, Path], journal: Journal
) -> None:
    with Sink(
        tls="starttls", certificate=certificate, authenticator=accepting_only("mailer", "pw")
    ) as sink:
        settings = sink.settings(
            security="starttls", ca_file=certificate[0], user="mailer", password="pw"
        )
        summary = deliver_sync(mailing(4), settings, journal)
        assert summary.sent == 4
        assert all(s.session is not None and s.session.ssl for s in sink.sessions[1:])
        assert all(s.session is not None and s.session.authenticated for s in sink.sessions[1:])
        assert sink.open_connections() == 0


def test_tls_from_the_start(certificate: tuple[Path, Path], journal: Journal) -> None:
    with Sink(tls="tls", certificate=certificate) as sink:
        summary = deliver_sync(
            mailing(3), sink.settings(security="tls", ca_file=certificate[0]), journal
        )
        assert summary.sent == 3
        assert sink.open_connections() == 0


def test_an_untrusted_certificate_is_refused_before_anything_is_recorded(
    certificate: tuple[Path, Path], journal: Journal
) -> None:
    with Sink(tls="starttls", certificate=certificate) as sink:
        with pytest.raises(RelayError) as refused:
            deliver_sync(mailing(3), sink.settings(security="starttls"), journal)
        assert sink.recorder.mails == 0
    text = str(refused.value)
    assert text.startswith(f"127.0.0.1:{sink.port}: the relay's TLS certificate is not trusted")
    assert "ca_file" in text
    assert journal.rows() == []


# -- samples -------------------------------------------------------------------------


def test_samples_go_to_the_test_address_only_one_per_language(sink: Sink, tmp_path: Path) -> None:
    messages = [
        outgoing(n, language="fr" if n < 3 else "en", cc=("cc@example.org",)) for n in range(6)
    ]
    results = send_samples_sync(messages, sink.settings(), "me@example.org")
    assert [(r.language, r.key, r.accepted) for r in results] == [
        ("fr", "invite00000@example.org", True),
        ("en", "invite00003@example.org", True),
    ]
    received = sink.recorder.accepted()
    assert [r.rcpt_tos for r in received] == [("me@example.org",), ("me@example.org",)]
    for got, original in zip(received, (messages[0], messages[3]), strict=True):
        parsed = message_from_bytes(got.data, policy=policy.default)
        assert parsed["To"] == "me@example.org" and parsed["Cc"] is None
        assert str(parsed["Subject"]).startswith("[TEST] ")
        assert parsed["Message-ID"] != original.message_id
        assert original.key in str(parsed["X-Dispatch-Sample-Of"])
        body = parsed.get_body()
        original_body = message_from_bytes(original.payload(), policy=policy.default).get_body()
        assert body is not None and original_body is not None
        assert body.get_content() == original_body.get_content()  # the letter is unchanged
    assert not list(tmp_path.iterdir())  # no journal anywhere


def test_a_sample_needs_one_valid_test_address(sink: Sink) -> None:
    with pytest.raises(InvalidInput, match="is not a single e-mail address"):
        send_samples_sync(mailing(1), sink.settings(), "me@example.org, you@example.org")
    assert sink.connections() == 0


def test_a_sample_refused_by_the_relay_is_reported(sink: Sink) -> None:
    sink.recorder.faults.refuse_rcpt = {"me@example.org"}
    [result] = send_samples_sync(mailing(1), sink.settings(), "me@example.org")
    assert (result.accepted, result.code) == (False, 550)


def test_a_recording_handler_is_fresh_for_each_sink() -> None:
    assert RecordingHandler().faults == Faults()


# -- why a connection failed: one table ------------------------------------------------


def test_no_row_of_the_connection_table_is_hidden_by_an_earlier_one() -> None:
    kinds = [rule.kind for rule in CONNECTION_ERRORS]
    for later, kind in enumerate(kinds):
        hidden_by = [k for k in kinds[:later] if issubclass(kind, k)]
        assert not hidden_by, f"{kind.__name__} is caught first by {hidden_by[0].__name__}"


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (SMTPAuthenticationError(535, "bad"), "refused the login of user 'me' (535 bad)"),
        (SMTPConnectTimeoutError("slow"), "did not answer within 2 s"),
        (SMTPConnectResponseError(421, "busy"), "turned the connection away (421 busy)"),
        (SMTPServerDisconnected("gone"), "closed the connection while it was set up (gone)"),
        (SMTPException("STARTTLS extension not supported"), "does not offer STARTTLS"),
        (ConnectionRefusedError(111, "Connection refused"), "(Connection refused). Check"),
    ],
    ids=["login", "timeout", "turned away", "closed", "no starttls", "refused"],
)
def test_each_connection_failure_says_what_to_check(error: BaseException, says: str) -> None:
    settings = SmtpSettings(host="relay.example.org", port=587, user="me", password="pw", timeout=2)
    problem = connection_problem(error, settings)
    assert problem is not None and problem.exit_code == 3
    assert str(problem).startswith("relay.example.org:587: ") and says in str(problem)


def test_an_error_that_is_not_about_the_connection_is_not_explained() -> None:
    settings = SmtpSettings(host="relay.example.org", port=587)
    assert connection_problem(KeyboardInterrupt(), settings) is None
