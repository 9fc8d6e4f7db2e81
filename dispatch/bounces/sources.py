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

import contextlib
import imaplib
import ipaddress
import mailbox
import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from dispatch.bounces.errors import BounceError, MailboxConnectionError
from dispatch.bounces.notifications import Bounce, read_notification
from dispatch.progress import OnProgress, Step, finish, start

__all__ = [
    "BounceSource",
    "EmlFolderSource",
    "ImapSource",
    "MaildirSource",
    "MboxSource",
    "ScanResult",
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
    """What a source held: the bounces, and how many messages were not bounces
    (``ignored``) or could not be read as a message at all (``unreadable``)."""

    bounces: tuple[Bounce, ...]
    ignored: int
    unreadable: int


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


def scan(source: BounceSource, progress: OnProgress | None = None) -> ScanResult:
    """Read every message of ``source`` and keep the bounces; count the rest.

    ``progress`` is told of each message read (their number is not known before).

    Raises :class:`BounceError` (or :class:`MailboxConnectionError`) when the source
    itself cannot be read; a single message that is not a bounce only counts as ignored.
    """
    bounces: list[Bounce] = []
    ignored = unreadable = done = 0
    start(progress, Step.NOTIFICATIONS)
    for raw in messages(source):
        done += 1
        if progress is not None:
            progress(Step.NOTIFICATIONS, done, None)
        if raw is None or not _looks_like_a_message(raw):
            unreadable += 1
            continue
        found = read_notification(raw)
        if found:
            bounces.extend(found)
        else:
            ignored += 1
    finish(progress, Step.NOTIFICATIONS, done)
    return ScanResult(tuple(bounces), ignored, unreadable)


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:", re.MULTILINE)


def _looks_like_a_message(raw: bytes) -> bool:
    """Whether ``raw`` starts with a header (not a PDF or a picture saved as .eml)."""
    head = raw.lstrip()[:1000]
    return bool(_HEADER_LINE.match(head))


def messages(source: BounceSource) -> Iterator[bytes | None]:
    """The bytes of each message of ``source`` (``None`` for one that cannot be read)."""
    if isinstance(source, MboxSource):
        return _mbox(source.path)
    if isinstance(source, MaildirSource):
        return _maildir(source.path)
    if isinstance(source, EmlFolderSource):
        return _eml_files(source.path)
    return _imap(source)


def _mbox(path: Path) -> Iterator[bytes | None]:
    try:
        with path.open("rb") as handle:
            start = handle.read(5)
    except OSError as error:
        raise _unreadable(path, error) from None
    if start and start != b"From ":
        raise BounceError(
            str(path),
            'is not an mbox file (an mbox starts with a line beginning with "From ")',
            "Give an mbox file, a Maildir, a folder of .eml files, or a single .eml file.",
        )
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()


def _maildir(path: Path) -> Iterator[bytes | None]:
    box = mailbox.Maildir(path, create=False)
    try:
        keys = box.keys()
    except OSError as error:
        raise _unreadable(path, error) from None
    for key in sorted(keys):
        try:
            yield box.get_bytes(key)
        except (OSError, KeyError):  # gone or unreadable since it was listed
            yield None


def _eml_files(path: Path) -> Iterator[bytes | None]:
    if path.is_file():
        files = [path]
    else:
        try:
            files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".eml")
        except OSError as error:
            raise _unreadable(path, error) from None
        if not files:
            raise BounceError(
                str(path),
                "holds no .eml file",
                "Export the notifications as .eml files into it (drag them out of Outlook "
                "or Thunderbird), or give a Maildir, an mbox file or an IMAP address.",
            )
    for file in files:
        try:
            yield file.read_bytes()
        except OSError:
            yield None


def _unreadable(path: Path, error: OSError) -> BounceError:
    return BounceError(
        str(path),
        f"cannot be read ({error.strerror or error})",
        "Check that it exists and that you may read it.",
    )


_FETCH_BATCH = 100


def _imap(source: ImapSource) -> Iterator[bytes | None]:
    where = source.address
    if source.security == "none" and not _loopback(source.host):
        raise BounceError(
            where,
            "IMAP without TLS would send the password in clear over the network",
            "Use imaps:// (TLS) or imap:// (STARTTLS); imap+plain:// is for 127.0.0.1 only.",
        )
    client = _connect(source)
    try:
        _login(client, source)
        status, data = client.select(_quoted(source.mailbox), readonly=True)
        if status != "OK":
            raise BounceError(
                where,
                f"the mailbox cannot be opened ({_said(data)})",
                "Check the mailbox name after the host (INBOX, or a folder like Bounces).",
            )
        status, data = client.uid("SEARCH", "ALL")
        if status != "OK":
            raise MailboxConnectionError(where, f"the server refused to list ({_said(data)})", "")
        uids = b" ".join(d for d in data if isinstance(d, bytes)).split()
        for start in range(0, len(uids), _FETCH_BATCH):
            batch = b",".join(uids[start : start + _FETCH_BATCH]).decode("ascii")
            status, data = client.uid("FETCH", batch, "(BODY.PEEK[])")
            if status != "OK":
                raise MailboxConnectionError(
                    where, f"the server refused to send messages ({_said(data)})", "Try again."
                )
            for item in data:
                if isinstance(item, tuple):
                    yield item[1]
    except BounceError:
        raise
    except (imaplib.IMAP4.abort, OSError) as error:
        raise MailboxConnectionError(
            where, f"the connection broke off ({error})", "Try again; nothing was recorded."
        ) from None
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def _connect(source: ImapSource) -> imaplib.IMAP4:
    where = source.address
    context = ssl.create_default_context(
        cafile=str(source.ca_file) if source.ca_file is not None else None
    )
    try:
        if source.security == "tls":
            return imaplib.IMAP4_SSL(
                source.host, source.port, ssl_context=context, timeout=source.timeout
            )
        client = imaplib.IMAP4(source.host, source.port, timeout=source.timeout)
        if source.security == "starttls":
            try:
                client.starttls(ssl_context=context)
            except imaplib.IMAP4.error as error:
                client.shutdown()
                raise MailboxConnectionError(
                    where,
                    f"the server does not offer STARTTLS ({_reason(error)})",
                    "Use imaps:// (TLS, usually port 993) if the server offers that.",
                ) from None
        return client
    except BounceError:
        raise
    except ssl.SSLError as error:
        raise MailboxConnectionError(
            where,
            f"the TLS handshake failed ({error.reason or error})",
            "Check the port and the security (imaps:// is TLS on 993, imap:// is STARTTLS "
            "on 143), or the server's certificate.",
        ) from None
    except socket.gaierror:
        raise MailboxConnectionError(
            where, "the host name is not known", "Check the host name in the address."
        ) from None
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxConnectionError(
            where,
            f"the server cannot be reached ({_reason(error)})",
            "Check the host and port, and that this machine may reach the server.",
        ) from None


def _login(client: imaplib.IMAP4, source: ImapSource) -> None:
    try:
        if source.token is not None:
            auth = f"user={source.user}\x01auth=Bearer {source.token}\x01\x01".encode()
            client.authenticate("XOAUTH2", lambda _challenge: auth)
        else:
            client.login(source.user, source.password or "")
    except imaplib.IMAP4.error as error:
        what = "token" if source.token is not None else "password"
        raise MailboxConnectionError(
            source.address,
            f"the server refused the login ({_reason(error)})",
            f"Check the user and the {what} (DISPATCH_IMAP_"
            f"{'TOKEN' if what == 'token' else 'PASSWORD'}).",
        ) from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _quoted(mailbox_name: str) -> str:
    return '"' + mailbox_name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(data: object) -> str:
    if isinstance(data, list) and data and isinstance(data[0], bytes):
        return data[0].decode("utf-8", "replace")
    return str(data)


def _reason(error: BaseException) -> str:
    text = str(error.args[0] if error.args else error)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    if isinstance(error.args[0] if error.args else None, bytes):
        text = error.args[0].decode("utf-8", "replace")
    return text or type(error).__name__
