"""Signing in to the relay: XOAUTH2 with a token command, the password from the system
keyring or from a command, against a real aiosmtpd server; the secret is never shown."""

from __future__ import annotations

import base64
import os
import shlex
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from aiosmtpd.smtp import SMTP, AuthResult
from keyring.backend import KeyringBackend

from dispatch import paths
from dispatch.delivery.schedule import deliver_sync
from dispatch.delivery.signin import KEYRING_SERVICE, credentials
from dispatch.errors import InvalidInput, RelayError
from dispatch.journal import Journal
from dispatch.settings import SmtpSettings, load_settings
from tests.conftest import WorkbookFactory
from tests.helpers import run, use_relay
from tests.smtp_server import RecordingHandler, Sink, accepting_only, mailing

TOKEN = "ya29.a0-fresh-access-token-never-shown"
PASSWORD = "keyring-Pa55word-never-shown"
USER = "mailer@example.org"


class OAuthHandler(RecordingHandler):
    """A relay that takes XOAUTH2 like Microsoft 365 and Google Workspace: on a bad token
    it sends a JSON challenge, and answers 535 to the client's empty reply."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.signed_in: list[str] = []

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        decoded = base64.b64decode(args[1]).decode()
        fields = dict(part.split("=", 1) for part in decoded.split("\x01") if part)
        if fields.get("auth") == f"Bearer {self.token}":
            self.signed_in.append(fields["user"])
            return AuthResult(success=True, auth_data=fields["user"])
        await server.challenge_auth('{"status":"401","schemes":"bearer"}')
        return AuthResult(success=False, handled=False)


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps its passwords in memory, for the tests."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def command(tmp_path: Path, body: str, name: str = "helper.py") -> str:
    """A command line running a small Python script (a fake token or password helper)."""
    script = tmp_path / name
    script.write_text(body, encoding="utf-8")
    return shlex.join([sys.executable, str(script)])


def printing(tmp_path: Path, secret: str) -> str:
    return command(tmp_path, f"print({secret!r})\n")


def oauth_sink(token: str = TOKEN) -> Sink:
    return Sink(
        OAuthHandler(token),
        authenticator=accepting_only("nobody", "nothing"),
        auth_require_tls=False,
    )


def journal_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


# -- XOAUTH2 with a token command -------------------------------------------------------


def test_a_token_from_the_token_command_signs_in_with_xoauth2(
    tmp_path: Path, journal: Journal
) -> None:
    with oauth_sink() as sink:
        settings = sink.settings(user=USER, token_command=printing(tmp_path, TOKEN))
        summary = deliver_sync(mailing(3), settings, journal)
        handler = sink.recorder
        assert isinstance(handler, OAuthHandler)
        assert summary.sent == 3
        assert handler.signed_in and set(handler.signed_in) == {USER}
        assert len(handler.accepted()) == 3


def test_a_refused_token_is_exit_3_and_names_the_token_command_not_the_token(
    tmp_path: Path, journal: Journal
) -> None:
    with oauth_sink(token="the-right-one") as sink:
        settings = sink.settings(user=USER, token_command=printing(tmp_path, TOKEN))
        with pytest.raises(RelayError) as refused:
            deliver_sync(mailing(2), settings, journal)
        assert sink.recorder.mails == 0
    text = str(refused.value)
    assert refused.value.exit_code == 3
    assert f"the relay refused the login of user '{USER}' (535" in text
    assert "the token command gives a token for this user" in text
    assert TOKEN not in text
    assert journal.rows() == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "import sys\nsys.stderr.write('refresh token expired\\n')\nsys.exit(2)\n",
            "failed with exit status 2 (refresh token expired). Run it yourself",
        ),
        ("pass\n", "printed nothing. It should print the secret on its output."),
    ],
    ids=["exit-status", "no-output"],
)
def test_a_failing_token_command_is_a_clear_error_and_nothing_is_sent(
    tmp_path: Path, journal: Journal, body: str, expected: str
) -> None:
    with oauth_sink() as sink:
        settings = sink.settings(user=USER, token_command=command(tmp_path, body))
        with pytest.raises(RelayError) as failed:
            deliver_sync(mailing(2), settings, journal)
        assert sink.recorder.mails == 0
    assert failed.value.exit_code == 3
    assert str(failed.value).startswith("the token_command (")
    assert expected in str(failed.value)
    assert journal.rows() == []


def test_a_token_command_that_does_not_exist_says_so(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        {
            "DISPATCH_SMTP_HOST": "relay.example.org",
            "DISPATCH_SMTP_USER": USER,
            "DISPATCH_SMTP_TOKEN_COMMAND": f"{tmp_path}/no-such-helper --account mailer",
        },
    )
    with pytest.raises(RelayError, match=r"the program '.*no-such-helper' was not found"):
        credentials(settings)


# -- the password from the keyring or from a command ----------------------------------


def test_the_password_from_the_system_keyring_signs_in(
    memory_keyring: MemoryKeyring, journal: Journal
) -> None:
    with Sink(authenticator=accepting_only(USER, PASSWORD), auth_require_tls=False) as sink:
        memory_keyring.set_password(KEYRING_SERVICE, f"{USER}@127.0.0.1", PASSWORD)
        summary = deliver_sync(mailing(2), sink.settings(user=USER, keyring=True), journal)
        assert summary.sent == 2
    assert PASSWORD.encode() not in journal_bytes(journal.path)


def test_a_password_missing_from_the_keyring_says_how_to_store_it(
    memory_keyring: MemoryKeyring, journal: Journal
) -> None:
    with (
        Sink(authenticator=accepting_only(USER, PASSWORD), auth_require_tls=False) as sink,
        pytest.raises(RelayError) as missing,
    ):
        deliver_sync(mailing(1), sink.settings(user=USER, keyring=True), journal)
    assert str(missing.value) == (
        'the system keyring has no password for service "dispatch", name '
        f'"{USER}@127.0.0.1". Store it with: keyring set dispatch {USER}@127.0.0.1'
    )
    assert missing.value.exit_code == 3


def test_the_password_from_a_command_signs_in(tmp_path: Path, journal: Journal) -> None:
    with Sink(authenticator=accepting_only(USER, PASSWORD), auth_require_tls=False) as sink:
        settings = sink.settings(user=USER, password_command=printing(tmp_path, PASSWORD))
        assert PASSWORD not in repr(settings)
        summary = deliver_sync(mailing(2), settings, journal)
        assert summary.sent == 2


# -- settings ---------------------------------------------------------------------------


def test_the_sign_in_settings_come_from_the_environment() -> None:
    settings = load_settings(
        None,
        {
            "DISPATCH_SMTP_HOST": "smtp.office365.com",
            "DISPATCH_SMTP_USER": USER,
            "DISPATCH_SMTP_TOKEN_COMMAND": "oauth2-token --account mailer",
        },
    )
    assert settings.token_command == "oauth2-token --account mailer"
    assert settings.sign_in_sources() == ["token_command"]
    keyed = load_settings(
        None,
        {"DISPATCH_SMTP_HOST": "relay", "DISPATCH_SMTP_USER": USER, "DISPATCH_SMTP_KEYRING": "1"},
    )
    assert keyed.keyring is True


def test_two_ways_to_sign_in_or_one_without_a_user_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as both:
        load_settings(
            None,
            {
                "DISPATCH_SMTP_HOST": "relay.example.org",
                "DISPATCH_SMTP_USER": USER,
                "DISPATCH_SMTP_PASSWORD": PASSWORD,
                "DISPATCH_SMTP_KEYRING": "true",
            },
        )
    assert [str(p) for p in both.value.problems] == [
        "the SMTP settings: give more than one way to sign in (password, keyring). "
        "Keep one of them."
    ]
    settings_file = tmp_path / "relay.toml"
    settings_file.write_text(
        '[smtp]\nhost = "relay.example.org"\ntoken_command = "oauth2-token"\n', encoding="utf-8"
    )
    with pytest.raises(InvalidInput) as alone:
        load_settings(settings_file, {})
    assert [str(p) for p in alone.value.problems] == [
        "relay.toml, field smtp.token_command: is set but the user is not. "
        "Set DISPATCH_SMTP_USER too, or neither."
    ]


# -- the command, as a user runs it -------------------------------------------------------


def test_send_with_a_token_command_never_shows_the_token(
    tmp_path: Path,
    make_mailing: Callable[..., Path],
    make_workbook: WorkbookFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailing_path, workbook = make_mailing(), make_workbook()
    with oauth_sink() as sink:
        more = {
            "DISPATCH_SMTP_USER": USER,
            "DISPATCH_SMTP_TOKEN_COMMAND": printing(tmp_path, TOKEN),
        }
        use_relay(monkeypatch, sink.port, more)
        code, out, err = run("send", mailing_path, "--contacts", workbook, "--yes", "--verbose")
        assert code == 0, err
        assert len(sink.recorder.accepted()) == 4
    assert TOKEN not in out + err
    journal_file = paths.journal_path(mailing_path.parent)
    assert TOKEN.encode() not in journal_bytes(journal_file)


def test_send_with_a_failing_token_command_exits_3(
    tmp_path: Path,
    make_mailing: Callable[..., Path],
    make_workbook: WorkbookFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailing_path, workbook = make_mailing(), make_workbook()
    with oauth_sink() as sink:
        failing = command(tmp_path, "raise SystemExit(1)\n")
        more = {"DISPATCH_SMTP_USER": USER, "DISPATCH_SMTP_TOKEN_COMMAND": failing}
        use_relay(monkeypatch, sink.port, more)
        code, _, stderr = run("send", str(mailing_path), "--contacts", str(workbook), "--yes")
        assert sink.recorder.mails == 0
    assert code == 3, stderr
    assert "the token_command (" in stderr
    assert "failed with exit status 1" in stderr


def test_the_keyring_not_installed_says_how_to_install_it(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # keyring is an extra (pip install 'dispatch[keyring]'): hidden here as if absent.
    monkeypatch.setitem(sys.modules, "keyring", None)
    monkeypatch.setitem(sys.modules, "keyring.errors", None)
    with (
        Sink(authenticator=accepting_only(USER, PASSWORD), auth_require_tls=False) as sink,
        pytest.raises(RelayError) as raised,
    ):
        deliver_sync(mailing(1), sink.settings(user=USER, keyring=True), journal)
    assert str(raised.value).startswith(
        "keyring = true asks for the system keyring, and the keyring package is not "
        "installed. Install it with pip install 'dispatch[keyring]' (or, installed with "
        "pipx: pipx inject dispatch keyring)"
    )
    assert sink.recorder.received == []


# -- hardening: what a helper prints, how it ends, and where a secret may go -------------


def counting(tmp_path: Path, then: str) -> str:
    """A token command that prints the token the first time, then runs ``then``."""
    runs = tmp_path / "runs"
    return command(
        tmp_path,
        "import pathlib, sys\n"
        f"runs = pathlib.Path({str(runs)!r})\n"
        "n = int(runs.read_text()) if runs.exists() else 0\n"
        "runs.write_text(str(n + 1))\n"
        f"if n == 0:\n    print({TOKEN!r})\nelse:\n{textwrap.indent(then, '    ')}",
        name="refreshing.py",
    )


NOT_UTF8 = "sys.stdout.buffer.write(b'ya29.\\xff\\xfe-token\\n')\n"
EXPIRED = "sys.stderr.write('refresh token expired\\n')\nsys.exit(1)\n"


def test_a_token_command_printing_bytes_that_are_not_utf8_is_a_clear_error(
    tmp_path: Path, journal: Journal
) -> None:
    with oauth_sink() as sink:
        helper = command(tmp_path, "import sys\n" + NOT_UTF8)
        settings = sink.settings(user=USER, token_command=helper)
        with pytest.raises(RelayError) as failed:
            deliver_sync(mailing(2), settings, journal)
        assert sink.recorder.mails == 0
    assert str(failed.value) == (
        f"the token_command ({Path(sys.executable).name} …) printed bytes that are not "
        "UTF-8 text (byte 6 of 14). It should print the secret alone, as text."
    )
    assert failed.value.exit_code == 3


@pytest.mark.parametrize(
    ("then", "why"),
    [
        (NOT_UTF8, "printed bytes that are not UTF-8 text"),
        (EXPIRED, "failed with exit status 1 (refresh token expired)"),
    ],
    ids=["not-utf8", "exit-status"],
)
def test_a_token_refresh_failing_mid_run_says_what_was_sent_and_what_was_not(
    tmp_path: Path,
    make_mailing: Callable[..., Path],
    make_workbook: WorkbookFactory,
    monkeypatch: pytest.MonkeyPatch,
    then: str,
    why: str,
) -> None:
    mailing_path, workbook = make_mailing(), make_workbook()
    relay = tmp_path / "relay.toml"
    relay.write_text(  # a new connection (and a new token) every 2 messages, one at a time
        "[smtp]\nmessages_per_connection = 2\nconcurrency = 1\nretries = 0\nbackoff = 0\n",
        encoding="utf-8",
    )
    with oauth_sink() as sink:
        token_command = counting(tmp_path, "import sys\n" + then)
        more = {"DISPATCH_SMTP_USER": USER, "DISPATCH_SMTP_TOKEN_COMMAND": token_command}
        use_relay(monkeypatch, sink.port, more)
        code, out, err = run(
            "send", mailing_path, "--contacts", workbook, "--yes", "--settings", relay
        )
        assert len(sink.recorder.accepted()) == 2
    said = " ".join((out + err).split())
    assert code == 1, said
    assert "Sent 2 of 4 messages" in said
    assert "Not sent: 2 not attempted." in said
    assert (
        f"Stopped: lost the relay: the token_command ({Path(sys.executable).name} …) {why}" in said
    )
    assert "nothing was sent" not in said.lower()
    assert "Run the same command again to send what is left." in said


def test_a_failing_command_never_shows_the_secrets_of_its_command_line(
    tmp_path: Path,
) -> None:
    helper = command(
        tmp_path,
        "import sys\nsys.stderr.write(f'invalid client secret {sys.argv[2]}\\n')\nsys.exit(4)\n",
    )
    secret = "cl1ent-S3cret-value"
    settings = load_settings(
        None,
        {
            "DISPATCH_SMTP_HOST": "relay.example.org",
            "DISPATCH_SMTP_USER": USER,
            "DISPATCH_SMTP_TOKEN_COMMAND": f"{helper} --client-secret {secret}",
        },
    )
    with pytest.raises(RelayError) as failed:
        credentials(settings)
    text = str(failed.value)
    assert secret not in text
    assert "--client-secret" not in text
    assert text == (
        f"the token_command ({Path(sys.executable).name} …) failed with exit status 4 "
        "(invalid client secret ***). Run it yourself to see why."
    )


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "no-pidfd (macOS, BSD)"])
def test_a_command_that_leaves_a_process_holding_its_output_is_read_when_it_exits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pidfd: bool
) -> None:
    if not pidfd:
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    pid_file = tmp_path / "agent.pid"
    helper = command(  # starts an "agent" that inherits its output and outlives it
        tmp_path,
        "import pathlib, subprocess, sys\n"
        "agent = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(agent.pid))\n"
        f"print({PASSWORD!r})\n",
    )
    settings = load_settings(
        None,
        {
            "DISPATCH_SMTP_HOST": "relay.example.org",
            "DISPATCH_SMTP_USER": USER,
            "DISPATCH_SMTP_PASSWORD_COMMAND": helper,
        },
    )
    try:
        signin = credentials(settings)
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert signin is not None
    assert signin.secret == PASSWORD


def test_a_keyring_backend_that_cannot_be_loaded_is_a_clear_error(
    tmp_path: Path, make_mailing: Callable[..., Path], make_workbook: WorkbookFactory
) -> None:
    mailing_path, workbook = make_mailing(), make_workbook()
    with Sink(authenticator=accepting_only(USER, PASSWORD), auth_require_tls=False) as sink:
        env = {
            **os.environ,
            "DISPATCH_SMTP_HOST": "127.0.0.1",
            "DISPATCH_SMTP_PORT": str(sink.port),
            "DISPATCH_SMTP_SECURITY": "none",
            "DISPATCH_SMTP_USER": USER,
            "DISPATCH_SMTP_KEYRING": "true",
            "PYTHON_KEYRING_BACKEND": "keyrings.nosuch.Keyring",
        }
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dispatch",
                "send",
                mailing_path,
                "--contacts",
                workbook,
                "--yes",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert sink.recorder.mails == 0
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    assert "PYTHON_KEYRING_BACKEND='keyrings.nosuch.Keyring' cannot be loaded" in said
    assert "Correct it to a backend's full name (keyring --list-backends lists them)" in said


# -- no secret in clear over the network ---------------------------------------------------


@pytest.mark.parametrize("secret", ["DISPATCH_SMTP_PASSWORD", "DISPATCH_SMTP_TOKEN_COMMAND"])
def test_a_sign_in_without_encryption_to_another_machine_is_refused(secret: str) -> None:
    env = {
        "DISPATCH_SMTP_HOST": "relay.example.org",
        "DISPATCH_SMTP_SECURITY": "none",
        "DISPATCH_SMTP_USER": USER,
        secret: "oauth2-token --account mailer",
    }
    with pytest.raises(InvalidInput) as refused:
        load_settings(None, env)
    assert [str(p) for p in refused.value.problems] == [
        'environment variable DISPATCH_SMTP_SECURITY: is "none" and the relay '
        "relay.example.org is not this machine: with a sign-in, the password or token "
        'would cross the network unencrypted. Use security "starttls" (port 587) or "tls" '
        '(port 465); "none" is for a relay on this machine (127.0.0.1, localhost) only.'
    ]
    for here in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert load_settings(None, {**env, "DISPATCH_SMTP_HOST": here}).host == here
    unsigned = {k: v for k, v in env.items() if k not in (secret, "DISPATCH_SMTP_USER")}
    assert load_settings(None, unsigned).security == "none"  # no secret: nothing to protect


def test_the_token_is_never_asked_for_when_it_would_go_in_clear(tmp_path: Path) -> None:
    asked = tmp_path / "asked"
    helper = command(tmp_path, f"open({str(asked)!r}, 'w').close()\nprint({TOKEN!r})\n")
    settings = SmtpSettings(
        host="192.0.2.25", port=25, security="none", user=USER, token_command=helper
    )
    with pytest.raises(RelayError) as refused:
        credentials(settings)
    assert not asked.exists()
    assert str(refused.value).startswith(
        '192.0.2.25:25: security is "none": with a sign-in, the password or token would '
        "cross the network unencrypted."
    )
    assert refused.value.exit_code == 3
