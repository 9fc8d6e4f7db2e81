"""Build the e-mail message of a letter, with the standard :mod:`email` package.

The message is multipart (text/plain and text/html, UTF-8); French names in headers are
encoded per RFC 2047 by the ``email`` package. The ``Message-ID`` is derived from the
mailing and the addressee, so it is the same on every run: the relay, the journal and the
user can all recognise a message. The digest covers what the addressee reads (subject,
both parts, recipients, attachments) but not the ``Date``, so that a re-run can tell a
message whose content changed since it was sent.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from functools import lru_cache

from dispatch.mailing import Mailing
from dispatch.render import Letter


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message (the PDF letter, the calendar invitation, an annex)."""

    filename: str
    data: bytes
    mimetype: str = ""

    @property
    def maintype_subtype(self) -> tuple[str, str]:
        kind = self.mimetype or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"
        main, _, sub = kind.partition("/")
        return main, sub


@dataclass(frozen=True)
class BuiltMessage:
    """A message and what the journal and the relay need to know of it."""

    key: str
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    digest: str

    def as_bytes(self) -> bytes:
        return self.message.as_bytes(policy=HEADER_POLICY)


#: For the personal headers: Python 3.11's folder drops the space after a word ending in
#: a narrow no-break space when it folds an encoded subject (cpython gh-144156), so
#: "durables » (réunion" arrived as "durables »(réunion". Folding only past 998
#: characters (RFC 5322's hard limit) never reaches that code for our headers.
HEADER_POLICY = SMTP.clone(max_line_length=998)


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "dispatch.invalid"


def message_id(mailing: Mailing, key: str) -> str:
    """``<a1b2…@example.org>``: the same for a mailing and an addressee on every run."""
    seed = f"{mailing.name}\0{mailing.reference.model_dump_json()}\0{key}".encode()
    return f"<{hashlib.sha256(seed).hexdigest()[:32]}@{_domain(mailing.sender.email)}>"


def _address(email: str, name: str = "") -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def message_cc(mailing: Mailing, letter: Letter) -> list[str]:
    """The Cc addresses: the addressee's own, then the mailing's, each once."""
    return list(dict.fromkeys([*letter.addressee.cc, *mailing.sender.cc]))


def content_digest(letter: Letter, cc: Sequence[str], attachments: Sequence[Attachment]) -> str:
    """What the addressee reads, hashed: recipients, subject, both parts, attachments.

    Not the Date header, so that a re-run can tell a message that changed since it was
    sent from one that did not.
    """
    digest = hashlib.sha256()
    for part in (letter.addressee.email, ",".join(cc), letter.subject, letter.text, letter.html):
        digest.update(part.encode("utf-8") + b"\0")
    for attachment in attachments:
        digest.update(attachment.filename.encode() + b"\0")
        digest.update(hashlib.sha256(attachment.data).digest())
    return digest.hexdigest()


def personal_headers(mailing: Mailing, letter: Letter, *, when: datetime) -> EmailMessage:
    """The headers that differ per addressee: From, To, Cc, Reply-To, Subject, Date, Message-ID."""
    person = letter.addressee
    lang = letter.lang
    sender_name = ""
    if mailing.sender.name is not None and mailing.sender.name.has(lang):
        sender_name = mailing.sender.name.get(lang)
    cc = message_cc(mailing, letter)
    msg = EmailMessage(policy=HEADER_POLICY)
    msg["From"] = _address(mailing.sender.email, sender_name)
    msg["To"] = _address(person.email, person.full_name)
    if cc:
        msg["Cc"] = [_address(a) for a in cc]
    if mailing.sender.reply_to:
        msg["Reply-To"] = _address(mailing.sender.reply_to)
    msg["Subject"] = letter.subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id(mailing, person.key)
    msg["Content-Language"] = lang
    return msg


def content_part(letter: Letter, attachments: Sequence[Attachment] = ()) -> EmailMessage:
    """The content of a letter's message: text and HTML alternatives, then attachments.

    The same for every addressee whose letter reads the same, so it can be built once
    and serialised once (see :func:`header_bytes`).
    """
    msg = EmailMessage(policy=SMTP)
    msg.set_content(letter.text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(letter.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in attachments:
        main, sub = attachment.maintype_subtype
        msg.add_attachment(
            attachment.data, maintype=main, subtype=sub, filename=attachment.filename
        )
    return msg


def serialise_content(content: EmailMessage, seed: str) -> bytes:
    """The content's MIME headers and body as bytes, with a boundary derived from the content.

    ``seed`` (a hash of what the content is made of) names the boundaries, so the bytes
    are the same on every run (an ``.eml`` only differs by its Date) and many messages
    can share one serialisation.
    """
    if content.is_multipart():
        _set_boundaries(content, seed)
    return content.as_bytes(policy=SMTP)


def _set_boundaries(part: EmailMessage, seed: str, depth: int = 0) -> None:
    if part.is_multipart():
        part.set_boundary(f"=_dispatch_{seed}_{depth}")
        for child in part.iter_parts():
            if isinstance(child, EmailMessage):
                _set_boundaries(child, seed, depth + 1)


@lru_cache(maxsize=1024)
def _folded(name: str, value: str) -> bytes:
    """``Name: value`` folded and encoded by the email package (RFC 2047), cached: the
    From, Subject and Date of a mailing are the same for thousands of messages."""
    folded: str = HEADER_POLICY.header_factory(name, value).fold(policy=HEADER_POLICY)
    return folded.encode("ascii")


def _mailbox(name: str, address: str) -> bytes:
    """``Name <address>`` for a To or Cc header; non-ASCII names as RFC 2047 words."""
    if not address.isascii() or any(c in name for c in "\r\n\0"):
        return str(_address(address, name)).encode()  # the email package's own path
    return formataddr((name, address), charset="utf-8").replace("\n", "\r\n").encode("ascii")


def header_bytes(mailing: Mailing, letter: Letter, *, when: datetime) -> bytes:
    """The personal headers of :func:`personal_headers` as bytes, built fast.

    The shared ones go through the email package once (cached); the per-addressee ones
    (To, Cc, Message-ID) are built with :func:`email.utils.formataddr`. Tests check that
    a message parsed back reads the same as one built by :func:`build_message`.
    """
    person = letter.addressee
    lang = letter.lang
    sender_name = ""
    if mailing.sender.name is not None and mailing.sender.name.has(lang):
        sender_name = mailing.sender.name.get(lang)
    if not person.email.isascii():
        return (
            personal_headers(mailing, letter, when=when)
            .as_bytes(policy=HEADER_POLICY)
            .rstrip(b"\r\n")
            + b"\r\n"
        )
    lines = [_folded("From", str(_address(mailing.sender.email, sender_name)))]
    lines.append(b"To: " + _mailbox(person.full_name, person.email) + b"\r\n")
    cc = message_cc(mailing, letter)
    if cc:
        lines.append(b"Cc: " + b",\r\n ".join(_mailbox("", a) for a in cc) + b"\r\n")
    if mailing.sender.reply_to:
        lines.append(_folded("Reply-To", mailing.sender.reply_to))
    lines.append(_folded("Subject", letter.subject))
    lines.append(_folded("Date", format_datetime(when)))
    lines.append(f"Message-ID: {message_id(mailing, person.key)}\r\n".encode("ascii"))
    lines.append(f"Content-Language: {lang}\r\n".encode("ascii"))
    return b"".join(lines)


def build_message(
    mailing: Mailing,
    letter: Letter,
    *,
    when: datetime,
    attachments: Sequence[Attachment] = (),
) -> BuiltMessage:
    """The message for one letter: From, To, Cc, Subject, Date, Message-ID, text+HTML."""
    person = letter.addressee
    msg = personal_headers(mailing, letter, when=when)
    content = content_part(letter, attachments)
    for name, value in content.items():
        msg[name] = value
    msg.set_payload(content.get_payload())
    cc = message_cc(mailing, letter)
    return BuiltMessage(
        key=person.key,
        message_id=str(msg["Message-ID"]),
        sender=mailing.sender.email,
        recipients=tuple(dict.fromkeys([person.email, *cc])),
        message=msg,
        digest=content_digest(letter, cc, attachments),
    )
