"""Notifications and automatic replies, written by the tests from the RFCs and the servers.

- RFC 3464 (delivery status notifications) and RFC 3462/6522 (``multipart/report``):
  per-recipient blocks with ``Final-Recipient``, ``Action``, ``Status``,
  ``Diagnostic-Code``; the original returned as ``message/rfc822`` or only its headers as
  ``text/rfc822-headers``.
- RFC 3463 status codes: 4.x.x transient, 5.x.x permanent (4.2.2 mailbox full, 5.1.1
  bad mailbox, 4.4.7 delivery time expired).
- RFC 3834 automatic responses: ``Auto-Submitted: auto-replied``, and the headers
  vacation programs use in practice (``X-Autoreply``, ``Precedence: auto_reply``).
- The shapes of Exchange / Microsoft 365 ("Undeliverable:", ``X-MS-Exchange-Message-Is-Ndr``),
  Gmail ("Delivery Status Notification (Failure)"), Postfix ("Undelivered Mail Returned
  to Sender") and Exim ("Mail delivery failed", no DSN part, the message copied inline).

Every builder takes the recipient(s), the Message-ID the notification names (or None)
and where it names it, so a test says exactly what a notification proves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Where = Literal["rfc822", "headers", "in-reply-to", "references", "nowhere"]
Shape = Literal["exchange", "gmail", "postfix", "exim"]
SHAPES: tuple[Shape, ...] = ("exchange", "gmail", "postfix", "exim")

SENDER = "tsb@example.org"
DATE = "Tue, 01 Dec 2026 09:15:02 +0100"


def original(to: str, message_id: str | None, cc: str = "") -> str:
    """The letter as a server returns it (headers and the start of the text)."""
    return (
        f"From: ITU - TSB <{SENDER}>\n"
        f"To: {to}\n"
        + (f"Cc: {cc}\n" if cc else "")
        + "Subject: Sixth meeting of the U4SSC initiative\n"
        "Date: Mon, 30 Nov 2026 08:00:00 +0100\n"
        + (f"Message-ID: {message_id}\n" if message_id else "")
        + "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nDear Colleague,\n"
    )


def _threading(message_id: str | None, where: Where) -> str:
    if message_id is None:
        return ""
    if where == "in-reply-to":
        return f"In-Reply-To: {message_id}\n"
    if where == "references":
        return f"References: <thread-start@example.org> {message_id}\n"
    return ""


def _returned(to: str, message_id: str | None, where: Where, boundary: str) -> str:
    if where == "rfc822":
        return f"--{boundary}\nContent-Type: message/rfc822\n\n{original(to, message_id)}\n"
    if where == "headers":
        headers = original(to, message_id).split("\n\n", 1)[0]
        return f"--{boundary}\nContent-Type: text/rfc822-headers\n\n{headers}\n\n"
    return ""  # the server returned nothing of the message


def _blocks(recipients: Sequence[str], action: str, status: str, words: str) -> str:
    return "".join(
        f"\nFinal-Recipient: rfc822; {r}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {words.format(recipient=r, status=status)}\n"
        for r in recipients
    )


def dsn(
    shape: Shape,
    recipients: str | Sequence[str],
    message_id: str | None,
    *,
    where: Where = "rfc822",
    action: str = "failed",
    status: str = "5.1.1",
    n: int = 1,
    sender: str = "",
) -> bytes:
    """A notification from a server of ``shape`` about ``recipients``.

    ``message_id``: the original's, named ``where``; ``n`` makes the notification's
    own Message-ID distinct; ``sender`` replaces the server's From (a forgery).
    """
    if isinstance(recipients, str):
        recipients = (recipients,)
    first = recipients[0]
    thread = _threading(message_id, where)
    if shape == "exim":
        return _exim(recipients, message_id, where, status, n, sender, thread)
    if shape == "exchange":
        frm = sender or "Microsoft Outlook <postmaster@contoso.onmicrosoft.example>"
        subject = "Undeliverable: Sixth meeting of the U4SSC initiative"
        extra = "X-MS-Exchange-Message-Is-Ndr:\nAuto-Submitted: auto-replied\n"
        words = (
            "{status} RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
        )
        mta = "dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.example"
        text = (
            "Your message to {first} couldn't be delivered.\n"
            "Delivery has failed to these recipients or groups.\n"
        )
    elif shape == "gmail":
        frm = sender or "Mail Delivery Subsystem <mailer-daemon@googlemail.example>"
        subject = "Delivery Status Notification (Failure)"
        extra = "Auto-Submitted: auto-replied\n"
        words = "550-{status} The email account that you tried to reach does not exist."
        mta = "dns; googlemail.example"
        text = "** Address not found **\n\nYour message wasn't delivered to {first}.\n"
    else:
        frm = sender or "MAILER-DAEMON@mta.example.org (Mail Delivery System)"
        subject = (
            "Delayed Mail (still being retried)"
            if action == "delayed"
            else "Undelivered Mail Returned to Sender"
        )
        extra = "Auto-Submitted: auto-replied\n"
        words = "550 {status} <{recipient}>: Recipient address rejected: User unknown"
        if status.startswith("4"):
            words = "452 {status} <{recipient}>: Mailbox full"
        mta = "dns; mta.example.org"
        text = (
            "This is the mail system at host mta.example.org.\n\n"
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients.\n\n<{first}>: host said: ...\n"
        )
    boundary = f"report-{shape}-{n}"
    return (
        f"From: {frm}\nTo: {SENDER}\nDate: {DATE}\nSubject: {subject}\n"
        f"Message-ID: <{n}.{shape}.dsn@mta.example.org>\n{thread}{extra}MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status;\n"
        f'\tboundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"{text.format(first=first)}\n"
        f"--{boundary}\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: {mta}\nArrival-Date: {DATE}\n"
        f"{_blocks(recipients, action, status, words)}\n"
        f"{_returned(first, message_id, where, boundary)}"
        f"--{boundary}--\n"
    ).encode()


def _exim(
    recipients: Sequence[str],
    message_id: str | None,
    where: Where,
    status: str,
    n: int,
    sender: str,
    thread: str,
) -> bytes:
    """Exim's "Mail delivery failed": no DSN part, the message copied after the text."""
    frm = sender or "Mail Delivery System <Mailer-Daemon@mx.agency.example.org>"
    failed = "".join(
        f"\n  {r}\n    SMTP error from remote mail server after RCPT TO:<{r}>:\n"
        f"    550 {status} <{r}>: Recipient address rejected: User unknown\n"
        for r in recipients
    )
    copy = (
        "\n------ This is a copy of the message, including all the headers. ------\n\n"
        + original(recipients[0], message_id)
        if where in ("rfc822", "headers")
        else ""
    )
    return (
        f"Return-path: <>\nFrom: {frm}\nTo: {SENDER}\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        f"Message-Id: <E1qZ9Xk-000{n}Qf-2B@mx.agency.example.org>\nDate: {DATE}\n"
        f"X-Failed-Recipients: {', '.join(recipients)}\n{thread}Auto-Submitted: auto-replied\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n"
        f"{failed}{copy}"
    ).encode()


AutoReply = Literal["rfc3834", "x-autoreply", "precedence", "out-of-office"]
AUTO_REPLIES: tuple[AutoReply, ...] = ("rfc3834", "x-autoreply", "precedence", "out-of-office")


def auto_reply(kind: AutoReply, person: str, message_id: str, quoted: str) -> bytes:
    """An automatic reply from ``person`` to the letter ``message_id``, quoting a bounce
    that names ``quoted`` (a vacation message that forwards a failure, a reply that
    quotes one): it must count as an auto-reply, never as a bounce."""
    marker = {
        "rfc3834": "Auto-Submitted: auto-replied\n",
        "x-autoreply": "X-Autoreply: yes\n",
        "precedence": "Precedence: auto_reply\n",
        "out-of-office": "",
    }[kind]
    subject = (
        "Automatic reply: Sixth meeting of the U4SSC initiative"
        if kind == "out-of-office"
        else "Re: Sixth meeting of the U4SSC initiative"
    )
    return (
        f"From: {person}\nTo: {SENDER}\nSubject: {subject}\nDate: {DATE}\n"
        f"Message-ID: <ooo-{kind}@ministry.example.org>\nIn-Reply-To: {message_id}\n{marker}"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "I am out of the office until 7 December. My colleague's address bounced:\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {quoted}\n"
        f"    550 5.1.1 <{quoted}>: Recipient address rejected: User unknown\n\n"
        f"Delivery has failed to these recipients or groups: {quoted}\n"
    ).encode()
