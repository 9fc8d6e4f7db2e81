"""Samples to a test address: one letter per language, to check them in a real mailbox.

Nothing is journaled: a sample is re-addressed (To, envelope), marked ``[TEST]`` and given
a Message-ID of its own, so that it can never be taken for the real letter.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.parser import BytesParser
from email.utils import make_msgid, parseaddr

from aiosmtplib import (
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from dispatch.delivery.smtp import connect, quit_politely
from dispatch.errors import InvalidInput, Location, Problem, SendError
from dispatch.outgoing import Outgoing
from dispatch.settings import SmtpSettings

__all__ = [
    "SampleResult",
    "checked_test_address",
    "sample_choice",
    "sample_of",
    "send_samples",
    "send_samples_sync",
]


@dataclass(frozen=True)
class SampleResult:
    """The fate of one sample: which addressee's letter, in which language, and the reply."""

    language: str
    key: str  # the addressee whose letter was used
    to_address: str
    accepted: bool
    code: int | None
    reply: str


async def send_samples(
    outgoings: Sequence[Outgoing] | Callable[[], Sequence[Outgoing]],
    settings: SmtpSettings,
    to_address: str,
) -> list[SampleResult]:
    """Send the first message of each language to ``to_address``, to check the letters.

    The journal is not touched. Each sample goes to ``to_address`` only: the envelope,
    and the To header, name it alone (Cc and Bcc are removed, so the real addressees
    cannot receive it). Its subject starts with ``[TEST] ``, it gets a Message-ID of its
    own (so that it can never be taken for the real letter, which keeps the mailing's
    Message-ID), and an ``X-Dispatch-Sample-Of`` header names whom the letter is for.

    ``outgoings`` may be a function making the messages: it is called once the relay
    answered, so that a wrong relay setting is reported before any PDF is made.
    """
    test_address = checked_test_address(to_address)
    if not callable(outgoings) and not outgoings:
        return []
    local_hostname = settings.local_hostname or await asyncio.to_thread(socket.getfqdn)
    smtp = await connect(settings, local_hostname)
    results: list[SampleResult] = []
    try:
        samples = sample_choice(outgoings() if callable(outgoings) else outgoings)
        for language, message in samples.items():
            data = sample_of(message, test_address)
            try:
                _, reply = await smtp.sendmail(
                    message.sender, [test_address], data, timeout=settings.timeout
                )
            except SMTPRecipientsRefused as error:
                first = error.recipients[0]
                results.append(
                    SampleResult(
                        language, message.key, test_address, False, first.code, first.message
                    )
                )
            except SMTPResponseException as error:
                results.append(
                    SampleResult(
                        language, message.key, test_address, False, error.code, error.message
                    )
                )
            except (SMTPServerDisconnected, SMTPTimeoutError) as error:
                raise SendError(
                    f"{settings.address}: the connection to the relay was lost while the "
                    f"{language} sample was sent ({error}); it may or may not arrive. "
                    "Run the command again."
                ) from None
            else:
                results.append(SampleResult(language, message.key, test_address, True, 250, reply))
    finally:
        await quit_politely(smtp, settings.timeout)
    return results


def sample_choice(outgoings: Sequence[Outgoing]) -> dict[str, Outgoing]:
    """The message sent as a sample of each language: the first one in that language."""
    samples: dict[str, Outgoing] = {}
    for message in outgoings:
        samples.setdefault(message.language, message)
    return samples


def send_samples_sync(
    outgoings: Sequence[Outgoing] | Callable[[], Sequence[Outgoing]],
    settings: SmtpSettings,
    to_address: str,
) -> list[SampleResult]:
    """Run :func:`send_samples` in a new event loop, for the command line."""
    return asyncio.run(send_samples(outgoings, settings, to_address))


def sample_of(message: Outgoing, to_address: str) -> bytes:
    """The bytes of ``message`` re-addressed to ``to_address`` as a test sample."""
    parsed = BytesParser(policy=policy.SMTP).parsebytes(message.payload())
    original = [str(v) for name in ("To", "Cc") for v in parsed.get_all(name, [])]
    subject = str(parsed.get("Subject", ""))
    for name in ("To", "Cc", "Bcc", "Subject", "Message-ID", "X-Dispatch-Sample-Of"):
        del parsed[name]
    parsed["To"] = to_address
    parsed["Subject"] = f"[TEST] {subject}"
    domain = message.sender.rpartition("@")[2] or None
    parsed["Message-ID"] = make_msgid("dispatch-sample", domain=domain)
    parsed["X-Dispatch-Sample-Of"] = ", ".join(original) or message.key
    return parsed.as_bytes(policy=policy.SMTP)


def checked_test_address(text: str) -> str:
    """``text`` as one e-mail address; :class:`InvalidInput` if it is not one."""
    _name, address = parseaddr(text)
    problem: str | None = None
    if not address or address != text.strip() or "@" not in address:
        problem = "is not a single e-mail address"
    else:
        try:
            Address(addr_spec=address)
        except (ValueError, IndexError):
            problem = "is not a valid e-mail address"
    if problem is not None:
        raise InvalidInput(
            [
                Problem(
                    Location(field="test address"),
                    problem,
                    "Give one address, like you@example.org.",
                    value=text,
                )
            ]
        )
    return address
