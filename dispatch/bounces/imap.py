"""Messages from an IMAP mailbox, read only, in batches, with a deadline on every answer.

The mailbox is selected read-only (``EXAMINE``) and each message fetched with
``BODY.PEEK[]``, so nothing is marked as read, moved or deleted. The server is outside
input too, and may be broken or hostile:

- every command has an overall deadline (the source's ``timeout``): a server that
  sends one byte every few seconds is cut off when it passes, not only one that sends
  nothing (a per-read timeout alone would wait for ever);
- the messages are listed by sequence number in batches (``FETCH a:b (UID RFC822.SIZE)``),
  never in one ``SEARCH`` answer that grows with the mailbox; each is fetched only if its
  size is within :data:`~dispatch.bounces.limits.MAX_MESSAGE_BYTES`, and then at most
  that many bytes of it (``BODY.PEEK[]<0.N>``); a literal the server announces larger is
  refused before it is read;
- a refusal (``NO``, ``BAD``), an over-long line, an answer that is not what IMAP says
  becomes a :class:`~dispatch.bounces.errors.MailboxConnectionError` naming the mailbox
  and what to do, never a traceback;
- a mailbox name or user with a control character (``%0D%0A`` would end the command and
  start another) is refused before connecting.

imaplib has no public hook for a deadline over a whole answer; its documentation invites
overriding :meth:`imaplib.IMAP4.open` and :meth:`imaplib.IMAP4.read`, which is what
:class:`_Bounded` does: it reads the socket through a reader that gives each ``recv``
only the time left.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import io
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from dispatch.bounces.errors import BounceError, MailboxConnectionError
from dispatch.bounces.limits import Item, Raw, Skipped, too_large
from dispatch.progress import OnProgress, Step, finish, start

if TYPE_CHECKING:
    from dispatch.bounces.sources import ImapSource

__all__ = ["control_character", "read_imap"]

Answer = tuple[str, list[Any]]

_LIST_BATCH = 500  # messages listed (UID and size) per FETCH
_FETCH_BATCH = 100  # messages fetched per UID FETCH, at most
_FETCH_BYTES = 8 * 1024 * 1024  # and about this many bytes
_MAX_LINE = 1_000_000  # imaplib's own bound on a line (a literal is read apart)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_IMAPLIB_COMMAND = re.compile(r"^command: \S+ => ")  # imaplib's wording around a reason
_IMAPLIB_DATA = re.compile(r"\[b'(.*)'\]$")
_UID = re.compile(rb"\bUID (\d{1,20})\b")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d{1,20})\b")


def control_character(text: str) -> str | None:
    """The first control character of ``text``, as ``U+000D``, or None."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


class _DeadlineReader(io.RawIOBase):
    """The socket of ``client``, each read given only the time left before its deadline."""

    def __init__(self, client: _Bounded) -> None:
        self._client = client

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        left = self._client.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the server's answer did not end in time")
        self._client.sock.settimeout(left)
        return self._client.sock.recv_into(buffer)


class _Bounded(imaplib.IMAP4):
    """An IMAP client with a deadline per answer and a bound on what the server sends."""

    deadline: float = float("inf")
    seconds: float = 60.0
    max_literal: int = 0

    def arm(self) -> None:
        """Start the deadline of the next command."""
        self.deadline = time.monotonic() + self.seconds

    def open(self, host: str = "", port: int = 143, timeout: float | None = None) -> None:
        super().open(host, port, timeout)
        self._read_with_deadline()

    def starttls(self, ssl_context: ssl.SSLContext | None = None) -> Any:
        result = super().starttls(ssl_context)
        self._read_with_deadline()
        return result

    def _read_with_deadline(self) -> None:
        # The socket's own reader is closed, or the socket would stay open after close().
        plain, self.file = self.file, io.BufferedReader(_DeadlineReader(self))
        plain.close()

    def readline(self) -> bytes:
        line = cast(bytes, self.file.readline(_MAX_LINE + 1))
        if len(line) > _MAX_LINE:  # imaplib says so too, but as a refusal (error), not abort
            raise self.abort(f"the server sent a line longer than {_MAX_LINE} bytes")
        return line

    def read(self, size: int) -> bytes:
        if size > self.max_literal:
            raise self.abort(f"the server announced {size} bytes, more than any message read")
        return super().read(size)


class _Plain(_Bounded):
    def __init__(self, host: str, port: int, seconds: float, max_literal: int) -> None:
        self.seconds, self.max_literal = seconds, max_literal
        self.arm()
        super().__init__(host, port, timeout=seconds)


class _Tls(_Bounded, imaplib.IMAP4_SSL):  # type: ignore[misc]  # open(): same parameters
    def __init__(
        self, host: str, port: int, seconds: float, max_literal: int, context: ssl.SSLContext
    ) -> None:
        self.seconds, self.max_literal = seconds, max_literal
        self.arm()
        imaplib.IMAP4_SSL.__init__(self, host, port, ssl_context=context, timeout=seconds)


def read_imap(source: ImapSource, limit: int, progress: OnProgress | None = None) -> Iterator[Item]:
    """Each message of the mailbox of ``source`` (its bytes, or why it was left),
    reporting :attr:`Step.MAILBOX` as the batches come."""
    where = source.address
    _check_names(source)
    if source.security == "none" and not _loopback(source.host):
        raise BounceError(
            where,
            "IMAP without TLS would send the password in clear over the network",
            "Use imaps:// (TLS) or imap:// (STARTTLS); imap+plain:// is for 127.0.0.1 only.",
        )
    client = _connect(source, limit)
    finished = False
    try:
        _login(client, source)
        total = _examine(client, source)
        start(progress, Step.MAILBOX, total)
        for first in range(1, total + 1, _LIST_BATCH):
            last = min(first + _LIST_BATCH - 1, total)
            listed = _list(client, source, first, last)
            if len(listed) < last - first + 1:
                yield Skipped(
                    f"{where}, messages {first} to {last}",
                    f"the server's answer named {len(listed)} of them with a UID and a size: "
                    f"{last - first + 1 - len(listed)} not read",
                )
            for uid, size in listed:
                if size > limit:
                    yield Skipped(f"{where}, UID {uid}", too_large(size, limit))
            wanted = [(uid, size) for uid, size in listed if size <= limit]
            for batch in _batches(wanted):
                yield from _fetch(client, source, batch, limit)
            if progress is not None:
                progress(Step.MAILBOX, last, total)
        finish(progress, Step.MAILBOX, total)
        finished = True
    except BounceError:
        raise
    except TimeoutError:
        raise MailboxConnectionError(
            where,
            f"the server did not answer within {source.timeout:g} s",
            "Try again later; nothing was recorded.",
        ) from None
    except (imaplib.IMAP4.error, OSError, ValueError) as error:
        raise MailboxConnectionError(
            where,
            f"the connection broke off ({_reason(error)})",
            "Try again; nothing was recorded. If it happens again, the server's answers "
            "are not what IMAP says: ask its administrator.",
        ) from None
    finally:
        _close(client, polite=finished)


def _close(client: _Bounded, *, polite: bool) -> None:
    """Log out after a session that went well; after one that did not (a broken answer,
    a deadline passed), the stream is in no state for another command: just close it."""
    if polite:
        client.arm()
        with contextlib.suppress(imaplib.IMAP4.error, OSError, ValueError):
            client.logout()
            return
    with contextlib.suppress(OSError):
        client.shutdown()


def _check_names(source: ImapSource) -> None:
    for what, value in (("mailbox name", source.mailbox), ("user", source.user)):
        bad = control_character(value)
        if bad is not None:
            raise BounceError(
                f"imap://{source.host}",
                f"the {what} holds a control character ({bad}), which would end the "
                "IMAP command and start another",
                "Give the name as the mail program shows it, without %0D, %0A or other "
                "control characters.",
            )


def _examine(client: _Bounded, source: ImapSource) -> int:
    """Select the mailbox read-only; how many messages it holds."""
    client.arm()
    try:
        status, data = client.select(_quoted(source.mailbox), readonly=True)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as error:  # BAD, or a read-only mailbox that says READ-WRITE
        status, data = "BAD", [_reason(error).encode()]
    if status != "OK":
        raise BounceError(
            source.address,
            f"the mailbox cannot be opened ({_said(data)})",
            "Check the mailbox name after the host (INBOX, or a folder like Bounces).",
        )
    count = data[-1] if data else None
    if not isinstance(count, bytes) or not count.strip().isdigit():
        raise MailboxConnectionError(
            source.address,
            "the server did not say how many messages the mailbox holds",
            "Try again; if it happens again, ask the server's administrator.",
        )
    return int(count)


def _list(client: _Bounded, source: ImapSource, first: int, last: int) -> list[tuple[int, int]]:
    """The UID and size of messages ``first`` to ``last``."""
    data = _command(client, source, "to list", client.fetch, f"{first}:{last}", "(UID RFC822.SIZE)")
    listed: list[tuple[int, int]] = []
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = _UID.search(line), _SIZE.search(line)
        if uid is not None and size is not None:
            listed.append((int(uid.group(1)), int(size.group(1))))
    return listed


def _batches(listed: list[tuple[int, int]]) -> Iterator[list[int]]:
    batch: list[int] = []
    size = 0
    for uid, length in listed:
        if batch and (len(batch) >= _FETCH_BATCH or size + length > _FETCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(uid)
        size += length
    if batch:
        yield batch


def _fetch(client: _Bounded, source: ImapSource, uids: list[int], limit: int) -> Iterator[Item]:
    uid_set = ",".join(str(uid) for uid in uids)
    data = _command(
        client,
        source,
        "to send messages",
        client.uid,
        "FETCH",
        uid_set,
        f"(BODY.PEEK[]<0.{limit + 1}>)",
    )
    for item in data:
        if not isinstance(item, tuple) or not isinstance(item[1], bytes):
            continue
        uid = _UID.search(item[0]) if isinstance(item[0], bytes) else None
        where = f"{source.address}, UID {uid.group(1).decode() if uid else '?'}"
        if len(item[1]) > limit:  # it said it was smaller
            yield Skipped(where, too_large(len(item[1]), limit))
            continue
        yield Raw(where, item[1])


def _command(
    client: _Bounded, source: ImapSource, what: str, call: Callable[..., Answer], *args: str
) -> list[Any]:
    client.arm()
    try:
        status, data = call(*args)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as error:  # BAD
        status, data = "BAD", [_reason(error).encode()]
    if status != "OK":
        raise MailboxConnectionError(
            source.address, f"the server refused {what} ({_said(data)})", "Try again."
        )
    return list(data)


def _connect(source: ImapSource, limit: int) -> _Bounded:
    where = source.address
    context = ssl.create_default_context(
        cafile=str(source.ca_file) if source.ca_file is not None else None
    )
    max_literal = limit + 1
    try:
        if source.security == "tls":
            return _Tls(source.host, source.port, source.timeout, max_literal, context)
        client = _Plain(source.host, source.port, source.timeout, max_literal)
        if source.security == "starttls":
            try:
                client.arm()
                client.starttls(ssl_context=context)
            except imaplib.IMAP4.abort:
                raise
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
    except TimeoutError:
        raise MailboxConnectionError(
            where,
            f"the server did not answer within {source.timeout:g} s",
            "Check the host and port, and try again later.",
        ) from None
    except (OSError, imaplib.IMAP4.error, ValueError) as error:
        raise MailboxConnectionError(
            where,
            f"the server cannot be reached ({_reason(error)})",
            "Check the host and port, and that this machine may reach the server.",
        ) from None


def _login(client: _Bounded, source: ImapSource) -> None:
    client.arm()
    try:
        if source.token is not None:
            auth = f"user={source.user}\x01auth=Bearer {source.token}\x01\x01".encode()
            client.authenticate("XOAUTH2", lambda _challenge: auth)
        else:
            client.login(source.user, source.password or "")
    except imaplib.IMAP4.abort:
        raise
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
    """The mailbox name as IMAP wants it: modified UTF-7 (RFC 3501, 5.1.3), quoted."""
    name = _modified_utf7(mailbox_name)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _modified_utf7(name: str) -> str:
    """``Rückläufer`` → ``R&APw-ckl&AOQ-ufer``: printable ASCII as is (``&`` as ``&-``),
    the rest as base64 of UTF-16 between ``&`` and ``-``, with ``,`` for ``/``.

    imaplib sends names as ASCII and has no encoder for this (the stdlib has none).
    """
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            data = base64.b64encode("".join(run).encode("utf-16-be")).rstrip(b"=")
            out.append("&" + data.replace(b"/", b",").decode("ascii") + "-")
            run.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            run.append(char)
    flush()
    return "".join(out)


def _said(data: object) -> str:
    if isinstance(data, list) and data and isinstance(data[0], bytes):
        return _printable(data[0].decode("utf-8", "replace"))
    return _printable(str(data))


def _reason(error: BaseException) -> str:
    first = error.args[0] if error.args else None
    if isinstance(first, bytes):
        text = first.decode("utf-8", "replace")
    else:
        text = str(first if first is not None else error)
        if text.startswith(("b'", 'b"')):
            text = text[2:-1]
    text = _IMAPLIB_DATA.sub(r"\1", _IMAPLIB_COMMAND.sub("", text))
    return _printable(text)[:300] or type(error).__name__


def _printable(text: str) -> str:
    """The server's words on one line (what is shown is made safe where it is printed)."""
    return " ".join(text.split())
