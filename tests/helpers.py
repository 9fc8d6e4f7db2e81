"""What many test files need, written once: the command as a user runs it, and the
environment that points it at a test relay. (Fixtures live in conftest.py.)"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from dispatch.cli import main


def run(*args: str | Path, columns: int | None = None) -> tuple[int, str, str]:
    """``dispatch ARGS`` as a user runs it: its exit code, stdout and stderr.

    An exception the command lets out fails the test (a user would see a traceback).
    ``columns`` is the width of the terminal (``COLUMNS``); without it there is no
    ``COLUMNS``: the output is written as to a log.
    """
    env = {"COLUMNS": str(columns) if columns else None}
    result = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def relay_variables(port: int | str, more: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables that send through the relay on 127.0.0.1:``port``, without TLS."""
    return {
        "DISPATCH_SMTP_HOST": "127.0.0.1",
        "DISPATCH_SMTP_PORT": str(port),
        "DISPATCH_SMTP_SECURITY": "none",
        **(more or {}),
    }


def use_relay(
    monkeypatch: pytest.MonkeyPatch, port: int | str, more: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Set :func:`relay_variables` in this test's environment; return them."""
    env = relay_variables(port, more)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def mode(path: Path) -> int:
    """The permission bits of ``path``: ``0o600``."""
    return stat.S_IMODE(path.stat().st_mode)
