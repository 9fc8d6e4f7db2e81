"""A real SMTP server for the sending tests, and the messages to feed it.

:class:`Sink` runs aiosmtpd on 127.0.0.1, on a port the system picks, in a thread.
Its :class:`RecordingHandler` keeps every envelope and the exact bytes received, and
misbehaves as its :class:`Faults` say: refusing or deferring recipients, deferring or
refusing a message's content, dropping the connection after the content (before the
final reply), answering slowly, refusing the sender, refusing a login, or going down.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from dispatch.journal import Journal
from dispatch.outgoing import Outgoing
from dispatch.settings import SmtpSettings

SENDER = "secretariat@example.org"


@dataclass
class Faults:
    """How the server misbehaves. Counts are "this many times, then behave"."""

    refuse_rcpt: set[str] = field(default_factory=set)  # 550 at RCPT TO
    defer_rcpt: dict[str, int] = field(default_factory=dict)  # 451 at RCPT TO
    defer_every: int = 0  # 451 after the content of every n-th message received
    defer_data: dict[str, int] = field(default_factory=dict)  # by Message-ID: 451
    reject_data: set[str] = field(default_factory=set)  # by Message-ID: 554
    drop_after_data: dict[str, int] = field(default_factory=dict)  # by Message-ID
    drop_at_mail: int = 0  # close the connection at MAIL FROM, this many times
    slow_mail: int = 0  # answer MAIL FROM only after `slowness` seconds, this many times
    slowness: float = 1.0
    delay_final_reply: dict[str, float] = field(default_factory=dict)  # by Message-ID
    refuse_sender: bool = False  # 550 at MAIL FROM
    down: bool = False  # new connections get 421 at once; MAIL FROM gets 421
    max_connections: int = 0  # more connections at once than this get 421 (0: no limit)


@dataclass(frozen=True)
class Received:
    """One message content the server read in full, and whether it accepted it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message_id: str
    accepted: bool  # the server answered 250 to the content


class RecordingHandler:
    """aiosmtpd handler: records what arrives, misbehaves as ``faults`` says."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.received: list[Received] = []
        self.quits = 0
        self.mails = 0
        self.open_sessions = 0
        self.accepted_after: int | None = None  # go down after this many acceptances
        # Called with each message's Message-ID once its whole content has arrived.
        self.on_content: Callable[[str], None] | None = None
        self._data_count = 0
        self._lock = threading.Lock()

    def reset(self, faults: Faults | None = None) -> None:
        with self._lock:
            self.faults = faults or Faults()
            self.received = []
            self.quits = 0
            self.mails = 0
            self.accepted_after = None
            self._data_count = 0

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.mails += 1
        faults = self.faults
        if faults.down:
            return "421 4.3.2 Service shutting down"
        if faults.drop_at_mail > 0:
            faults.drop_at_mail -= 1
            return await _drop(server)
        if faults.slow_mail > 0:
            faults.slow_mail -= 1
            await asyncio.sleep(faults.slowness)
        if faults.refuse_sender:
            return "550 5.7.1 Sender not allowed"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        faults = self.faults
        if address in faults.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if faults.defer_rcpt.get(address, 0) > 0:
            faults.defer_rcpt[address] -= 1
            return "451 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        faults = self.faults
        data = envelope.original_content or b""
        message_id = _message_id(data)
        self._data_count += 1
        if self.on_content is not None:
            self.on_content(message_id)

        with self._lock:  # read in full: recorded at once, accepted or not
            index = len(self.received)
            self.received.append(
                Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), data, message_id, False)
            )
        if faults.drop_after_data.get(message_id, 0) > 0:
            faults.drop_after_data[message_id] -= 1
            return await _drop(server)
        if faults.defer_every and self._data_count % faults.defer_every == 0:
            return "451 4.3.0 Temporary local problem, try again"
        if faults.defer_data.get(message_id, 0) > 0:
            faults.defer_data[message_id] -= 1
            return "451 4.3.0 Temporary local problem, try again"
        if message_id in faults.reject_data:
            return "554 5.7.1 Message content rejected"
        delay = faults.delay_final_reply.pop(message_id, 0.0)
        if delay:  # cancelled by aiosmtpd if the client hangs up first: never accepted
            await asyncio.sleep(delay)
        with self._lock:
            self.received[index] = replace(self.received[index], accepted=True)
        if self.accepted_after is not None:
            self.accepted_after -= 1
            if self.accepted_after <= 0:
                faults.down, self.accepted_after = True, None
        return f"250 2.0.0 Ok: queued as Q{self._data_count}"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.quits += 1
        return "221 2.0.0 Bye"

    # -- what the tests look at ------------------------------------------------------

    def accepted_count(self) -> Counter[str]:
        """How many times the server accepted each Message-ID."""
        with self._lock:
            return Counter(r.message_id for r in self.received if r.accepted)

    def received_count(self) -> Counter[str]:
        """How many times the server read each Message-ID in full, accepted or not."""
        with self._lock:
            return Counter(r.message_id for r in self.received)

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.accepted]


async def _drop(server: SMTP) -> str:
    """Close the connection without a reply, and wait to be cancelled by aiosmtpd."""
    assert server.transport is not None
    server.transport.close()
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def _message_id(data: bytes) -> str:
    for line in data.split(b"\r\n"):
        if not line:
            break
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    return ""


class _SinkSMTP(SMTP):
    """aiosmtpd's SMTP, turning clients away with a 421 greeting while the sink is down."""

    async def _handle_client(self) -> None:
        handler = self.event_handler
        assert isinstance(handler, RecordingHandler)
        handler.open_sessions += 1
        try:
            faults = handler.faults
            crowded = faults.max_connections and handler.open_sessions > faults.max_connections
            if faults.down or crowded:
                await self.push("421 4.3.2 sink.example.org Service not available")
                assert self.transport is not None
                self.transport.close()
                return
            await super()._handle_client()
        finally:
            handler.open_sessions -= 1


class Sink(Controller):
    """aiosmtpd on 127.0.0.1 and a port picked by the system; a context manager.

    ``tls`` is ``None``, ``"starttls"`` (offered, and required) or ``"tls"`` (at once),
    with ``certificate`` a (cert file, key file) pair. ``authenticator`` turns on AUTH.
    """

    def __init__(
        self,
        handler: RecordingHandler | None = None,
        *,
        tls: str | None = None,
        certificate: tuple[Path, Path] | None = None,
        authenticator: Any = None,
        auth_require_tls: bool = True,
    ) -> None:
        self.recorder = handler or RecordingHandler()
        server_context: ssl.SSLContext | None = None
        if tls is not None:
            assert certificate is not None
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_context.load_cert_chain(*certificate)
        kwargs: dict[str, Any] = {}
        if tls == "starttls":
            kwargs.update(tls_context=server_context, require_starttls=True)
        if authenticator is not None:
            kwargs.update(authenticator=authenticator, auth_require_tls=auth_require_tls)
        super().__init__(
            self.recorder,
            hostname="127.0.0.1",
            port=0,
            ssl_context=server_context if tls == "tls" else None,
            server_hostname="sink.example.org",
            ready_timeout=5.0,
            **kwargs,
        )
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session = _SinkSMTP(self.handler, **self.SMTP_kwargs)
        self.sessions.append(session)
        return session

    def _create_server(self) -> Any:
        create = super()._create_server()

        async def bind_and_learn_port() -> asyncio.Server:
            server = cast(asyncio.Server, await create)
            self.port = server.sockets[0].getsockname()[1]
            return server

        return bind_and_learn_port()

    def __enter__(self) -> Sink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connections(self) -> int:
        """Connections made by clients (not counting the controller's own check)."""
        return len(self.sessions) - 1

    def open_connections(self, wait: float = 2.0) -> int:
        """Connections still open, after waiting up to ``wait`` s for them to close."""
        deadline = time.monotonic() + wait
        while True:
            still = sum(1 for s in self.sessions if s.transport is not None)
            if still == 0 or time.monotonic() > deadline:
                return still
            time.sleep(0.01)

    def settings(self, **changes: Any) -> SmtpSettings:
        """Settings reaching this sink, quick to fail: tests set tiny timeouts."""
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "timeout": 0.5,
            "backoff": 0.005,
            "retries": 3,
            "concurrency": 4,
            "local_hostname": "client.example.org",
        }
        values.update(changes)
        return SmtpSettings(**values)


def accepting_only(user: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting one user name and password."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data == LoginPassword(
            user.encode(), password.encode()
        )
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    return authenticate


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, its own CA; returns (cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dispatch test relay")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "relay-cert.pem", folder / "relay-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


# -- messages --------------------------------------------------------------------------

_SUBJECTS = {"fr": "Réunion à Genève", "en": "Meeting in Geneva"}
_BODIES = {
    "fr": "Madame, Monsieur,\n\nNous avons l'honneur de vous inviter à la réunion "
    "du comité, à Genève.\n.\n.Une ligne qui commence par un point.\n",
    "en": "Dear Sir or Madam,\n\nWe have the honour to invite you to the committee's "
    "meeting in Geneva.\n.\n.A line that starts with a dot.\n",
}


def address(n: int) -> str:
    return f"invite{n:05d}@example.org"


def outgoing(
    n: int, *, language: str = "fr", cc: tuple[str, ...] = (), to: str | None = None
) -> Outgoing:
    """The invitation for addressee ``n``, built as dispatch.message would."""
    to = to or address(n)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = f"Secrétariat du comité <{SENDER}>"
    message["To"] = to
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = _SUBJECTS[language]
    message["Message-ID"] = f"<invitation-2025.{n:05d}@example.org>"
    body = _BODIES[language]
    message.set_content(body)
    digest = hashlib.sha256("\n".join([to, *cc, _SUBJECTS[language], body]).encode()).hexdigest()
    message["Date"] = format_datetime(datetime.datetime.now(datetime.UTC))
    return Outgoing(
        key=to.lower(),
        message_id=str(message["Message-ID"]),
        sender=SENDER,
        recipients=(to, *cc),
        data=message.as_bytes(policy=policy.SMTP),
        digest=digest,
        language=language,
        categories=("member",),
    )


def mailing(count: int, *, languages: tuple[str, ...] = ("fr", "en")) -> list[Outgoing]:
    return [outgoing(n, language=languages[n % len(languages)]) for n in range(count)]


def assert_consistent(
    journal: Journal, handler: RecordingHandler, messages: list[Outgoing]
) -> None:
    """Nobody got a message twice, and each journal state matches what the server saw.

    ``sent``: the server accepted it once. ``unknown``: the server read it in full and
    the client never learned the outcome (so at most one acceptance). Any other
    state: the server never accepted it.
    """
    accepted = handler.accepted_count()
    received = handler.received_count()
    duplicates = {mid: n for mid, n in accepted.items() if n > 1}
    assert not duplicates, f"accepted more than once: {duplicates}"
    rows = {row.key: row for row in journal.rows()}
    for message in messages:
        row = rows.get(message.key)
        state = row.state if row else "not planned"
        seen = accepted[message.message_id]
        if state == "sent":
            assert seen == 1, f"{message.key} is sent in the journal, server accepted {seen}"
        elif state == "unknown":
            assert received[message.message_id] >= 1, f"{message.key} unknown, never sent"
        else:
            assert seen == 0, f"{message.key} is {state} but the server accepted it"
        assert state != "sending", f"{message.key} left sending"
