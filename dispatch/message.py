"""Build the e-mail message of a letter, with the standard :mod:`email` package.

The message is multipart: text/plain as ``format=flowed`` lines of at most 78 characters
(:mod:`dispatch.flowed`), text/html as e-mail HTML (:mod:`dispatch.email_html`), both
UTF-8; the subject and the names in From, To and Cc are folded into RFC 2047 encoded
words of at most 75 characters on lines of at most 78 (:mod:`dispatch.headers`).

The ``Message-ID`` is derived from the mailing and the addressee, so it is the same on
every run: the relay, the journal and the user can all recognise a message. The digest
covers what the addressee reads (subject, both parts, recipients, attachments) but not
the ``Date``, so that a re-run can tell a message whose content changed since it was sent.
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
from email.utils import format_datetime
from functools import lru_cache

from dispatch.email_html import email_html
from dispatch.flowed import flow
from dispatch.headers import fold, fold_addresses
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


#: For the headers the email package writes (the content's MIME headers, and the personal
#: headers of :func:`personal_headers`, which are set already folded by
#: :mod:`dispatch.headers`): refold only a line past RFC 5322's hard limit of 998.
HEADER_POLICY = SMTP.clone(max_line_length=998)


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "dispatch.invalid"


def message_id(mailing: Mailing, key: str) -> str:
    """``<a1b2…@example.org>``: the same for a mailing and an addressee on every run."""
    prefix, domain = _id_parts(mailing)
    digest = hashlib.sha256(prefix + key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


# The mailing's part of every Message-ID, made once per mailing rather than per message
# (its reference as JSON cost a quarter of a message's headers). The mailing is kept
# with it, so that its id cannot be reused by another while the entry lives.
_ID_PARTS: dict[int, tuple[Mailing, bytes, str]] = {}


def _id_parts(mailing: Mailing) -> tuple[bytes, str]:
    kept = _ID_PARTS.get(id(mailing))
    if kept is None or kept[0] is not mailing:
        if len(_ID_PARTS) >= 16:
            _ID_PARTS.clear()
        prefix = f"{mailing.name}\0{mailing.reference.model_dump_json()}\0".encode()
        kept = _ID_PARTS[id(mailing)] = (mailing, prefix, _domain(mailing.sender.email))
    return kept[1], kept[2]


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


def reply_address(mailing: Mailing) -> str | None:
    """Where replies go: ``sender.reply_to``, else the contact the letter names, else none
    (replies then reach the From address, often a ``…-circulars@`` mailbox nobody reads)."""
    return mailing.sender.reply_to or mailing.contact.email or None


def _sender_name(mailing: Mailing, lang: str) -> str:
    if mailing.sender.name is not None and mailing.sender.name.has(lang):
        return mailing.sender.name.get(lang)
    return ""


def _header_lines(
    mailing: Mailing, letter: Letter, *, when: datetime, msgid: str | None = None
) -> list[tuple[str, str]]:
    """Each personal header as (name, ``Name: value`` folded and CRLF-terminated).

    ``msgid``: the Message-ID the journal fixed for this addressee (default: the one
    :func:`message_id` derives, for a first attempt or a render).
    """
    person = letter.addressee
    lang = letter.lang
    cc = message_cc(mailing, letter)
    lines = [("From", _mailboxes("From", [(_sender_name(mailing, lang), mailing.sender.email)]))]
    lines.append(("To", _mailboxes("To", [(person.full_name, person.email)])))
    if cc:
        lines.append(("Cc", _mailboxes("Cc", [("", a) for a in cc])))
    reply_to = reply_address(mailing)
    if reply_to:
        lines.append(("Reply-To", _mailboxes("Reply-To", [("", reply_to)])))
    lines.append(("Subject", fold("Subject", letter.subject)))
    lines.append(("Date", _date_line(when)))
    msgid = msgid or message_id(mailing, person.key)
    lines.append(("Message-ID", f"Message-ID: {msgid}\r\n"))
    lines.append(("Content-Language", f"Content-Language: {lang}\r\n"))
    return lines


def _mailboxes(name: str, mailboxes: list[tuple[str, str]]) -> str:
    """An address header: folded here, or by the email package for an address that is
    not ASCII (an internationalised address, which needs its own encoding)."""
    return _folded_mailboxes(name, tuple(mailboxes))


@lru_cache(maxsize=256)  # From, Reply-To and the mailing's Cc: the same in every message
def _folded_mailboxes(name: str, mailboxes: tuple[tuple[str, str], ...]) -> str:
    if all(address.isascii() for _, address in mailboxes):
        return fold_addresses(name, mailboxes)
    value = [_address(address, display) for display, address in mailboxes]
    folded: str = HEADER_POLICY.header_factory(name, value).fold(policy=HEADER_POLICY)
    return folded


def personal_headers(
    mailing: Mailing, letter: Letter, *, when: datetime, msgid: str | None = None
) -> EmailMessage:
    """The headers that differ per addressee: From, To, Cc, Reply-To, Subject, Date,
    Message-ID, as a message without a body; folded as :func:`header_bytes` folds them."""
    msg = EmailMessage(policy=HEADER_POLICY)
    for name, line in _header_lines(mailing, letter, when=when, msgid=msgid):
        # Already folded: HEADER_POLICY keeps a raw value whose lines are under 998.
        msg.set_raw(name, line[len(name) + 1 :].lstrip(" ").removesuffix("\r\n"))
    return msg


#: The MIME parameters of a calendar part: the text is UTF-8 (without a charset mutt
#: showed "R??union"), and the method is the one the file's METHOD says (RFC 6047 2.4).
CALENDAR_PARAMS = {"charset": "utf-8", "method": "PUBLISH"}


def content_part(letter: Letter, attachments: Sequence[Attachment] = ()) -> EmailMessage:
    """The content of a letter's message: text and HTML alternatives, then attachments.

    The text is ``format=flowed`` (lines of at most 78 characters that a reader can
    rejoin), the HTML is e-mail HTML (its style inlined, no print rules). The same for
    every addressee whose letter reads the same, so it is built and serialised once per
    distinct letter (see ``Composer`` in :mod:`dispatch.compose`).
    """
    msg = EmailMessage(policy=SMTP)
    msg.set_content(
        flow(letter.text),
        charset="utf-8",
        cte="quoted-printable",
        params={"format": "flowed", "delsp": "no"},
    )
    msg.add_alternative(
        email_html(letter.html), subtype="html", charset="utf-8", cte="quoted-printable"
    )
    for attachment in attachments:
        if msg.get_content_type() != "multipart/mixed":
            msg.make_mixed()
        msg.attach(_attachment_part(attachment))
    return msg


@lru_cache(maxsize=64)
def _attachment_part(attachment: Attachment) -> EmailMessage:
    """The MIME part of an attachment, base64-encoded once and shared by every message
    that carries it (the annexes, a language's calendar, the PDF of a circular): what
    ``add_attachment`` would make, without encoding the file and parsing its headers
    again for each distinct letter. Parts are never changed once made."""
    part = EmailMessage(policy=SMTP)
    main, sub = attachment.maintype_subtype
    params = CALENDAR_PARAMS if (main, sub) == ("text", "calendar") else {}
    part.set_content(
        attachment.data, maintype=main, subtype=sub, filename=attachment.filename, params=params
    )
    if "content-disposition" not in part:
        part["Content-Disposition"] = "attachment"
    return part


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


@lru_cache(maxsize=64)
def _date_line(when: datetime) -> str:
    """The Date header of a mailing's messages, made once per moment."""
    return _folded("Date", format_datetime(when))


@lru_cache(maxsize=1024)
def _folded(name: str, value: str) -> str:
    """``Name: value`` folded by the email package, cached: the Date of a mailing is the
    same for thousands of messages."""
    folded: str = HEADER_POLICY.header_factory(name, value).fold(policy=HEADER_POLICY)
    return folded


def header_bytes(
    mailing: Mailing, letter: Letter, *, when: datetime, msgid: str | None = None
) -> bytes:
    """The personal headers of :func:`personal_headers` as bytes, built fast.

    From, To, Cc and Subject are folded by :mod:`dispatch.headers` (RFC 2047 encoded
    words of at most 75 characters, lines of at most 78 where the words allow), the same
    way for :func:`build_message`; tests check that both read the same.
    """
    lines = _header_lines(mailing, letter, when=when, msgid=msgid)
    return "".join(line for _, line in lines).encode("utf-8")


def build_message(
    mailing: Mailing,
    letter: Letter,
    *,
    when: datetime,
    attachments: Sequence[Attachment] = (),
    msgid: str | None = None,
) -> BuiltMessage:
    """The message for one letter: From, To, Cc, Subject, Date, Message-ID, text+HTML."""
    person = letter.addressee
    msg = personal_headers(mailing, letter, when=when, msgid=msgid)
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
