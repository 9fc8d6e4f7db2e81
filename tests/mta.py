"""Real mail servers for the tests, each its own instance in a temporary folder on 127.0.0.1.

- :class:`Postfix` (Debian's package) as the relay a secretariat really has: it listens on
  127.0.0.1 on a free port, relays to a test sink (aiosmtpd), enforces its own limits
  (``message_size_limit`` → 552, ``smtpd_client_message_rate_limit`` via anvil → 4xx),
  and delivers locally: a message to an unknown user of the local test domain
  (``bounces.example.org``) comes back to the sender as a REAL delivery status
  notification, written by Postfix's bounce daemon into the sender's Maildir.
- :class:`Dovecot` (Debian's dovecot-imapd) serving that same Maildir over IMAP, with
  STARTTLS and TLS on a self-signed certificate, PLAIN and XOAUTH2 logins.

Neither touches the system's instance: each has its own configuration, queue, state and
log folders under one temporary folder, and listens on 127.0.0.1 only; nothing listens
on 25 or 143. Both master processes run as root (as on any server) and are stopped at
teardown. Postfix accepts ``postfix -c DIR start`` for a configuration directory other
than /etc/postfix when run by root (``alternate_config_directories`` only matters to
other users), so no system file is changed.

The fixtures are registered for every test file by an import in ``tests/conftest.py``;
tests that use them are marked ``mta`` (``make test-mta``).
"""

from __future__ import annotations

import mailbox
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.smtp_server import Sink, self_signed_certificate

LOCAL_DOMAIN = "bounces.example.org"  # unknown users here bounce, with a real DSN
MAIL_UID = 8  # Debian's "mail" user owns the Maildirs: Dovecot refuses uid 0 for mail
MAIL_GID = 8


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: str, log: Callable[[], str], timeout: float = 15) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{process} did not listen on 127.0.0.1:{port} within {timeout} s; "
                    f"its log:\n{log()}"
                ) from None
            time.sleep(0.05)


def require(program: str) -> str:
    """The path of ``program``; fail (not skip) saying how to install it."""
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin:/sbin")
    if path is None:
        pytest.fail(
            f"{program} is not installed: run scripts/system-deps.sh as root "
            "(it installs postfix and dovecot-imapd)."
        )
    if os.geteuid() != 0:
        pytest.fail(f"the {program} test instance must be started as root (as CI runs).")
    return path


@dataclass
class MailRoot:
    """A temporary folder that Postfix's and Dovecot's unprivileged users may traverse.

    pytest's ``tmp_path`` is private to root (0700), so the servers' own users (postfix,
    mail, dovenull) could not reach a Maildir there.
    """

    path: Path

    def maildir(self, user: str) -> Path:
        """The Maildir of ``user``, as both Postfix and Dovecot see it."""
        return self.path / "mail" / user / "Maildir"

    def deliver(self, user: str, raw: bytes) -> None:
        """Put ``raw`` into ``user``'s Maildir as a delivery agent would (owned by mail)."""
        folder = self.maildir(user)
        folder.parent.mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(folder, create=True)
        box.add(raw)
        box.close()
        for path in (self.path / "mail", *(self.path / "mail").rglob("*")):
            os.chown(path, MAIL_UID, MAIL_GID)

    def wait_for_messages(self, user: str, count: int, timeout: float = 20) -> list[bytes]:
        """The messages of ``user``'s Maildir once it holds at least ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            folder = self.maildir(user)
            found: list[bytes] = []
            if (folder / "new").is_dir():
                box = mailbox.Maildir(folder, create=False)
                found = [box.get_bytes(key) for key in sorted(box.keys())]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@dataclass
class Postfix:
    """A Postfix instance of its own (see the module's docstring)."""

    root: MailRoot
    relay_port: int  # where mail for other domains goes: the test sink
    mailboxes: dict[str, str] = field(
        default_factory=lambda: {"secretariat@example.org": "tsb", "tsb@example.org": "tsb"}
    )
    message_size_limit: int = 10_240_000
    client_message_rate_limit: int = 0  # messages per client per minute; 0: no limit
    rate_time_unit: int = 60  # seconds over which the rate limit counts
    port: int = field(default_factory=free_port)

    @property
    def config(self) -> Path:
        return self.root.path / "postfix" / "etc"

    @property
    def log_file(self) -> Path:
        return self.root.path / "postfix" / "maillog"

    def log(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else "(no log yet)"

    def start(self) -> Postfix:
        postfix = require("postfix")
        home = self.root.path / "postfix"
        for name in ("etc", "queue", "data"):
            (home / name).mkdir(parents=True, exist_ok=True)
        shutil.chown(home / "data", "postfix")
        mail = self.root.path / "mail"
        mail.mkdir(exist_ok=True)
        os.chown(mail, MAIL_UID, MAIL_GID)  # the virtual agent delivers as this user
        mailboxes = "".join(f"{a} {user}/Maildir/\n" for a, user in self.mailboxes.items())
        (self.config / "vmailbox").write_text(mailboxes)
        # Mailboxes outside the local domain reach the virtual agent through transport_maps.
        transport = "".join(
            f"{a} virtual:\n" for a in self.mailboxes if not a.endswith("@" + LOCAL_DOMAIN)
        )
        (self.config / "transport").write_text(transport)
        (self.config / "main.cf").write_text(
            _MAIN_CF.format(
                home=home,
                mail=self.root.path / "mail",
                relay_port=self.relay_port,
                local_domain=LOCAL_DOMAIN,
                uid=MAIL_UID,
                gid=MAIL_GID,
                size=self.message_size_limit,
                rate=self.client_message_rate_limit,
                unit=self.rate_time_unit,
            )
        )
        (self.config / "master.cf").write_text(_MASTER_CF.format(port=self.port))
        done = subprocess.run(
            [postfix, "-c", str(self.config), "start"], capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise RuntimeError(f"postfix start failed: {done.stderr}\n{self.log()}")
        wait_for_port(self.port, "Postfix", self.log)
        return self

    def stop(self) -> None:
        """Stop the master we started (SIGTERM, as `postfix stop` does, without its waits)."""
        pid_file = self.root.path / "postfix" / "queue" / "pid" / "master.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        _wait_gone(pid, timeout=10)


_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {home}/queue
data_directory = {home}/data
maillog_file = {home}/maillog
maillog_file_prefixes = {home}
syslog_name = postfix-dispatch-test
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.example.org
mydomain = example.org
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost = [127.0.0.1]:{relay_port}
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_tls_security_level = none
alias_maps =
alias_database =
local_recipient_maps =
biff = no
virtual_mailbox_domains = {local_domain}
virtual_mailbox_base = {mail}
virtual_mailbox_maps = texthash:{home}/etc/vmailbox
transport_maps = texthash:{home}/etc/transport
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = {uid}
# Accept mail for unknown local users, so that the bounce comes as a DSN, not a 550.
smtpd_reject_unlisted_recipient = no
message_size_limit = {size}
smtpd_client_message_rate_limit = {rate}
anvil_rate_time_unit = {unit}s
# By default clients in mynetworks are exempt from the rate limits; the test's are not.
smtpd_client_event_limit_exceptions =
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""

_MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup     unix  n - n 60   1 pickup
cleanup    unix  n - n -    0 cleanup
qmgr       unix  n - n 300  1 qmgr
rewrite    unix  - - n -    - trivial-rewrite
bounce     unix  - - n -    0 bounce
defer      unix  - - n -    0 bounce
trace      unix  - - n -    0 bounce
verify     unix  - - n -    1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -    - proxymap
proxywrite unix  - - n -    1 proxymap
smtp       unix  - - n -    - smtp
relay      unix  - - n -    - smtp
showq      unix  n - n -    - showq
error      unix  - - n -    - error
retry      unix  - - n -    - error
discard    unix  - - n -    - discard
virtual    unix  - n n -    - virtual
anvil      unix  - - n -    1 anvil
scache     unix  - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
"""


@dataclass
class Dovecot:
    """A Dovecot IMAP server of its own, over the Maildirs of ``root``.

    ``users`` maps a user to a password (or an OAuth2 token: Dovecot checks an XOAUTH2
    token against the passdb as it does a password). ``port`` offers STARTTLS (and
    plain login, for loopback tests), ``tls_port`` is IMAP over TLS.
    """

    root: MailRoot
    users: dict[str, str] = field(default_factory=lambda: {"tsb": "s3cret"})
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    certificate: tuple[Path, Path] | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def home(self) -> Path:
        return self.root.path / "dovecot"

    def log(self) -> str:
        log = self.home / "dovecot.log"
        return log.read_text() if log.exists() else "(no log yet)"

    def start(self) -> Dovecot:
        dovecot = require("dovecot")
        for name in ("run", "state"):
            (self.home / name).mkdir(parents=True, exist_ok=True)
        self.certificate = self_signed_certificate(self.home)
        passwd = "".join(f"{user}:{{PLAIN}}{secret}::::::\n" for user, secret in self.users.items())
        (self.home / "passwd").write_text(passwd)
        (self.home / "passwd").chmod(0o600)
        shutil.chown(self.home / "passwd", "dovecot")  # Dovecot's auth process reads it
        mail = self.root.path / "mail"
        mail.mkdir(exist_ok=True)
        os.chown(mail, MAIL_UID, MAIL_GID)
        for user in self.users:
            for sub in ("cur", "new", "tmp"):
                (mail / user / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
            for path in (mail / user, *(mail / user).rglob("*")):
                os.chown(path, MAIL_UID, MAIL_GID)
        conf = self.home / "dovecot.conf"
        conf.write_text(
            _DOVECOT_CONF.format(
                home=self.home,
                mail=mail,
                port=self.port,
                tls_port=self.tls_port,
                cert=self.certificate[0],
                key=self.certificate[1],
                uid=MAIL_UID,
            )
        )
        with (self.home / "stderr.log").open("wb") as stderr:
            self.process = subprocess.Popen(
                [dovecot, "-c", str(conf), "-F"], stdout=subprocess.DEVNULL, stderr=stderr
            )
        try:
            wait_for_port(self.port, "Dovecot", self._logs)
            wait_for_port(self.tls_port, "Dovecot", self._logs)
        except RuntimeError:
            self.stop()
            raise
        return self

    def _logs(self) -> str:
        return self.log() + (self.home / "stderr.log").read_text()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


_DOVECOT_CONF = """\
base_dir = {home}/run
state_dir = {home}/state
log_path = {home}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
first_valid_uid = {uid}
last_valid_uid = {uid}
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {home}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={mail}/%u
}}
mail_location = maildir:{mail}/%u/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # No growing delay after failed logins: the refusal tests fail logins on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)  # the Postfix master we started, by its own pid file


@contextmanager
def temporary_mail_root() -> Iterator[MailRoot]:
    """A temporary folder for the servers' configuration, queues and Maildirs."""
    path = Path(tempfile.mkdtemp(prefix="dispatch-mta-"))
    path.chmod(0o755)
    try:
        yield MailRoot(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def mail_root() -> Iterator[MailRoot]:
    """A temporary folder for the servers' configuration, queues and Maildirs."""
    with temporary_mail_root() as root:
        yield root


@pytest.fixture
def mta_sink() -> Iterator[Sink]:
    """The test sink Postfix relays to (aiosmtpd on 127.0.0.1)."""
    with Sink() as sink:
        yield sink


@pytest.fixture
def make_postfix(mail_root: MailRoot, mta_sink: Sink) -> Iterator[Callable[..., Postfix]]:
    """Start a Postfix relaying to ``mta_sink``, with the limits given; stopped at teardown.

    For example ``relay = make_postfix(message_size_limit=50_000, client_message_rate_limit=20)``
    in a test that takes the fixture.
    """
    started: list[Postfix] = []

    def make(**options: int) -> Postfix:
        relay = Postfix(mail_root, mta_sink.port, **options)  # type: ignore[arg-type]
        started.append(relay)
        return relay.start()

    yield make
    for relay in started:
        relay.stop()


@pytest.fixture
def postfix_relay(make_postfix: Callable[..., Postfix]) -> Postfix:
    """A Postfix with the default limits, relaying to ``mta_sink``."""
    return make_postfix()


@pytest.fixture
def dovecot(mail_root: MailRoot) -> Iterator[Dovecot]:
    """Dovecot serving ``mail_root``'s Maildirs on 127.0.0.1 (user tsb, password s3cret)."""
    server = Dovecot(mail_root).start()
    try:
        yield server
    finally:
        server.stop()
