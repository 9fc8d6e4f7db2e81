"""Recognise a delivery status notification and say who did not get the message.

Two readers, the standard one first:

- RFC 3464: a ``multipart/report; report-type=delivery-status`` carries a
  ``message/delivery-status`` part with one block per recipient (``Final-Recipient``,
  ``Action: failed`` or ``delayed``, ``Status: 5.1.1``, ``Diagnostic-Code``). Exchange,
  Gmail, Postfix and most modern servers send these; they are read with the stdlib
  :mod:`email` package, and give the status code and the server's words exactly.
- Everything else (Exim's "Mail delivery failed", qmail's "failure notice", older
  gateways) is recognised by flufl.bounce, GNU Mailman's bounce detectors, which know
  the layouts of those servers. The status and the server's words are then taken from
  the paragraph of the notification that names the recipient.

The original message is found by its ``Message-ID``: in the returned ``message/rfc822``
or ``text/rfc822-headers`` part, else in a copy of its headers quoted in the text (Exim
and qmail quote it), else in the notification's ``In-Reply-To`` or ``References``.
dispatch gives every message a deterministic Message-ID, so this is how a bounce is
matched to the journal.

Permanence follows RFC 3463's status class and the action: ``Action: failed`` with a
5.x.x status (or none) is permanent, the address is wrong; ``failed`` with a 4.x.x status
(a full mailbox) means the server gave up on a transient problem, the address is right;
``delayed`` is still being retried (:attr:`dispatch.journal.BounceRecord.permanent`).

An automatic reply (RFC 3834 ``Auto-Submitted: auto-replied``, ``X-Autoreply``,
``Precedence: auto_reply``, an out-of-office subject) is counted as an auto-reply and
never read as a bounce, even when it quotes a bounce's words; a message that is not a
notification (an ordinary mail, a delivery report that says "delivered") gives no bounce.

Hostile input is bounded: a message that declares more than :data:`MAX_NESTING` MIME
containers (multipart or message parts) is not parsed at all (the stdlib parser recurses
once per level and would raise ``RecursionError`` at a few hundred); it is reported as
:class:`NotReadable` with the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import parseaddr, parsedate_to_datetime
from typing import Literal

from flufl.bounce import all_failures

__all__ = [
    "MAX_NESTING",
    "Bounce",
    "BounceKind",
    "NotReadable",
    "Reading",
    "read_message",
    "read_notification",
]

BounceKind = Literal["bounced", "delayed"]

# flufl.bounce logs a detector's exception with its traceback before raising it; we catch
# it (the message is then not a bounce), so the traceback must not reach the user's screen.
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_QUOTED_MESSAGE_ID = re.compile(r"^message-id:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_MESSAGE_ID = re.compile(r"<[^>\s]+>")
_DIAGNOSTIC_LIMIT = 500

#: The most MIME containers (``multipart/*``, ``message/*``) a message may declare. A
#: notification has a handful (report, alternative, the returned message and its own
#: parts); the stdlib parser recurses once per level and fails at a few hundred.
MAX_NESTING = 40
_CONTAINER = re.compile(
    rb"^content-type:[ \t]*(?:\r?\n[ \t]+)?(?:multipart|message)/", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True)
class Bounce:
    """One recipient a notification says did not (``bounced``) or not yet (``delayed``) get
    a message.

    ``source_id`` is stable: the same notification read twice (from the same mailbox, or
    from an export of it) gives the same value, so recording it twice changes nothing.
    ``message_id`` is the original message's (``<…@…>``), when the notification names
    it. ``recipient`` is lower-cased. ``status`` is the RFC 3463 code (``"5.1.1"``) when
    the notification gives one; ``diagnostic`` is the server's words, on one line.
    ``arrived`` is the notification's ``Date``.
    """

    source_id: str
    recipient: str
    message_id: str | None
    kind: BounceKind
    status: str | None
    diagnostic: str
    arrived: datetime | None


class NotReadable(Exception):
    """A message that is not read at all; ``reason`` says why, for a person to read."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Reading:
    """What one message is: a notification's ``bounces``, an ``auto_reply``, or neither."""

    bounces: tuple[Bounce, ...] = ()
    auto_reply: bool = False


def parse(raw: bytes) -> Message:
    """The message in ``raw``, in the form flufl.bounce reads (``compat32``)."""
    return BytesParser(policy=policy.compat32).parsebytes(raw)


def read_notification(raw: bytes) -> tuple[Bounce, ...]:
    """Every recipient that the notification in ``raw`` reports; ``()`` if it is not one.

    >>> read_notification(b"Subject: Hello\\n\\nJust a note.\\n")
    ()
    """
    try:
        return read_message(raw).bounces
    except NotReadable:
        return ()


def read_message(raw: bytes) -> Reading:
    """Read one message: the bounces it reports, or whether it is an automatic reply.

    Raises :class:`NotReadable` for a message nested too deeply to parse safely.
    """
    containers = len(_CONTAINER.findall(raw))
    if containers > MAX_NESTING:
        raise NotReadable(
            f"it declares {containers} nested MIME parts (a notification has a handful, "
            f"the limit is {MAX_NESTING}): not parsed"
        )
    try:
        return _read(parse(raw), raw)
    except RecursionError:  # a safety net: the count above should keep it from happening
        raise NotReadable("its MIME parts are nested too deeply to be read") from None


def _read(msg: Message, raw: bytes) -> Reading:
    found = _from_delivery_status(msg)
    if found is None:
        if _is_auto_reply(msg):
            return Reading(auto_reply=True)
        found = _from_known_layouts(msg)
    if not found:
        return Reading()
    notification = _notification_id(msg, raw)
    original = _original_message_id(msg)
    arrived = _date(msg)
    bounces: dict[str, Bounce] = {}
    for recipient, kind, status, diagnostic in found:
        if recipient in bounces:
            continue
        bounces[recipient] = Bounce(
            source_id=_source_id(notification, recipient),
            recipient=recipient,
            message_id=original,
            kind=kind,
            status=status,
            diagnostic=diagnostic,
            arrived=arrived,
        )
    return Reading(tuple(bounces.values()))


_MAIL_SYSTEM = frozenset({"mailer-daemon", "mailerdaemon", "postmaster", "mail-daemon"})
_AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply")
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?(reply|response)|auto:|out of (the )?office"
    r"|r[ée]ponse automatique|absence|abwesenheit|automatische antwort|respuesta autom[aá]tica"
    r"|risposta automatica|fuera de la oficina)",
    re.IGNORECASE,
)


def _is_auto_reply(msg: Message) -> bool:
    """Whether ``msg`` is an automatic reply from a person's mailbox (RFC 3834).

    Servers mark their notifications ``Auto-Submitted: auto-replied`` too (Postfix, Exim,
    Exchange): a message from the mail system (``MAILER-DAEMON``, ``postmaster``) or
    naming ``X-Failed-Recipients`` (Exim) is read as a notification, never as a reply.
    """
    sender = parseaddr(_header(msg, "From"))[1].lower()
    if sender.partition("@")[0] in _MAIL_SYSTEM or msg.get("X-Failed-Recipients") is not None:
        return False
    submitted = _header(msg, "Auto-Submitted").strip().lower()
    if submitted and not submitted.startswith("no"):
        return True
    if any(msg.get(name) is not None for name in _AUTO_REPLY_HEADERS):
        return True
    if _header(msg, "Precedence").strip().lower() == "auto_reply":
        return True
    return bool(_AUTO_REPLY_SUBJECT.match(_subject(msg)))


def _subject(msg: Message) -> str:
    """The subject as text, its encoded words (``=?utf-8?q?R=C3=A9ponse?=``) decoded."""
    value = _header(msg, "Subject")
    with contextlib.suppress(LookupError, ValueError, UnicodeError, HeaderParseError):
        value = str(make_header(decode_header(value)))
    return _one_line(value)


_Found = tuple[str, BounceKind, str | None, str]


def _from_delivery_status(msg: Message) -> list[_Found] | None:
    """The failed and delayed recipients of the RFC 3464 parts; ``None`` if there are none.

    A report whose recipients were all delivered or relayed is a notification too, but
    reports no bounce: it gives ``[]``, so the heuristics do not second-guess it.
    """
    seen_report = False
    found: list[_Found] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        seen_report = True
        for block in _status_blocks(part):
            action = _header(block, "Action").strip().lower()
            if action.startswith("delayed"):
                kind: BounceKind = "delayed"
            elif action.startswith(("failed", "error")):  # OpenSMTPD writes "error"
                kind = "bounced"
            else:
                continue
            recipient = _typed_address(_header(block, "Original-Recipient")) or _typed_address(
                _header(block, "Final-Recipient")
            )
            if not recipient:
                continue
            diagnostic = _one_line(_strip_type(_header(block, "Diagnostic-Code")))
            status_match = _STATUS.search(_header(block, "Status")) or _STATUS.search(diagnostic)
            found.append((recipient, kind, _status(status_match), diagnostic[:_DIAGNOSTIC_LIMIT]))
    return found if seen_report else None


def _status_blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` part, the per-message one first."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # Some servers send the part base64-encoded, which the parser leaves as text.
    text = part.get_payload(decode=True)
    if not isinstance(text, bytes):
        return []
    blocks = re.split(r"\r?\n\s*\r?\n", text.decode("utf-8", "replace"))
    return [HeaderParser(policy=policy.compat32).parsestr(block) for block in blocks]


def _from_known_layouts(msg: Message) -> list[_Found]:
    """Recipients flufl.bounce's detectors find in a notification without RFC 3464 parts."""
    try:
        temporary, permanent = all_failures(msg)
    except (LookupError, ValueError, TypeError, AttributeError, UnicodeError):
        # A detector choked on a malformed message: it is not one we can read as a bounce.
        return []
    text = _plain_text(msg)
    found: list[_Found] = []
    groups: tuple[tuple[frozenset[bytes], BounceKind], ...] = (
        (permanent, "bounced"),
        (temporary, "delayed"),
    )
    for addresses, kind in groups:
        for raw_address in sorted(addresses):
            recipient = raw_address.decode("ascii", "replace").strip().strip("<>").lower()
            if "@" not in recipient:
                continue
            paragraph = _paragraph_naming(text, recipient)
            status = _status(_STATUS.search(paragraph))
            found.append((recipient, kind, status, paragraph[:_DIAGNOSTIC_LIMIT]))
    return found


def _plain_text(msg: Message) -> str:
    """The text of the notification's own text parts (not of a returned message)."""
    texts: list[str] = []
    for part in _own_parts(msg):
        if part.get_content_type() != "text/plain":
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            charset = part.get_content_charset() or "utf-8"
            try:
                texts.append(data.decode(charset, "replace"))
            except LookupError:  # an unknown charset name
                texts.append(data.decode("utf-8", "replace"))
    return "\n".join(texts)


def _own_parts(msg: Message) -> list[Message]:
    """The parts of ``msg`` outside any ``message/*`` part it carries."""
    if msg.get_content_maintype() == "message":
        return []
    if not msg.is_multipart():
        return [msg]
    parts: list[Message] = []
    payload = msg.get_payload()
    assert isinstance(payload, list)
    for part in payload:
        if isinstance(part, Message):
            parts.extend(_own_parts(part))
    return parts


def _paragraph_naming(text: str, address: str) -> str:
    """The paragraph of ``text`` that names ``address`` with the lines that explain it.

    Exim writes the address, then the server's reply indented below it; qmail writes
    ``<address>:`` and the reply on the following lines, up to a blank line.
    """
    lower = text.lower()
    at = lower.find(address)
    if at < 0:
        return ""
    end = re.search(r"\n[ \t]*\n", text[at:])
    paragraph = text[at : at + end.start()] if end else text[at:]
    start = lower.rfind("\n", 0, at) + 1
    paragraph = text[start:at] + paragraph
    return _one_line(paragraph)


def _original_message_id(msg: Message) -> str | None:
    """The Message-ID of the message that could not be delivered, where the notification
    gives it."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                found = _message_id(payload[0].get("Message-ID"))
                if found:
                    return found
        elif kind == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                headers = HeaderParser().parsestr(data.decode("utf-8", "replace"))
                found = _message_id(headers.get("Message-ID"))
                if found:
                    return found
    quoted = _QUOTED_MESSAGE_ID.search(_plain_text(msg))
    if quoted:
        return quoted.group(1)
    found = _message_id(msg.get("In-Reply-To"))
    if found:
        return found
    references = _MESSAGE_ID.findall(str(msg.get("References", "")))
    return references[-1] if references else None


def _header(msg: Message, name: str) -> str:
    """A header as text: compat32 gives a ``Header`` object for one with raw 8-bit bytes."""
    value = msg.get(name)
    return "" if value is None else str(value)


def _message_id(value: object) -> str | None:
    if value is None:
        return None
    match = _MESSAGE_ID.search(str(value))
    return match.group() if match else None


def _typed_address(value: str | None) -> str:
    """``rfc822; Anne@Example.org`` → ``anne@example.org``."""
    if not value:
        return ""
    address = parseaddr(_strip_type(value))[1] or _strip_type(value).strip("<> ")
    return address.lower() if "@" in address else ""


def _strip_type(value: str) -> str:
    """Drop the address or diagnostic type (``rfc822;``, ``smtp;``) before the value."""
    head, sep, tail = str(value).partition(";")
    return tail.strip() if sep and " " not in head.strip() else str(value).strip()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _status(match: re.Match[str] | None) -> str | None:
    return None if match is None else ".".join(match.groups())


def _date(msg: Message) -> datetime | None:
    value = msg.get("Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None


def _notification_id(msg: Message, raw: bytes) -> str:
    """What identifies the notification itself: its Message-ID, else its bytes."""
    own = _message_id(msg.get("Message-ID"))
    return own if own else "sha256:" + hashlib.sha256(raw).hexdigest()


def _source_id(notification: str, recipient: str) -> str:
    return hashlib.sha256(f"{notification}\0{recipient}".encode()).hexdigest()[:32]
