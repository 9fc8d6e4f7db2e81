"""SMTP settings: which relay to use, how to log in, and how hard to push it.

Settings come from an optional TOML file (an ``[smtp]`` table) and from environment
variables, which win over the file. The password is read from the environment only
(``DISPATCH_SMTP_PASSWORD``): a settings file is easily committed or mailed around,
an environment variable is not. The password is a :class:`pydantic.SecretStr`, so it
never shows in a ``repr``, a log line, an error message or the journal.

A user signs in with one of four secrets (see :mod:`dispatch.delivery.signin`): the
password in ``DISPATCH_SMTP_PASSWORD``; ``password_command``, a command that prints
the password; ``keyring = true``, the password kept by the system keyring under the
service ``dispatch`` and the name ``user@host``; or ``token_command``, a command that
prints an OAuth 2.0 access token, sent with XOAUTH2 (Microsoft 365, Google
Workspace). The commands and the keyring are read when a connection opens, never here.

Every bad value is collected before anything is reported, and each problem names the
variable or the file and key, the value, what is wrong and what to do::

    >>> load_settings(None, {"DISPATCH_SMTP_HOST": "relay.example.org"}).port
    587
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from dispatch.errors import InvalidInput, Location, Problem

__all__ = ["DEFAULT_PORTS", "ENVIRONMENT", "SmtpSettings", "is_loopback", "load_settings"]

Security = Literal["starttls", "tls", "none"]

#: The usual port for each kind of security: submission with STARTTLS, SMTPS, plain SMTP.
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}


class SmtpSettings(BaseModel):
    """How to reach the relay and how to pace a mailing through it.

    ``timeout`` is how long to wait for each reply of the relay (connecting, each
    command, and the final reply after a message's content), in seconds.
    ``rate_per_minute`` spreads messages evenly over time across all connections
    (``None``: as fast as the relay answers). ``retries`` is how many more times a
    message that met a temporary failure (a 4xx reply, a dropped connection) is tried
    in the same run; ``backoff`` is the first wait before a retry, doubled each time.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)  # when not given: the usual one for `security`
    security: Security = "starttls"
    user: str | None = None
    password: SecretStr | None = None
    password_command: str | None = None
    keyring: bool = False
    token_command: str | None = None
    timeout: float = Field(default=60.0, gt=0, le=3600)
    concurrency: int = Field(default=4, ge=1, le=64)
    messages_per_connection: int = Field(default=100, ge=1)
    rate_per_minute: float | None = Field(default=None, gt=0)
    retries: int = Field(default=3, ge=0, le=20)
    backoff: float = Field(default=1.0, ge=0, le=3600)
    ca_file: Path | None = None
    validate_certs: bool = True
    local_hostname: str | None = None

    @field_validator("host")
    @classmethod
    def _host_has_no_scheme_or_port(cls, value: str) -> str:
        value = value.strip()
        if "://" in value:
            raise ValueError("give the host name only, without a scheme like smtp://")
        if any(ch.isspace() for ch in value):
            raise ValueError("a host name has no spaces")
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_port_follows_security(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("port") in (None, 0, ""):
            security = data.get("security", "starttls")
            if security in DEFAULT_PORTS:
                data = {**data, "port": DEFAULT_PORTS[security]}
        return data

    @field_validator("password_command", "token_command")
    @classmethod
    def _command_is_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the command is empty")
        return value

    @model_validator(mode="after")
    def _user_and_password_go_together(self) -> SmtpSettings:
        given = self.sign_in_sources()
        if len(given) > 1:
            raise ValueError(f"choose one way to sign in, not {' and '.join(given)}")
        if (self.user is None) != (not given):
            missing = "password" if not given else "user"
            raise ValueError(f"a user and a password go together; the {missing} is missing")
        return self

    def sign_in_sources(self) -> list[str]:
        """The settings that give a secret to sign in with (at most one is allowed)."""
        return [
            name
            for name, present in (
                ("password", self.password is not None),
                ("password_command", self.password_command is not None),
                ("keyring", self.keyring),
                ("token_command", self.token_command is not None),
            )
            if present
        ]

    @property
    def address(self) -> str:
        """``host:port``, as shown in messages."""
        return f"{self.host}:{self.port}"

    @property
    def signs_in_in_clear(self) -> bool:
        """Whether a password or token would cross the network unencrypted: a sign-in
        with ``security = "none"`` to a relay that is not this machine."""
        return self.user is not None and self.security == "none" and not is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost`` or a loopback address.

    >>> [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "10.0.0.1", "relay")]
    [True, True, True, False, False]
    """
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


#: Why a sign-in with ``security = "none"`` is refused, and what to do.
CLEAR_TEXT = (
    "with a sign-in, the password or token would cross the network unencrypted",
    'Use security "starttls" (port 587) or "tls" (port 465); "none" is for a relay on '
    "this machine (127.0.0.1, localhost) only.",
)


@dataclass(frozen=True)
class _Variable:
    name: str
    field: str


#: The environment variables read, and the setting each one sets.
ENVIRONMENT: tuple[_Variable, ...] = (
    _Variable("DISPATCH_SMTP_HOST", "host"),
    _Variable("DISPATCH_SMTP_PORT", "port"),
    _Variable("DISPATCH_SMTP_SECURITY", "security"),
    _Variable("DISPATCH_SMTP_USER", "user"),
    _Variable("DISPATCH_SMTP_PASSWORD", "password"),
    _Variable("DISPATCH_SMTP_PASSWORD_COMMAND", "password_command"),
    _Variable("DISPATCH_SMTP_KEYRING", "keyring"),
    _Variable("DISPATCH_SMTP_TOKEN_COMMAND", "token_command"),
    _Variable("DISPATCH_SMTP_CONCURRENCY", "concurrency"),
    _Variable("DISPATCH_SMTP_RATE", "rate_per_minute"),
    _Variable("DISPATCH_SMTP_TIMEOUT", "timeout"),
    _Variable("DISPATCH_SMTP_CA_FILE", "ca_file"),
)

_ENV_NAMES = {variable.field: variable.name for variable in ENVIRONMENT}
#: The settings that each give the secret a user signs in with.
SECRETS = ("password", "password_command", "keyring", "token_command")
_FILE_KEYS = tuple(name for name in SmtpSettings.model_fields if name != "password")

_HINTS: dict[str, str] = {
    "host": "Give the relay's host name, like smtp.example.org.",
    "port": "Give a port number like 587 (STARTTLS), 465 (TLS) or 25, or leave it out.",
    "security": 'Use "starttls" (port 587), "tls" (port 465) or "none" (trusted network only).',
    "user": "Give the user name the relay expects, with DISPATCH_SMTP_PASSWORD.",
    "password": "Set DISPATCH_SMTP_PASSWORD together with DISPATCH_SMTP_USER.",
    "password_command": "Give a command that prints the password, like "
    '"pass show smtp/relay" (it is run without a shell).',
    "keyring": "Use true to read the password from the system keyring, or leave it out.",
    "token_command": "Give a command that prints an OAuth 2.0 access token, like "
    '"oauth2-token --account mailer" (it is run without a shell).',
    "timeout": "Give a number of seconds, like 60.",
    "concurrency": "Give a number of connections between 1 and 64, like 4.",
    "messages_per_connection": "Give a whole number of at least 1, like 100.",
    "rate_per_minute": "Give a number of messages per minute, like 120, or leave it out.",
    "retries": "Give a whole number between 0 and 20, like 3.",
    "backoff": "Give a number of seconds, like 1.",
    "ca_file": "Give the path of a PEM file holding the relay's CA certificate.",
    "validate_certs": "Use true or false (false only for a test relay).",
    "local_hostname": "Give this machine's host name as the relay should see it, or leave it out.",
}


def load_settings(settings_file: Path | None, env: Mapping[str, str]) -> SmtpSettings:
    """Read the SMTP settings from ``settings_file`` (its ``[smtp]`` table) and ``env``.

    Environment variables override the file; an empty variable counts as unset. A
    password in the file is refused: it belongs in ``DISPATCH_SMTP_PASSWORD``.
    A relative ``ca_file`` in the file is relative to the file's folder.

    Raises :class:`InvalidInput` listing every problem found.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    sources: dict[str, Location] = {}

    if settings_file is not None:
        table = _read_smtp_table(settings_file, problems)
        for key, value in table.items():
            where = Location(file=settings_file, field=f"smtp.{key}")
            if key == "password":
                problems.append(
                    Problem(
                        where,
                        "a password is not accepted in a settings file",
                        "Remove it from the file and set the environment variable "
                        "DISPATCH_SMTP_PASSWORD instead.",
                    )
                )
            elif key not in _FILE_KEYS:
                problems.append(
                    Problem(
                        where,
                        f"is not a known SMTP setting (known: {', '.join(_FILE_KEYS)})",
                        "Correct or remove the key.",
                    )
                )
            else:
                if key == "ca_file" and isinstance(value, str) and value:
                    value = str(settings_file.parent / Path(value).expanduser())
                values[key] = value
                sources[key] = where

    for variable in ENVIRONMENT:
        raw = env.get(variable.name)
        if raw is None or raw.strip() == "":
            continue
        values[variable.field] = raw if variable.field == "password" else raw.strip()
        sources[variable.field] = Location(file=f"environment variable {variable.name}")

    secrets = [name for name in SECRETS if name in values and not _off(values[name])]
    if "user" in values and not secrets:
        problems.append(
            Problem(
                sources["user"],
                "is set but the password is not",
                "Set DISPATCH_SMTP_PASSWORD too, or neither. (Or sign in with "
                "DISPATCH_SMTP_PASSWORD_COMMAND, DISPATCH_SMTP_KEYRING=true or "
                "DISPATCH_SMTP_TOKEN_COMMAND.)",
            )
        )
    for secret in secrets:
        if "user" not in values:
            problems.append(
                Problem(
                    sources[secret],
                    "is set but the user is not",
                    f"Set {_ENV_NAMES['user']} too, or neither.",
                )
            )
    if len(secrets) > 1:
        problems.append(
            Problem(
                Location(file="the SMTP settings"),
                f"give more than one way to sign in ({', '.join(secrets)})",
                "Keep one of them.",
            )
        )

    if "host" not in values:
        problems.append(
            Problem(
                Location(file="environment variable DISPATCH_SMTP_HOST"),
                "the SMTP relay is not set",
                "Set DISPATCH_SMTP_HOST (or host in the [smtp] table of the settings "
                "file) to the relay's host name.",
            )
        )

    host = str(values.get("host", "")).strip()
    if values.get("security") == "none" and secrets and host and not is_loopback(host):
        what, hint = CLEAR_TEXT
        problems.append(
            Problem(
                sources["security"],
                f'is "none" and the relay {host} is not this machine: {what}',
                hint,
            )
        )

    ca_file = values.get("ca_file")
    if isinstance(ca_file, str) and ca_file:
        ca_file = Path(ca_file).expanduser()
        values["ca_file"] = ca_file
        if not ca_file.is_file():
            problems.append(
                Problem(sources["ca_file"], "does not exist", _HINTS["ca_file"], value=str(ca_file))
            )

    # Check the values too, so that every problem is reported at once; a missing host
    # or an unpaired login, already reported, must not be reported twice.
    checked = dict(values)
    checked.setdefault("host", "relay.invalid")
    if "user" not in checked or not secrets or len(secrets) > 1:
        for name in ("user", *SECRETS):
            checked.pop(name, None)
    settings: SmtpSettings | None = None
    try:
        settings = SmtpSettings(**checked)
    except ValidationError as error:
        problems += _problems_from(error, values, sources)
    if problems or settings is None:
        raise InvalidInput(problems)
    return settings


def _off(value: Any) -> bool:
    """``keyring = false`` (or ``DISPATCH_SMTP_KEYRING=no``): a secret source not used."""
    return value is False or str(value).strip().lower() in {"false", "no", "0", "off"}


def _read_smtp_table(path: Path, problems: list[Problem]) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except FileNotFoundError:
        problems.append(
            Problem(Location(file=path), "the settings file does not exist", "Check the path.")
        )
        return {}
    except OSError as error:
        problems.append(
            Problem(Location(file=path), f"cannot be read ({error.strerror})", "Check the file.")
        )
        return {}
    except tomllib.TOMLDecodeError as error:
        problems.append(
            Problem(Location(file=path), f"is not valid TOML ({error})", "Correct the file.")
        )
        return {}
    table = document.get("smtp", {})
    if not isinstance(table, dict):
        problems.append(
            Problem(
                Location(file=path, field="smtp"),
                "should be a table, written [smtp] on a line of its own",
                "Correct the file.",
            )
        )
        return {}
    return table


def _problems_from(
    error: ValidationError, values: Mapping[str, Any], sources: Mapping[str, Location]
) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False, include_input=False):
        field = str(item["loc"][0]) if item["loc"] else ""
        message = str(item["msg"])
        message = message.removeprefix("Value error, ")
        message = message.replace("Input should", "it should", 1)
        if field in sources:
            shown = values[field] if field != "password" else None
            where = sources[field]
            hint = _HINTS.get(field, "")
        else:  # a rule that ties several settings together
            where = Location(field="smtp")
            shown, hint = None, _HINTS.get("password", "")
        if shown is None:
            problems.append(Problem(where, message, hint))
        else:
            problems.append(Problem(where, f"is not valid ({message})", hint, value=shown))
    return problems
