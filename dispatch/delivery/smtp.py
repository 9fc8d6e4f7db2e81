"""The SMTP conversation: connecting to the relay, and one transaction per message.

How a message's fate is decided, and why:

* A 4xx reply, a timeout or a lost connection *before the content was transmitted*
  (MAIL FROM, RCPT TO, the DATA command) means the relay does not have the message:
  the result is ``temporary`` (the caller retries it).
* A 5xx reply for every recipient, or to the content, is ``permanent``. If only some
  recipients are refused (a wrong Cc), the message goes to the others and is ``sent``,
  with the refusals in the reply text.
* Once the whole content has been written, a lost connection or a timeout before the
  final reply leaves us not knowing: the relay may have queued the message (RFC 1047's
  "duplicate message" problem). Such a message is ``unknown``. To know exactly where a
  failure happened, the DATA exchange is done in two steps here (the DATA command, then
  the content) rather than through ``aiosmtplib.SMTP.data``, which raises the same
  exception whether the connection dropped before the 354 reply or after the content.

Why a connection could not be opened is said by one table, :data:`CONNECTION_ERRORS`:
the first exception type that matches gives the message (what failed, what to check).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from aiosmtplib import (
    SMTP,
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPException,
    SMTPRecipientRefused,
    SMTPResponse,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from dispatch.delivery.signin import credentials
from dispatch.errors import RelayError
from dispatch.outgoing import Outgoing
from dispatch.settings import SmtpSettings

__all__ = [
    "CONNECTION_ERRORS",
    "FINAL_REPLY_LOST",
    "Phase",
    "Result",
    "connect",
    "dot_stuffed",
    "normalized",
    "quit_politely",
    "reset",
    "transact",
]

_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")
FINAL_REPLY_LOST = "the relay's final reply never came"


@dataclass
class Result:
    """The outcome of one transaction."""

    state: Literal["sent", "temporary", "permanent", "unknown"]
    code: int | None
    reason: str
    refused: str = ""  # recipients refused while the message went to the others
    halt: str | None = None  # a problem that is not this message's: stop the run


class Phase:
    """Where a transaction stands, read when it is cancelled."""

    transmitted = False


async def transact(
    smtp: SMTP,
    message: Outgoing,
    wire: bytes,
    timeout: float,
    phase: Phase,
    last_try: bool,
    durable: Awaitable[None],
) -> Result:
    """One SMTP transaction for ``message`` (``wire``: its normalized content).

    ``durable`` is the journal's ``sending`` mark: the content is not transmitted
    before it is on the disk.

    Returns the outcome; never raises an SMTP exception.
    """
    prepared = _mail_options(smtp, message, wire)
    if isinstance(prepared, Result):
        return prepared
    refused: dict[str, SMTPRecipientRefused] = {}
    try:
        early = await _envelope(smtp, message, wire, prepared, timeout, last_try, refused)
        if early is not None:
            return early
        reply = await _content(smtp, wire, timeout, phase, durable)
        if isinstance(reply, Result):
            return reply
    except (SMTPServerDisconnected, SMTPTimeoutError, ConnectionError, OSError) as error:
        smtp.close()
        what = "timed out" if isinstance(error, TimeoutError) else "connection lost"
        if phase.transmitted:
            return Result(
                "unknown", None, f"{what} after the content was transmitted: {FINAL_REPLY_LOST}"
            )
        return Result("temporary", None, f"{what} before the content was transmitted: {error}")
    except SMTPResponseException as error:  # a malformed or oversized reply
        smtp.close()
        if phase.transmitted:
            return Result("unknown", None, f"unreadable final reply ({error.message})")
        return Result("temporary", error.code, error.message)
    except ValueError as error:  # an address that cannot be put in an SMTP command
        await reset(smtp, timeout)
        return Result("permanent", None, f"cannot be sent by SMTP: {error}")
    return _final(smtp, reply, refused)


def _mail_options(smtp: SMTP, message: Outgoing, wire: bytes) -> tuple[list[str], str] | Result:
    """MAIL FROM's options and the addresses' encoding; a Result if it cannot be sent."""
    options = []
    encoding = "ascii"
    if not all(a.isascii() for a in (message.sender, *message.recipients)):
        if not smtp.supports_extension("smtputf8"):
            return Result(
                "permanent",
                None,
                "an address has non-ASCII characters and the relay does not accept "
                "such addresses (no SMTPUTF8)",
            )
        options.append("SMTPUTF8")
        encoding = "utf-8"
    if smtp.supports_extension("size"):
        options.append(f"SIZE={len(wire)}")
    if not wire.isascii() and smtp.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    return options, encoding


async def _envelope(
    smtp: SMTP,
    message: Outgoing,
    wire: bytes,
    prepared: tuple[list[str], str],
    timeout: float,
    last_try: bool,
    refused: dict[str, SMTPRecipientRefused],
) -> Result | None:
    """MAIL FROM and RCPT TO (refusals put in ``refused``); a Result if it ends here."""
    options, encoding = prepared
    try:
        await smtp.mail(message.sender, options=options, encoding=encoding, timeout=timeout)
    except SMTPSenderRefused as error:
        await reset(smtp, timeout)
        if error.code == 552:  # the message is too large for the relay
            return Result("permanent", error.code, _too_big(smtp, error.message, len(wire)))
        if error.code >= 500:
            return Result(
                "temporary",
                error.code,
                error.message,
                halt=f"the relay refuses the sender {message.sender} ({error.code} "
                f"{error.message}). Check the sender address of the mailing, and that "
                "the relay lets this account send as it.",
            )
        return Result("temporary", error.code, error.message)
    for recipient in message.recipients:
        try:
            await smtp.rcpt(recipient, encoding=encoding, timeout=timeout)
        except SMTPRecipientRefused as error:
            refused[recipient] = error
    if refused:
        deferred = [e for e in refused.values() if e.code < 500]
        if len(refused) == len(message.recipients) or (deferred and not last_try):
            await reset(smtp, timeout)
            worst = deferred[0] if deferred else next(iter(refused.values()))
            state: Literal["temporary", "permanent"] = "temporary" if deferred else "permanent"
            return Result(state, worst.code, _refusals(refused))
    return None


async def _content(
    smtp: SMTP, wire: bytes, timeout: float, phase: Phase, durable: Awaitable[None]
) -> SMTPResponse | Result:
    """DATA, then the content once the ``sending`` mark is on the disk; the final reply."""
    reply = await smtp.execute_command(b"DATA", timeout=timeout)
    if reply.code != 354:
        await reset(smtp, timeout)
        return _reply_result(reply, "the DATA command")
    await asyncio.shield(durable)
    protocol = smtp.protocol
    if protocol is None:
        raise SMTPServerDisconnected("Connection lost")
    protocol.write(dot_stuffed(wire) + b".\r\n")
    phase.transmitted = True
    return await protocol.read_response(timeout=timeout)


def _final(smtp: SMTP, reply: SMTPResponse, refused: dict[str, SMTPRecipientRefused]) -> Result:
    """The outcome of the relay's final reply to the content."""
    if reply.code == 250:
        return Result("sent", reply.code, reply.message, refused=_refusals(refused))
    if reply.code == 421:
        smtp.close()
    if 400 <= reply.code < 600:
        return _reply_result(reply, "the content")
    smtp.close()
    return Result("unknown", reply.code, f"unexpected final reply {reply.code} {reply.message}")


def _too_big(smtp: SMTP, reply: str, size: int) -> str:
    """The relay's words, with the message's size and the relay's limit (its EHLO's SIZE)."""
    limit = smtp.esmtp_extensions.get("size", "").strip()
    known = f", above the relay's limit of {int(limit):,} bytes" if limit.isdigit() else ""
    return f"{reply} (the message is {size:,} bytes{known})"


def _reply_result(reply: SMTPResponse, what: str) -> Result:
    state: Literal["temporary", "permanent"] = "permanent" if reply.code >= 500 else "temporary"
    return Result(state, reply.code, f"{reply.message} (reply to {what})")


def _refusals(refused: dict[str, SMTPRecipientRefused]) -> str:
    if not refused:
        return ""
    return "refused: " + ", ".join(f"{a} ({e.code} {e.message})" for a, e in refused.items())


def normalized(data: bytes) -> bytes:
    """The content with CRLF line ends and a final CRLF, as it goes on the wire."""
    crlf = data.count(b"\r\n")
    if not crlf == data.count(b"\r") == data.count(b"\n"):  # not already CRLF throughout
        data = _LINE_ENDS.sub(b"\r\n", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def dot_stuffed(wire: bytes) -> bytes:
    """``wire`` with a dot doubled at the start of each line (RFC 5321, 4.5.2)."""
    if wire.startswith(b".") or b"\n." in wire:
        return _LEADING_DOT.sub(b"..", wire)
    return wire


async def reset(smtp: SMTP, timeout: float) -> None:
    """End a failed transaction (RSET); a connection that cannot is closed."""
    if not smtp.is_connected:
        return
    try:
        await smtp.rset(timeout=timeout)
    except (SMTPException, OSError):
        smtp.close()


async def quit_politely(smtp: SMTP | None, timeout: float) -> None:
    if smtp is None:
        return
    if smtp.is_connected:
        with contextlib.suppress(SMTPException, OSError):
            await smtp.quit(timeout=min(timeout, 5.0))
    smtp.close()


async def connect(settings: SmtpSettings, local_hostname: str | None = None) -> SMTP:
    """Open a connection to the relay, with STARTTLS or TLS and login as set.

    Raises :class:`RelayError` saying what failed and what to check
    (see :data:`CONNECTION_ERRORS`).
    """
    signin = await asyncio.to_thread(credentials, settings)  # may run the user's command
    password = signin is not None and signin.mechanism == "password"
    smtp = SMTP(
        hostname=settings.host,
        port=settings.port,
        username=signin.user if signin is not None and password else None,
        password=signin.secret if signin is not None and password else None,
        local_hostname=local_hostname or None,
        timeout=settings.timeout,
        use_tls=settings.security == "tls",
        start_tls=settings.security == "starttls",
        validate_certs=settings.validate_certs,
        cert_bundle=str(settings.ca_file) if settings.ca_file else None,
    )
    try:
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        if signin is not None and signin.mechanism == "xoauth2":
            await smtp.auth_xoauth2(signin.user, signin.secret)
    except BaseException as error:
        smtp.close()
        explained = connection_problem(error, settings)
        if explained is None:
            raise
        raise explained from None
    return smtp


def connection_problem(error: BaseException, settings: SmtpSettings) -> RelayError | None:
    """The :class:`RelayError` saying why a connection failed, or None if not ours to say."""
    for rule in CONNECTION_ERRORS:
        if isinstance(error, rule.kind):
            return RelayError(f"{settings.address}: {rule.explain(error, settings)}")
    return None


E = TypeVar("E", bound=BaseException)


@dataclass(frozen=True)
class ConnectionRule:
    """One row of :data:`CONNECTION_ERRORS`: an exception type and what it means."""

    kind: type[BaseException]
    explain: Callable[[BaseException, SmtpSettings], str]


def _rule(kind: type[E], explain: Callable[[E, SmtpSettings], str]) -> ConnectionRule:
    def checked(error: BaseException, settings: SmtpSettings) -> str:
        assert isinstance(error, kind)
        return explain(error, settings)

    return ConnectionRule(kind, checked)


_CHECK = "Check DISPATCH_SMTP_HOST and DISPATCH_SMTP_PORT"


def _login_refused(error: SMTPAuthenticationError, settings: SmtpSettings) -> str:
    if settings.token_command is not None:
        check = (
            "Check DISPATCH_SMTP_USER, and that the token command gives a token for this "
            "user with the right to send mail (SMTP.Send on Microsoft 365, "
            "https://mail.google.com/ on Google Workspace)."
        )
    elif settings.password_command is not None:
        check = "Check DISPATCH_SMTP_USER and the password printed by the password command."
    elif settings.keyring:
        check = "Check DISPATCH_SMTP_USER and the password stored in the system keyring."
    else:
        check = "Check DISPATCH_SMTP_USER and DISPATCH_SMTP_PASSWORD."
    return (
        f"the relay refused the login of user {settings.user!r} "
        f"({error.code} {error.message}). {check}"
    )


def _no_answer(_error: SMTPConnectTimeoutError, settings: SmtpSettings) -> str:
    return (
        f"the relay did not answer within {settings.timeout:g} s. {_CHECK}, "
        "and that this machine may reach it (firewall, VPN)."
    )


def _turned_away(error: SMTPConnectResponseError, _settings: SmtpSettings) -> str:
    return (
        f"the relay turned the connection away ({error.code} {error.message}). "
        "Try again later, or ask its administrator."
    )


def _cannot_connect(error: SMTPConnectError, settings: SmtpSettings) -> str:
    cause = error.__cause__ or error
    if isinstance(cause, ssl.SSLError):
        return _tls_problem(cause, settings)
    detail = getattr(cause, "strerror", None) or str(cause)
    return (
        f"cannot connect to the relay ({detail}). {_CHECK}, and that the "
        "relay is running and reachable from this machine."
    )


def _tls_problem(error: ssl.SSLError, _settings: SmtpSettings) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"the relay's TLS certificate is not trusted "
            f"({error.verify_message}). If the relay uses a private certificate authority, "
            "set ca_file in the [smtp] settings (or DISPATCH_SMTP_CA_FILE) to its "
            "certificate; check DISPATCH_SMTP_HOST matches the name in the certificate."
        )
    return (
        f"the TLS handshake with the relay failed ({error.reason or error}). "
        'Check DISPATCH_SMTP_SECURITY: "tls" is for a port like 465, "starttls" for 587.'
    )


def _stopped_answering(_error: SMTPTimeoutError, settings: SmtpSettings) -> str:
    return (
        f"the relay stopped answering while the connection was set up "
        f"(no reply within {settings.timeout:g} s). Check DISPATCH_SMTP_SECURITY: "
        '"tls" is for a port like 465 that expects TLS at once, "starttls" for 587.'
    )


def _closed(error: SMTPServerDisconnected, _settings: SmtpSettings) -> str:
    return (
        f"the relay closed the connection while it was set up ({error}). "
        "Check DISPATCH_SMTP_SECURITY and DISPATCH_SMTP_PORT."
    )


def _answered(error: SMTPResponseException, _settings: SmtpSettings) -> str:
    return (
        f"the relay answered {error.code} {error.message} while the connection "
        "was set up. Check the settings, or ask the relay's administrator."
    )


def _smtp_problem(error: SMTPException, _settings: SmtpSettings) -> str:
    text = str(error)
    if "STARTTLS" in text.upper():
        hint = (
            'The relay does not offer STARTTLS: set DISPATCH_SMTP_SECURITY to "tls" if '
            'it expects TLS at once (port 465), or to "none" only on a trusted network.'
        )
    elif "AUTH" in text.upper():
        hint = (
            "The relay does not offer a login on this connection: remove "
            "DISPATCH_SMTP_USER and DISPATCH_SMTP_PASSWORD if it needs none, or use "
            "STARTTLS or TLS if it offers a login only over an encrypted connection."
        )
    else:
        hint = "Check the settings."
    return f"{text} {hint}"


def _os_problem(error: OSError, _settings: SmtpSettings) -> str:
    return f"cannot connect to the relay ({error.strerror or error}). {_CHECK}."


# The first row whose type matches wins: subclasses come before their bases.
CONNECTION_ERRORS: tuple[ConnectionRule, ...] = (
    _rule(SMTPAuthenticationError, _login_refused),
    _rule(SMTPConnectTimeoutError, _no_answer),
    _rule(SMTPConnectResponseError, _turned_away),
    _rule(SMTPConnectError, _cannot_connect),
    _rule(ssl.SSLError, _tls_problem),
    _rule(SMTPTimeoutError, _stopped_answering),
    _rule(SMTPServerDisconnected, _closed),
    _rule(SMTPResponseException, _answered),
    _rule(SMTPException, _smtp_problem),
    _rule(OSError, _os_problem),
)
