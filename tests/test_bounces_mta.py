"""Bounces from a real MTA, read back from its Maildir and over IMAP from a real Dovecot.

Postfix relays to the test sink and delivers locally; a message to two unknown users of
its local domain comes back to the sender as two real RFC 3464 notifications' worth of
failures (one DSN naming both), delivered into the sender's Maildir, which Dovecot serves.
"""

from __future__ import annotations

import imaplib
import smtplib
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest

from dispatch.bounces import (
    BounceError,
    ImapSource,
    MailboxConnectionError,
    MaildirSource,
    read_notification,
    scan,
)
from tests.mta import LOCAL_DOMAIN, Dovecot, MailRoot, Postfix, temporary_mail_root
from tests.smtp_server import Sink

pytestmark = pytest.mark.mta

SENDER = "secretariat@example.org"
MESSAGE_ID = "<0f1e2d3c4b5a69788796a5b4c3d2e1f0@example.org>"
UNKNOWN = (f"old.address@{LOCAL_DOMAIN}", f"left.the.ministry@{LOCAL_DOMAIN}")
KNOWN = "anne.martin@ministry.example.org"  # another domain: relayed to the sink


def letter(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"ITU - TSB <{SENDER}>"
    msg["To"] = to
    msg["Subject"] = "Sixth meeting of the U4SSC initiative"
    msg["Message-ID"] = MESSAGE_ID
    msg.set_content("Dear Colleague,\n\nWe have the honour to invite you.\n")
    return msg


def send_through(relay: Postfix, recipients: tuple[str, ...]) -> None:
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=30) as smtp:
        refused = smtp.send_message(letter(recipients[0]), SENDER, list(recipients))
    assert refused == {}  # Postfix accepts the unknown users: the bounce comes as a DSN


def imap(dovecot: Dovecot, **changes: object) -> ImapSource:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": dovecot.port,
        "user": "tsb",
        "security": "none",
        "password": "s3cret",
        "timeout": 10.0,
    }
    values.update(changes)
    return ImapSource(**values)  # type: ignore[arg-type]


def test_postfix_returns_a_real_dsn_for_two_unknown_users_read_from_maildir_and_imap(
    mail_root: MailRoot, mta_sink: Sink, postfix_relay: Postfix, dovecot: Dovecot
) -> None:
    send_through(postfix_relay, (*UNKNOWN, KNOWN))

    notifications = mail_root.wait_for_messages("tsb", 1)
    assert len(notifications) == 1, postfix_relay.log()
    assert b"Undelivered Mail Returned to Sender" in notifications[0]
    assert [r.rcpt_tos for r in mta_sink.recorder.received] == [(KNOWN,)]

    from_maildir = scan(MaildirSource(mail_root.maildir("tsb")))
    from_imap = scan(imap(dovecot))
    for result in (from_maildir, from_imap):
        assert sorted(b.recipient for b in result.bounces) == sorted(UNKNOWN)
        assert {(b.kind, b.status, b.message_id) for b in result.bounces} == {
            ("bounced", "5.1.1", MESSAGE_ID)
        }
        assert all("unknown user" in b.diagnostic for b in result.bounces)
        assert (result.ignored, result.unreadable) == (0, 0)
    assert from_imap.bounces == from_maildir.bounces  # same notification, same source ids


def test_reading_over_imap_marks_nothing_as_read_and_counts_what_is_not_a_bounce(
    mail_root: MailRoot, postfix_relay: Postfix, dovecot: Dovecot
) -> None:
    send_through(postfix_relay, UNKNOWN[:1])
    assert len(mail_root.wait_for_messages("tsb", 1)) == 1, postfix_relay.log()
    client = imaplib.IMAP4("127.0.0.1", dovecot.port)
    client.login("tsb", "s3cret")
    client.append("INBOX", None, None, letter(SENDER).as_bytes())  # an ordinary mail
    client.logout()

    first, second = scan(imap(dovecot)), scan(imap(dovecot))
    assert first == second
    assert [b.recipient for b in first.bounces] == [UNKNOWN[0]]
    assert first.ignored == 1

    client = imaplib.IMAP4("127.0.0.1", dovecot.port)
    client.login("tsb", "s3cret")
    client.select("INBOX", readonly=True)
    status, flags = client.fetch("1:*", "(FLAGS)")
    client.logout()
    assert status == "OK"
    assert len(flags) == 2
    assert all(b"\\Seen" not in line for line in flags if isinstance(line, bytes))


@pytest.fixture(scope="module")
def one_dsn() -> Iterator[Dovecot]:
    """A Dovecot whose INBOX holds one notification, shared by the read-only tests below."""
    with temporary_mail_root() as root:
        root.deliver("tsb", _a_real_looking_dsn())
        server = Dovecot(root).start()
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.parametrize(
    ("security", "tls_port"), [("tls", True), ("starttls", False)], ids=["imaps", "starttls"]
)
def test_imap_over_tls_checks_the_certificate_it_is_given(
    one_dsn: Dovecot, security: str, tls_port: bool
) -> None:
    dovecot = one_dsn
    assert dovecot.certificate is not None
    port = dovecot.tls_port if tls_port else dovecot.port
    source = imap(dovecot, security=security, port=port, ca_file=dovecot.certificate[0])
    assert [b.recipient for b in scan(source).bounces] == ["x@bounces.example.org"]

    untrusted = imap(dovecot, security=security, port=port)
    with pytest.raises(MailboxConnectionError, match="the TLS handshake failed"):
        scan(untrusted)


def test_an_oauth2_token_logs_in_with_xoauth2(one_dsn: Dovecot) -> None:
    source = imap(one_dsn, password=None, token="s3cret")
    assert len(scan(source).bounces) == 1


@pytest.mark.parametrize(
    ("changes", "error_type", "message"),
    [
        (
            {"password": "wrong"},
            MailboxConnectionError,
            "the server refused the login ([AUTHENTICATIONFAILED] Authentication failed.). "
            "Check the user and the password (DISPATCH_IMAP_PASSWORD).",
        ),
        (
            {"password": None, "token": "expired"},
            MailboxConnectionError,
            "the server refused the login (",
        ),
        (
            {"mailbox": "Bounces"},
            BounceError,
            "the mailbox cannot be opened (Mailbox doesn't exist: Bounces",
        ),
    ],
    ids=["wrong password", "wrong token", "no such mailbox"],
)
def test_imap_refusals_say_where_and_what_to_do(
    one_dsn: Dovecot, changes: dict[str, object], error_type: type[BounceError], message: str
) -> None:
    source = imap(one_dsn, **changes)
    with pytest.raises(error_type) as error:
        scan(source)
    assert str(error.value).startswith(f"{source.address}: {message}")
    assert "s3cret" not in str(error.value) and "wrong" not in str(error.value)


def _a_real_looking_dsn() -> bytes:
    text = (
        "From: MAILER-DAEMON@mta.example.org (Mail Delivery System)\n"
        f"To: {SENDER}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Message-Id: <1.dsn@mta.example.org>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n'
        "\n--b\nContent-Type: text/plain\n\nUndeliverable.\n"
        "\n--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mta.example.org\n\n"
        "Final-Recipient: rfc822; x@bounces.example.org\nAction: failed\nStatus: 5.1.1\n"
        'Diagnostic-Code: X-Postfix; unknown user: "x@bounces.example.org"\n'
        "\n--b--\n"
    )
    assert read_notification(text.encode())
    return text.encode()


def test_the_relay_enforces_its_size_limit_with_552_and_its_rate_limit_with_4xx(
    make_postfix: Callable[..., Postfix], mta_sink: Sink
) -> None:
    relay = make_postfix(message_size_limit=20_000, client_message_rate_limit=3)
    big = letter(KNOWN)
    big.set_content("x" * 40_000)
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=30) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as too_big:
            smtp.send_message(big, SENDER, [KNOWN])
        assert too_big.value.smtp_code == 552
        assert b"5.3.4 Message size exceeds fixed limit" in too_big.value.smtp_error
        codes: list[int] = []
        for _ in range(5):
            try:
                smtp.send_message(letter(KNOWN), SENDER, [KNOWN])
                codes.append(250)
            except smtplib.SMTPSenderRefused as refused:
                codes.append(refused.smtp_code)
                assert refused.smtp_error == b"4.7.1 Error: too much mail from 127.0.0.1"
                break
    assert codes[-1] == 450, codes
    accepted = codes.count(250)
    assert 1 <= accepted <= 3  # the 552 may count as one of the 3 a minute
    deadline = time.monotonic() + 20
    while len(mta_sink.recorder.received) < accepted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.rcpt_tos for r in mta_sink.recorder.received] == [(KNOWN,)] * accepted
