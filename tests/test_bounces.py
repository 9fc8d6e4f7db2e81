"""Bounces: delivery status notifications in the layouts of the common servers.

Each notification below is written from RFC 3464 (and RFC 3462's multipart/report) and
from the layout each server is known to send: Exchange/Outlook's NDR, Gmail's
"Delivery Status Notification (Failure)", Postfix's "Undelivered Mail Returned to
Sender", Exim's "Mail delivery failed" (no DSN part), qmail's "failure notice" (no DSN
part). They are read back from an mbox and a Maildir written with :mod:`mailbox`, and
from a folder of .eml files.
"""

from __future__ import annotations

import mailbox
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from dispatch.bounces import (
    BounceError,
    EmlFolderSource,
    FixListEntry,
    ImapSource,
    MailboxConnectionError,
    MaildirSource,
    MboxSource,
    read_notification,
    scan,
    source_from,
    write_fix_list,
)
from dispatch.errors import DispatchError

SENDER = "secretariat@example.org"
ORIGINAL_ID = "<3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6@example.org>"
DATE = "Mon, 30 Nov 2026 09:15:02 +0100"


def original(to: str = "anne.old@ministry.example.org") -> str:
    """The letter dispatch sent, as a server returns it."""
    return (
        f"Return-Path: <{SENDER}>\n"
        f"From: ITU - TSB <{SENDER}>\n"
        f"To: {to}\n"
        "Subject: Sixth meeting of the U4SSC initiative\n"
        "Date: Mon, 30 Nov 2026 08:00:00 +0100\n"
        f"Message-ID: {ORIGINAL_ID}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "Dear Colleague,\n"
    )


def exchange() -> str:
    to = "anne.old@ministry.example.org"
    return f"""\
From: Microsoft Outlook <postmaster@ministry.example.org>
To: <{SENDER}>
Date: {DATE}
Subject: Undeliverable: Sixth meeting of the U4SSC initiative
Message-ID: <a1b2c3d4-ndr@EX01.ministry.example.org>
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_ndr_"

--_000_ndr_
Content-Type: multipart/alternative; boundary="_001_alt_"

--_001_alt_
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

{to}
The email address you entered couldn't be found. Please check the recipient's email
address and try to resend the message.

--_001_alt_
Content-Type: text/html; charset="us-ascii"

<html><body><p>Delivery has failed to these recipients or groups:</p>
<p><a href="mailto:{to}">{to}</a></p></body></html>

--_001_alt_--

--_000_ndr_
Content-Type: message/delivery-status

Reporting-MTA: dns;EX01.ministry.example.org
Received-From-MTA: dns;mx.example.org
Arrival-Date: Mon, 30 Nov 2026 08:15:00 +0000

Final-Recipient: rfc822;{to}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found
X-Display-Name: Anne Old

--_000_ndr_
Content-Type: text/rfc822-headers

Return-Path: <{SENDER}>
From: ITU - TSB <{SENDER}>
To: {to}
Subject: Sixth meeting of the U4SSC initiative
Message-ID: {ORIGINAL_ID}

--_000_ndr_--
"""


def gmail() -> str:
    to = "j.smith.ict@northmoor.example.org"
    return f"""\
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {SENDER}
Date: {DATE}
Subject: Delivery Status Notification (Failure)
Message-ID: <5f0c1.a1b2.gmail-dsn@mx.google.example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000gmail"; report-type=delivery-status

--000000000000gmail
Content-Type: multipart/related; boundary="000000000000rel"

--000000000000rel
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to {to} because the address couldn't be found, or is
unable to receive mail.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist.

--000000000000rel--

--000000000000gmail
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; secretariat@example.org
Arrival-Date: Mon, 30 Nov 2026 00:15:00 -0800 (PST)
X-Original-Message-ID: {ORIGINAL_ID}

Final-Recipient: rfc822; {to}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.northmoor.example.org. (192.0.2.10, the server for the domain
 northmoor.example.org.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
 Please try 550-5.1.1 double-checking the recipient's email address for typos
Last-Attempt-Date: Mon, 30 Nov 2026 00:15:01 -0800 (PST)

--000000000000gmail
Content-Type: message/rfc822

{original(to)}
--000000000000gmail--
"""


def postfix() -> str:
    first, second = "m.lee@costa-azul.example.org", "r.caron@costa-azul.example.org"
    return f"""\
Return-Path: <>
From: MAILER-DAEMON@mta.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {SENDER}
Auto-Submitted: auto-replied
Date: {DATE}
Message-Id: <20261130081502.4F2A61C0B3@mta.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F2A61C0B3.1764490502/mta.example.org"

This is a MIME-encapsulated message.

--4F2A61C0B3.1764490502/mta.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mta.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<{first}>: host mx.costa-azul.example.org[192.0.2.20] said:
    550 5.1.1 <{first}>: Recipient address rejected: User unknown in
    local recipient table (in reply to RCPT TO command)

<{second}>: host mx.costa-azul.example.org[192.0.2.20] said:
    550 5.1.1 <{second}>: Recipient address rejected: User unknown in
    local recipient table (in reply to RCPT TO command)

--4F2A61C0B3.1764490502/mta.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.org
X-Postfix-Queue-ID: 4F2A61C0B3
X-Postfix-Sender: rfc822; {SENDER}
Arrival-Date: Mon, 30 Nov 2026 09:15:00 +0100 (CET)

Final-Recipient: rfc822; {first}
Original-Recipient: rfc822;{first}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.costa-azul.example.org
Diagnostic-Code: smtp; 550 5.1.1 <{first}>: Recipient address rejected: User
    unknown in local recipient table

Final-Recipient: rfc822; {second}
Original-Recipient: rfc822;{second}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.costa-azul.example.org
Diagnostic-Code: smtp; 550 5.1.1 <{second}>: Recipient address rejected: User
    unknown in local recipient table

--4F2A61C0B3.1764490502/mta.example.org
Content-Description: Undelivered Message
Content-Type: message/rfc822

{original(first)}
--4F2A61C0B3.1764490502/mta.example.org--
"""


def exim() -> str:
    to = "secretary.general@agency.example.org"
    return f"""\
Return-path: <>
From: Mail Delivery System <Mailer-Daemon@mx.agency.example.org>
To: {SENDER}
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1qZ9Xk-0004Qf-2B@mx.agency.example.org>
Date: {DATE}
X-Failed-Recipients: {to}
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {to}
    SMTP error from remote mail server after RCPT TO:<{to}>:
    550 5.1.1 <{to}>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

{original(to)}"""


def qmail() -> str:
    to = "protocol@embassy.example.org"
    return f"""\
Return-Path: <>
From: MAILER-DAEMON@mail.embassy.example.org
To: {SENDER}
Subject: failure notice
Date: {DATE}
Message-ID: <20261130081502.12345.qmail@mail.embassy.example.org>

Hi. This is the qmail-send program at mail.embassy.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{to}>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

{original(to)}"""


def delayed() -> str:
    to = "slow@northmoor.example.org"
    return f"""\
From: MAILER-DAEMON@mta.example.org (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: {SENDER}
Auto-Submitted: auto-replied
Date: {DATE}
Message-Id: <20261130081502.77AA1C0B3@mta.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="77AA1C0B3.x/mta"

--77AA1C0B3.x/mta
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mta.example.org.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

<{to}>: connect to mx.northmoor.example.org[192.0.2.30]:25: Connection timed out

--77AA1C0B3.x/mta
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.org
Arrival-Date: Mon, 30 Nov 2026 05:10:00 +0100 (CET)

Final-Recipient: rfc822; {to}
Action: delayed
Status: 4.4.7
Diagnostic-Code: X-Postfix; connect to mx.northmoor.example.org[192.0.2.30]:25:
    Connection timed out
Will-Retry-Until: Sat, 5 Dec 2026 05:10:00 +0100 (CET)

--77AA1C0B3.x/mta
Content-Type: text/rfc822-headers

Message-ID: {ORIGINAL_ID}
Subject: Sixth meeting of the U4SSC initiative

--77AA1C0B3.x/mta--
"""


def delivered() -> str:
    """A DSN that reports success: a notification, but no bounce."""
    return f"""\
From: MAILER-DAEMON@mta.example.org (Mail Delivery System)
Subject: Successful Mail Delivery Report
To: {SENDER}
Date: {DATE}
Message-Id: <20261130081502.99BB@mta.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="ok"

--ok
Content-Type: text/plain

Your message was successfully delivered to the destination(s) listed below.

--ok
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.org

Final-Recipient: rfc822; anne@ministry.example.org
Action: delivered
Status: 2.0.0
Diagnostic-Code: smtp; 250 2.0.0 Ok: queued

--ok--
"""


def auto_reply() -> str:
    return f"""\
From: Anne Martin <anne.martin@ministry.example.org>
To: {SENDER}
Subject: Automatic reply: Sixth meeting of the U4SSC initiative
Date: {DATE}
Message-ID: <ooo-1@ministry.example.org>
In-Reply-To: {ORIGINAL_ID}
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset=utf-8

I am out of the office until 7 December with no access to my e-mail.
For urgent matters, please contact the secretariat.
"""


def normal_mail() -> str:
    return f"""\
From: John Smith <john.smith@northmoor.example.org>
To: {SENDER}
Subject: Re: Sixth meeting of the U4SSC initiative
Date: {DATE}
Message-ID: <reply-2@northmoor.example.org>
In-Reply-To: {ORIGINAL_ID}
Content-Type: text/plain; charset=utf-8

Thank you for the invitation; our delegation will attend.
The previous address anne.old@ministry.example.org is no longer in use.
"""


@dataclass(frozen=True)
class Expected:
    recipients: tuple[str, ...]
    kind: str
    status: str | None
    said: str  # a fragment of the server's words


NOTIFICATIONS: dict[str, tuple[Callable[[], str], Expected]] = {
    "exchange": (
        exchange,
        Expected(("anne.old@ministry.example.org",), "bounced", "5.1.1", "RecipNotFound"),
    ),
    "gmail": (
        gmail,
        Expected(
            ("j.smith.ict@northmoor.example.org",),
            "bounced",
            "5.1.1",
            "550-5.1.1 The email account that you tried to reach does not exist. Please try",
        ),
    ),
    "postfix": (
        postfix,
        Expected(
            ("m.lee@costa-azul.example.org", "r.caron@costa-azul.example.org"),
            "bounced",
            "5.1.1",
            "Recipient address rejected: User unknown in local recipient table",
        ),
    ),
    "exim": (
        exim,
        Expected(
            ("secretary.general@agency.example.org",),
            "bounced",
            "5.1.1",
            "Recipient address rejected: User unknown",
        ),
    ),
    "qmail": (
        qmail,
        Expected(
            ("protocol@embassy.example.org",),
            "bounced",
            "5.1.1",
            "Sorry, no mailbox here by that name.",
        ),
    ),
    "delayed": (
        delayed,
        Expected(("slow@northmoor.example.org",), "delayed", "4.4.7", "Connection timed out"),
    ),
}

NOT_BOUNCES = {"auto-reply": auto_reply, "normal mail": normal_mail, "delivered": delivered}


@pytest.mark.parametrize("server", list(NOTIFICATIONS), ids=list(NOTIFICATIONS))
def test_each_server_layout_gives_recipient_status_words_and_original_message_id(
    server: str,
) -> None:
    build, expected = NOTIFICATIONS[server]
    bounces = read_notification(build().encode())
    assert tuple(b.recipient for b in bounces) == expected.recipients
    for bounce in bounces:
        assert bounce.kind == expected.kind
        assert bounce.status == expected.status
        assert expected.said in bounce.diagnostic
        assert "\n" not in bounce.diagnostic
        assert bounce.message_id == ORIGINAL_ID
        assert bounce.arrived == datetime(2026, 11, 30, 8, 15, 2, tzinfo=UTC)


@pytest.mark.parametrize("kind", list(NOT_BOUNCES), ids=list(NOT_BOUNCES))
def test_auto_replies_ordinary_mail_and_success_reports_are_not_bounces(kind: str) -> None:
    assert read_notification(NOT_BOUNCES[kind]().encode()) == ()


def test_the_recipient_is_lower_cased_and_stripped_of_its_address_type() -> None:
    text = postfix().replace(
        "Original-Recipient: rfc822;m.lee@", "Original-Recipient: rfc822; <M.Lee@"
    )
    text = text.replace("<M.Lee@costa-azul.example.org\n", "<M.Lee@costa-azul.example.org>\n")
    assert read_notification(text.encode())[0].recipient == "m.lee@costa-azul.example.org"


def test_the_original_message_id_falls_back_to_in_reply_to() -> None:
    text = exchange().replace(f"Message-ID: {ORIGINAL_ID}\n", "")
    text = text.replace("Auto-Submitted:", f"In-Reply-To: {ORIGINAL_ID}\nAuto-Submitted:", 1)
    assert read_notification(text.encode())[0].message_id == ORIGINAL_ID


def test_a_notification_that_names_no_original_message_gives_none() -> None:
    text = exchange().replace(f"Message-ID: {ORIGINAL_ID}\n", "")
    assert read_notification(text.encode())[0].message_id is None


def test_source_ids_are_stable_and_differ_per_recipient_and_per_notification() -> None:
    first = read_notification(postfix().encode())
    again = read_notification(postfix().encode())
    assert first == again
    assert len({b.source_id for b in first}) == 2
    other = postfix().replace("<20261130081502.4F2A61C0B3@", "<20261201000000.AAAA@")
    assert {b.source_id for b in read_notification(other.encode())}.isdisjoint(
        b.source_id for b in first
    )


def test_a_notification_without_message_id_is_identified_by_its_bytes() -> None:
    text = qmail().replace(
        "Message-ID: <20261130081502.12345.qmail@mail.embassy.example.org>\n", ""
    )
    one, two = read_notification(text.encode()), read_notification(text.encode())
    assert one == two
    assert read_notification((text + "\n").encode())[0].source_id != one[0].source_id


@given(st.binary(max_size=2000))
def test_any_bytes_give_bounces_or_nothing_but_never_an_exception(raw: bytes) -> None:
    for bounce in read_notification(raw):
        assert "@" in bounce.recipient


ALL = [build for build, _ in NOTIFICATIONS.values()] + list(NOT_BOUNCES.values())


@given(st.sampled_from(ALL), st.integers(min_value=0), st.text(max_size=40))
def test_a_damaged_notification_gives_bounces_or_nothing_but_never_an_exception(
    build: Callable[[], str], at: int, junk: str
) -> None:
    text = build()
    at %= len(text) + 1
    raw = (text[:at] + junk + text[at + len(junk) :]).encode("utf-8", "replace")
    for bounce in read_notification(raw):
        assert "@" in bounce.recipient
        assert bounce.kind in ("bounced", "delayed")


EXPECTED_BOUNCES = sum(len(expected.recipients) for _, expected in NOTIFICATIONS.values())


def write_mbox(path: Path) -> Path:
    box = mailbox.mbox(path)
    for build in ALL:
        box.add(build().encode())
    box.close()
    return path


def write_maildir(path: Path) -> Path:
    box = mailbox.Maildir(path)
    for build in ALL:
        box.add(build().encode())
    box.close()
    return path


def write_eml_folder(path: Path) -> Path:
    path.mkdir()
    for number, build in enumerate(ALL):
        (path / f"{number:02} notification.eml").write_bytes(build().replace("\n", "\r\n").encode())
    return path


SOURCES = {"mbox": write_mbox, "maildir": write_maildir, "eml folder": write_eml_folder}


@pytest.mark.parametrize("kind", list(SOURCES), ids=list(SOURCES))
def test_a_mailbox_gives_every_bounce_and_counts_what_is_not_one(kind: str, tmp_path: Path) -> None:
    path = SOURCES[kind](tmp_path / "bounces")
    source = source_from(str(path), {})
    assert (
        type(source)
        is {
            "mbox": MboxSource,
            "maildir": MaildirSource,
            "eml folder": EmlFolderSource,
        }[kind]
    )
    result = scan(source)
    assert len(result.bounces) == EXPECTED_BOUNCES
    assert {b.recipient for b in result.bounces} == {
        r for _, expected in NOTIFICATIONS.values() for r in expected.recipients
    }
    assert [b.kind for b in result.bounces].count("delayed") == 1
    assert (result.ignored, result.auto_replies, result.unreadable) == (2, 1, 0)
    assert result.skipped == ()
    assert all(b.status in ("5.1.1", "4.4.7") for b in result.bounces)


def test_the_same_notifications_give_the_same_source_ids_from_any_kind_of_source(
    tmp_path: Path,
) -> None:
    ids = [
        sorted(b.source_id for b in scan(source_from(str(write(tmp_path / kind)), {})).bounces)
        for kind, write in SOURCES.items()
    ]
    assert ids[0] == ids[1] == ids[2]
    assert len(set(ids[0])) == EXPECTED_BOUNCES


def test_reading_a_maildir_leaves_it_as_it_was(tmp_path: Path) -> None:
    path = write_maildir(tmp_path / "Maildir")
    before = sorted(p.relative_to(path) for p in path.rglob("*"))
    scan(MaildirSource(path))
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before


def test_a_file_in_an_eml_folder_that_is_no_message_counts_as_unreadable(tmp_path: Path) -> None:
    folder = write_eml_folder(tmp_path / "export")
    (folder / "scan.eml").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    (folder / "notes.txt").write_text("not an .eml: not read")
    result = scan(source_from(str(folder), {}))
    counts = (len(result.bounces), result.ignored, result.auto_replies, result.unreadable)
    assert counts == (EXPECTED_BOUNCES, 2, 1, 1)


def test_a_single_eml_file_is_a_source(tmp_path: Path) -> None:
    path = tmp_path / "Undeliverable.eml"
    path.write_text(exchange())
    result = scan(source_from(str(path), {}))
    assert [b.recipient for b in result.bounces] == ["anne.old@ministry.example.org"]


def error_text(error: pytest.ExceptionInfo[DispatchError]) -> str:
    return str(error.value)


def test_a_missing_path_says_which_and_what_a_source_can_be(tmp_path: Path) -> None:
    with pytest.raises(BounceError) as error:
        source_from(str(tmp_path / "bounces.mbox"), {})
    assert error_text(error) == (
        f"{tmp_path / 'bounces.mbox'}: there is no such file or folder. Give the path of an "
        "mbox file, a Maildir, a folder of .eml files, or an IMAP address like "
        "imaps://user@imap.example.org/INBOX."
    )


def test_a_file_that_is_not_an_mbox_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(b"PK\x03\x04 a workbook")
    with pytest.raises(BounceError, match=r"contacts.xlsx: is not an mbox file \(an mbox starts"):
        scan(source_from(str(path), {}))


def test_a_folder_without_eml_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BounceError, match=r"holds no \.eml file\. Export the notifications"):
        scan(source_from(str(tmp_path), {}))


def test_an_imap_address_gives_host_port_user_mailbox_and_security() -> None:
    env = {"DISPATCH_IMAP_PASSWORD": "s3cret"}
    source = source_from("imap://tsb%40example.org@imap.example.org/Bounces", env)
    assert source == ImapSource(
        host="imap.example.org",
        port=143,
        user="tsb@example.org",
        security="starttls",
        mailbox="Bounces",
        password="s3cret",
    )
    assert "s3cret" not in repr(source)
    token = source_from("imaps://tsb@imap.example.org:1993", {"DISPATCH_IMAP_TOKEN": "ya29.x"})
    assert (token.port, token.mailbox, token.token) == (1993, "INBOX", "ya29.x")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("address", "env", "message"),
    [
        (
            "imaps://tsb:s3cret@imap.example.org/INBOX",
            {},
            "imaps://tsb@imap.example.org: the address holds a password. Remove it from the "
            "address and set DISPATCH_IMAP_PASSWORD instead.",
        ),
        (
            "imaps://tsb@imap.example.org/INBOX",
            {},
            "imaps://tsb@imap.example.org:993/INBOX: no password or token is set. Set "
            "DISPATCH_IMAP_PASSWORD (or DISPATCH_IMAP_TOKEN for an OAuth2 access token).",
        ),
        (
            "pop3://tsb@mail.example.org",
            {},
            'pop3://tsb@mail.example.org: "pop3://" is not an IMAP address. Write it like '
            "imaps://user@imap.example.org/INBOX (or imap:// for STARTTLS).",
        ),
    ],
    ids=["password in the address", "no password", "not imap"],
)
def test_a_bad_imap_address_says_what_to_do(
    address: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(BounceError) as error:
        source_from(address, env)
    assert error_text(error) == message
    assert "s3cret" not in error_text(error)


def test_imap_without_tls_is_refused_for_a_host_other_than_loopback() -> None:
    source = ImapSource("imap.example.org", 143, "tsb", security="none", password="s3cret")
    with pytest.raises(BounceError, match="would send the password in clear over the network"):
        scan(source)


def test_an_unreachable_imap_server_is_a_connection_error_naming_it() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = ImapSource("127.0.0.1", port, "tsb", security="none", password="s3cret", timeout=5)
    with pytest.raises(MailboxConnectionError) as error:
        scan(source)
    assert isinstance(error.value, ConnectionError)
    assert error.value.exit_code == 3
    assert error_text(error).startswith(
        f"imap+plain://tsb@127.0.0.1:{port}/INBOX: the server cannot be reached ("
    )
    assert error_text(error).endswith(
        "Check the host and port, and that this machine may reach the server."
    )


def test_the_fix_list_names_sheet_row_status_and_words_as_text(tmp_path: Path) -> None:
    entries = [
        FixListEntry(
            "r.caron@costa-azul.example.org", "Rémi Caron", "Contacts", 14, "5.1.1", "User unknown"
        ),
        FixListEntry(
            "anne.old@ministry.example.org", "Anne Old", "Contacts", 3, "5.1.1", "=HYPERLINK(1)"
        ),
        FixListEntry("gone@example.org", "", None, None, None, "no such user"),
    ]
    path = tmp_path / "fix-list.xlsx"
    assert write_fix_list(entries, path) == 3
    sheet = load_workbook(path).active
    assert sheet is not None
    rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert rows == [
        ("address", "name", "sheet", "row", "status", "diagnostic"),
        ("anne.old@ministry.example.org", "Anne Old", "Contacts", 3, "5.1.1", "=HYPERLINK(1)"),
        ("r.caron@costa-azul.example.org", "Rémi Caron", "Contacts", 14, "5.1.1", "User unknown"),
        ("gone@example.org", None, None, None, None, "no such user"),
    ]
    assert sheet["F2"].data_type == "s"


def test_a_fix_list_must_be_named_xlsx(tmp_path: Path) -> None:
    with pytest.raises(BounceError, match=r"fix-list.csv: a fix list is an Excel workbook"):
        write_fix_list([], tmp_path / "fix-list.csv")
    assert not (tmp_path / "fix-list.csv").exists()
