"""Signing in to the relay: XOAUTH2 with a token command, the password from the system
keyring or from a command, against a real aiosmtpd server; the secret is never shown."""

from __future__ import annotations

import base64
import shlex
import sys
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
from dispatch.settings import load_settings
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
