"""Where delivery status notifications are read from: mbox, Maildir, .eml files, IMAP.

Every source is only read. An mbox or Maildir is opened without creating anything; an
IMAP mailbox is selected read-only (``EXAMINE``) and each message fetched with
``BODY.PEEK[]``, so nothing is marked as read, moved or deleted: staff still see their
mailbox as they left it, and reading it twice gives the same bounces.

A source is named on the command line as a path or an IMAP address::

    >>> source_from("imaps://tsb@imap.example.org/INBOX", {"DISPATCH_IMAP_PASSWORD": "x"})
    ImapSource(host='imap.example.org', port=993, user='tsb', security='tls', mailbox='INBOX')
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from dispatch.bounces.errors import BounceError
from dispatch.bounces.imap import control_character, read_imap
from dispatch.bounces.limits import MAX_MESSAGE_BYTES, Item, Skipped
from dispatch.bounces.local import eml_files, maildir, mbox
from dispatch.bounces.notifications import Bounce, NotReadable, read_message
from dispatch.progress import OnProgress, Step, finish, start

__all__ = [
    "BounceSource",
    "EmlFolderSource",
    "ImapSource",
    "MaildirSource",
    "MboxSource",
    "ScanResult",
    "Skipped",
    "scan",
    "source_from",
]

ImapSecurity = Literal["tls", "starttls", "none"]

#: The usual IMAP port for each kind of security.
IMAP_PORTS: dict[str, int] = {"tls": 993, "starttls": 143, "none": 143}
_SCHEMES: dict[str, ImapSecurity] = {"imaps": "tls", "imap": "starttls", "imap+plain": "none"}


@dataclass(frozen=True)
class MboxSource:
    """An mbox file (Thunderbird's folders, ``mail`` spools, a Google Takeout export)."""

    path: Path


@dataclass(frozen=True)
class MaildirSource:
    """A Maildir folder (with ``cur``, ``new`` and ``tmp``)."""

    path: Path


@dataclass(frozen=True)
class EmlFolderSource:
    """A folder of ``.eml`` files, as dragged out of Outlook or Thunderbird; or one file."""

    path: Path


@dataclass(frozen=True)
class ImapSource:
    """An IMAP mailbox. ``password`` or ``token`` (XOAUTH2) logs in; neither is shown.

    ``security="none"`` (no TLS at all) is accepted for a loopback address only.
    """

    host: str
    port: int
    user: str
    security: ImapSecurity = "tls"
    mailbox: str = "INBOX"
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    timeout: float = field(default=60.0, repr=False)
    ca_file: Path | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """``imap://user@host:port/MAILBOX``, as messages name it (never the password)."""
        scheme = {"tls": "imaps", "starttls": "imap", "none": "imap+plain"}[self.security]
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.mailbox}"


BounceSource = MboxSource | MaildirSource | EmlFolderSource | ImapSource


@dataclass(frozen=True)
class ScanResult:
    """What a source held: the bounces; how many messages were not bounces (``ignored``),
    automatic replies (``auto_replies``: out of office and the like, never a bounce) or
    could not be read as a message at all (``unreadable``); and what was left unread,
    with the reason (``skipped``: too large, nested too deeply, a link, not a file).
    """

    bounces: tuple[Bounce, ...]
    ignored: int
    unreadable: int
    auto_replies: int = 0
    skipped: tuple[Skipped, ...] = ()


def source_from(text: str, env: Mapping[str, str]) -> BounceSource:
    """The source that ``--from TEXT`` names: an IMAP address or a path.

    ``imaps://USER@HOST[:PORT]/MAILBOX`` (TLS, port 993), ``imap://…`` (STARTTLS, 143)
    or ``imap+plain://…`` (no TLS, loopback only). The password is read from
    ``DISPATCH_IMAP_PASSWORD``, or an OAuth2 access token from ``DISPATCH_IMAP_TOKEN``,
    never from the address, which is shown in messages. A path is a Maildir if it is a
    folder with ``cur`` and ``new``, a folder of ``.eml`` files otherwise, a single
    message if it ends in ``.eml``, and an mbox file otherwise.
    """
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme:
        return _imap_source(text, scheme, env)
    path = Path(text).expanduser()
    if not path.exists():
        raise BounceError(
            str(path),
            "there is no such file or folder",
            "Give the path of an mbox file, a Maildir, a folder of .eml files, "
            "or an IMAP address like imaps://user@imap.example.org/INBOX.",
        )
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            return MaildirSource(path)
        return EmlFolderSource(path)
    if path.suffix.lower() == ".eml":
        return EmlFolderSource(path)
    return MboxSource(path)


def _imap_source(text: str, scheme: str, env: Mapping[str, str]) -> ImapSource:
    hint = "Write it like imaps://user@imap.example.org/INBOX (or imap:// for STARTTLS)."
    if scheme not in _SCHEMES:
        raise BounceError(text, f'"{scheme}://" is not an IMAP address', hint)
    bad = control_character(text) or control_character(unquote(text))
    if bad is not None:
        raise BounceError(
            f"{scheme}://…",
            f"the address holds a control character ({bad}): in a mailbox name it would "
            "end the IMAP command and start another",
            "Give the address as the mail program shows it, without %0D, %0A or other "
            "control characters.",
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise BounceError(text, f"is not a valid IMAP address ({error})", hint) from None
    if parts.password:
        raise BounceError(
            f"{scheme}://{parts.username}@{parts.hostname}",
            "the address holds a password",
            "Remove it from the address and set DISPATCH_IMAP_PASSWORD instead.",
        )
    if not parts.hostname or not parts.username:
        raise BounceError(text, "names no user or no host", hint)
    security = _SCHEMES[scheme]
    password = env.get("DISPATCH_IMAP_PASSWORD") or None
    token = env.get("DISPATCH_IMAP_TOKEN") or None
    source = ImapSource(
        host=parts.hostname,
        port=port or IMAP_PORTS[security],
        user=unquote(parts.username),
        security=security,
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
        password=password,
        token=token,
    )
    if password is None and token is None:
        raise BounceError(
            source.address,
            "no password or token is set",
            "Set DISPATCH_IMAP_PASSWORD (or DISPATCH_IMAP_TOKEN for an OAuth2 access token).",
        )
    return source


def scan(
    source: BounceSource,
    *,
    progress: OnProgress | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> ScanResult:
    """Read every message of ``source`` and keep the bounces; count and list the rest.

    Raises :class:`BounceError` (or :class:`MailboxConnectionError`) when the source
    itself cannot be read. A single message never stops the scan: one that is not a
    bounce counts as ignored (or as an auto-reply), and one that is too large, nested too
    deeply, a link or not a regular file is listed in ``skipped`` with the reason.
    ``progress`` hears :attr:`Step.MAILBOX` as an IMAP mailbox is fetched in batches,
    and as each message of a local mailbox is read (their number unknown before).
    """
    bounces: list[Bounce] = []
    skipped: list[Skipped] = []
    ignored = unreadable = auto_replies = 0
    local = None if isinstance(source, ImapSource) else progress  # IMAP says its batches
    read = 0
    start(local, Step.MAILBOX)
    for item in messages(source, max_bytes, progress):
        read += 1
        if local is not None:
            local(Step.MAILBOX, read, None)
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        if not _looks_like_a_message(item.data):
            unreadable += 1
            continue
        try:
            reading = read_message(item.data)
        except NotReadable as error:
            skipped.append(Skipped(item.where, error.reason))
            continue
        if reading.bounces:
            bounces.extend(reading.bounces)
        elif reading.auto_reply:
            auto_replies += 1
        else:
            ignored += 1
    finish(local, Step.MAILBOX, read)
    return ScanResult(tuple(bounces), ignored, unreadable, auto_replies, tuple(skipped))


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:", re.MULTILINE)


def _looks_like_a_message(raw: bytes) -> bool:
    """Whether ``raw`` starts with a header (not a PDF or a picture saved as .eml)."""
    head = raw.lstrip()[:1000]
    return bool(_HEADER_LINE.match(head))


def messages(
    source: BounceSource,
    max_bytes: int = MAX_MESSAGE_BYTES,
    progress: OnProgress | None = None,
) -> Iterator[Item]:
    """Each message of ``source`` (its bytes and where it is), or why one was left."""
    if isinstance(source, MboxSource):
        return mbox(source.path, max_bytes)
    if isinstance(source, MaildirSource):
        return maildir(source.path, max_bytes)
    if isinstance(source, EmlFolderSource):
        return eml_files(source.path, max_bytes)
    return read_imap(source, max_bytes, progress)
