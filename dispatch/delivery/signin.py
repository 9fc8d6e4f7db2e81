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
the journal: a failing command is reported by its program's name (its command line
may hold a secret), its exit status and its error output.

No secret is sent unencrypted: with ``security = "none"`` a sign-in is refused unless
the relay is on this machine (:attr:`~dispatch.settings.SmtpSettings.signs_in_in_clear`).
"""

from __future__ import annotations

import os
import selectors
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dispatch.errors import RelayError
from dispatch.settings import CLEAR_TEXT, SmtpSettings

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

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
    if settings.signs_in_in_clear:  # checked before any secret is read, let alone sent
        what, hint = CLEAR_TEXT
        raise RelayError(f'{settings.address}: security is "none": {what}. {hint}')
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
    keyring = _keyring_backend()
    from keyring.errors import KeyringError

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


def _keyring_backend() -> KeyringBackend:
    """The keyring backend in use; a clear :class:`RelayError` if it cannot be loaded."""
    try:
        # Loaded only by those who use it: it looks for backends at import.
        import keyring
    except ImportError:
        raise RelayError(
            "keyring = true asks for the system keyring, and the keyring package is not "
            f"installed. Install it with {KEYRING_INSTALL}, or sign in with "
            "DISPATCH_SMTP_PASSWORD or password_command."
        ) from None
    try:
        # The backend named by PYTHON_KEYRING_BACKEND or keyringrc.cfg is loaded here.
        return keyring.get_keyring()
    except (ImportError, AttributeError, ValueError, TypeError) as error:
        named = os.environ.get("PYTHON_KEYRING_BACKEND")
        where = (
            f"PYTHON_KEYRING_BACKEND={named!r}"
            if named
            else "the keyring backend named in keyringrc.cfg (keyring diagnose shows where)"
        )
        raise RelayError(
            f"{where} cannot be loaded ({type(error).__name__}: {error}). Correct it to a "
            "backend's full name (keyring --list-backends lists them) or remove it."
        ) from None


#: A token or password is short: a command printing more than this is not a helper.
_MAX_OUTPUT = 1024 * 1024


def _run(command: str, setting: str, settings: SmtpSettings) -> str:
    """The stripped output of ``command``; a clear :class:`RelayError` if it fails.

    The command line may hold a secret (``--client-secret ...``): messages name the
    program only, and an argument the command repeats in its error output is hidden.
    """
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise RelayError(
            f"the {setting} cannot be read as a command ({error}). Correct it."
        ) from None
    if not argv:
        raise RelayError(f"the {setting} is empty. Give the command to run.")
    what = f"the {setting} ({Path(argv[0]).name}{' …' if len(argv) > 1 else ''})"
    try:
        # The user's own command, split like a shell would but run without one.
        status, out, err = _output(argv, timeout=max(settings.timeout, 30.0))
    except FileNotFoundError:
        raise RelayError(
            f"{what}: the program {argv[0]!r} was not found. Check the path."
        ) from None
    except PermissionError:
        raise RelayError(f"{what}: the program {argv[0]!r} cannot be run (permission).") from None
    except OSError as error:
        raise RelayError(
            f"{what}: the program {argv[0]!r} cannot be run ({error.strerror or error})."
        ) from None
    except subprocess.TimeoutExpired as error:
        raise RelayError(
            f"{what} did not finish within {error.timeout:g} s. Check that it does not "
            "wait for input (it gets none)."
        ) from None
    if status != 0:
        said = _hidden(" ".join(err.decode("utf-8", "replace").split()), argv[1:])[:300]
        raise RelayError(
            f"{what} failed with exit status {status}"
            + (f" ({said})" if said else "")
            + ". Run it yourself to see why."
        )
    if len(out) > _MAX_OUTPUT:
        raise RelayError(
            f"{what} printed more than {_MAX_OUTPUT // 1024} KB. It should print the secret alone."
        )
    try:
        secret = out.decode("utf-8").strip()
    except UnicodeDecodeError as error:
        raise RelayError(
            f"{what} printed bytes that are not UTF-8 text (byte {error.start + 1} of "
            f"{len(out)}). It should print the secret alone, as text."
        ) from None
    if not secret:
        raise RelayError(f"{what} printed nothing. It should print the secret on its output.")
    return secret


def _hidden(text: str, arguments: list[str]) -> str:
    """``text`` with each argument of the command line (but short words) made ``***``."""
    for argument in sorted(arguments, key=len, reverse=True):
        if len(argument) >= 6:
            text = text.replace(argument, "***")
    return text


def _output(argv: list[str], timeout: float) -> tuple[int, bytes, bytes]:
    """Run ``argv`` with no input; its exit status, output and error output.

    Reading stops when the command exits, not when its output is closed: a helper that
    leaves a process behind (an agent it starts, holding the output open) is done when
    it exits. Raises :class:`subprocess.TimeoutExpired` (the command is then killed).
    """
    with subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        try:
            if os.name == "nt":  # no select() on pipes there: read to their end
                out, err = process.communicate(timeout=timeout)
            else:
                out, err = _read_until_exit(process, timeout)
        except BaseException:
            process.kill()
            raise
        return process.wait(), out, err


def _read_until_exit(process: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes]:
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.fileno(), process.stderr.fileno()
    read = {out: bytearray(), err: bytearray()}
    deadline = time.monotonic() + timeout
    exited = _exit_signal(process.pid)
    with selectors.DefaultSelector() as selector:
        for fd in read:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        if exited is not None:
            selector.register(exited, selectors.EVENT_READ)
        try:
            while process.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(process.args, timeout)
                # Without a pidfd, look at the process now and then.
                for key, _ in selector.select(left if exited is not None else min(left, 0.05)):
                    if key.fd in read and _take(key.fd, read[key.fd]) is False:
                        selector.unregister(key.fd)
        finally:
            if exited is not None:
                os.close(exited)
    for fd, buffer in read.items():  # what it wrote before it exited (bounded)
        while len(buffer) <= _MAX_OUTPUT and _take(fd, buffer):
            pass
    return bytes(read[out]), bytes(read[err])


def _exit_signal(pid: int) -> int | None:
    """A file descriptor that becomes readable when ``pid`` exits (Linux), or None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        return None


def _take(fd: int, buffer: bytearray) -> bool | None:
    """Read what ``fd`` holds now into ``buffer``: True if something was read, None if
    nothing is there yet, False at its end. Past :data:`_MAX_OUTPUT` bytes, what is read
    is dropped (the command is not left blocked on a full pipe; its output is refused)."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return None
    if len(buffer) <= _MAX_OUTPUT:
        buffer += chunk
    return bool(chunk)
