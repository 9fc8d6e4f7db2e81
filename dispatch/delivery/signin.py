"""Signing in to the relay: where the secret comes from, and how it is sent.

Four ways, one per mailing (see :mod:`dispatch.settings`):

* ``password``: ``DISPATCH_SMTP_PASSWORD``, sent with AUTH PLAIN or LOGIN;
* ``password_command``: a command that prints the password (``pass show smtp``,
  ``op read op://...``), the way mail clients run a helper;
* ``keyring``: the password kept by the system keyring (GNOME Keyring, KWallet, macOS
  Keychain, Windows Credential Locker), under the service :data:`KEYRING_SERVICE`
  and the name ``user@host``. Store it once with
  ``keyring set dispatch mailer@smtp.example.org``;
* ``token_command``: a command that prints a fresh OAuth 2.0 access token, sent with
  XOAUTH2, as Microsoft 365 and Google Workspace require once password sign-in is
  retired. Any program that prints a token will do (``oauth2ms``, ``mutt_oauth2.py``,
  ``gcloud auth print-access-token``).

A command is split like a shell would (:func:`shlex.split`) but run without a shell;
its standard output, stripped, is the secret. It runs each time a connection opens,
so a long run gets fresh tokens. The secret is never put in a message, a log line or
the journal: a failing command is reported by its exit status and its error output.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field
from typing import Literal

from dispatch.errors import RelayError
from dispatch.settings import SmtpSettings

__all__ = ["KEYRING_SERVICE", "Credentials", "credentials"]

#: The keyring service under which the relay's password is kept (the name is user@host).
KEYRING_SERVICE = "dispatch"


@dataclass(frozen=True)
class Credentials:
    """A user and the secret to sign in with; ``mechanism`` says how it is sent."""

    user: str
    secret: str = field(repr=False)
    mechanism: Literal["password", "xoauth2"] = "password"


def credentials(settings: SmtpSettings) -> Credentials | None:
    """The credentials to sign in with, or None when the relay takes no sign-in.

    Runs the configured command or asks the keyring. Raises :class:`RelayError` (exit
    code 3) saying what failed and what to check, without the secret.
    """
    user = settings.user
    if user is None:
        return None
    if settings.password is not None:
        return Credentials(user, settings.password.get_secret_value())
    if settings.password_command is not None:
        return Credentials(user, _run(settings.password_command, "password_command", settings))
    if settings.token_command is not None:
        token = _run(settings.token_command, "token_command", settings)
        return Credentials(user, token, "xoauth2")
    if settings.keyring:
        return Credentials(user, _from_keyring(user, settings))
    return None


def keyring_name(settings: SmtpSettings) -> str:
    """The name the password is kept under in the keyring: ``user@host``."""
    return f"{settings.user}@{settings.host}"


#: How to add the keyring to an installed dispatch (it is an extra: 15 packages that only
#: this way of signing in needs).
KEYRING_INSTALL = (
    "pip install 'dispatch[keyring]' (or, installed with pipx: pipx inject dispatch keyring)"
)


def _from_keyring(user: str, settings: SmtpSettings) -> str:
    try:
        import keyring  # loaded only by those who use it: it looks for backends at import
        from keyring.errors import KeyringError
    except ImportError:
        raise RelayError(
            "keyring = true asks for the system keyring, and the keyring package is not "
            f"installed. Install it with {KEYRING_INSTALL}, or sign in with "
            "DISPATCH_SMTP_PASSWORD or password_command."
        ) from None

    name = keyring_name(settings)
    try:
        password = keyring.get_password(KEYRING_SERVICE, name)
    except KeyringError as error:
        raise RelayError(
            f"the system keyring cannot be read ({type(error).__name__}: {error}). "
            "Unlock it, or sign in with DISPATCH_SMTP_PASSWORD or password_command."
        ) from None
    if not password:
        raise RelayError(
            f'the system keyring has no password for service "{KEYRING_SERVICE}", name '
            f'"{name}". Store it with: keyring set {KEYRING_SERVICE} {shlex.quote(name)}'
        )
    return password


def _run(command: str, setting: str, settings: SmtpSettings) -> str:
    """The stripped output of ``command``; a clear :class:`RelayError` if it fails."""
    what = f"the {setting} ({command})"
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise RelayError(f"{what} cannot be read as a command ({error}). Correct it.") from None
    if not argv:
        raise RelayError(f"{what} is empty. Give the command to run.")
    try:
        # The user's own command, split like a shell would but run without one.
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=max(settings.timeout, 30.0),
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise RelayError(
            f"{what}: the program {argv[0]!r} was not found. Check the path."
        ) from None
    except PermissionError:
        raise RelayError(f"{what}: the program {argv[0]!r} cannot be run (permission).") from None
    except subprocess.TimeoutExpired as error:
        raise RelayError(
            f"{what} did not finish within {error.timeout:g} s. Check that it does not "
            "wait for input (it gets none)."
        ) from None
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[:300]
        raise RelayError(
            f"{what} failed with exit status {done.returncode}"
            + (f" ({said})" if said else "")
            + ". Run it yourself to see why; nothing was sent."
        )
    secret = done.stdout.strip()
    if not secret:
        raise RelayError(f"{what} printed nothing. It should print the secret on its output.")
    return secret
