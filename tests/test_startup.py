"""Start-up: each command imports what it uses and nothing else.

``dispatch --version`` and ``dispatch --help`` load click and no part of the core;
``dispatch check`` loads what checking needs, not the PDF engine, the SMTP client, the
calendar or the bounce parser. Which modules load, never how long (time goes to
``make bench``): the command runs as ``python -m dispatch`` does, in a process of its
own, and writes the names in ``sys.modules`` as it exits.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from dispatch import cli
from dispatch.cli import app
from tests.conftest import WorkbookFactory

#: Libraries a command loads only when it needs them.
HEAVY = (
    "weasyprint",
    "aiosmtplib",
    "openpyxl",
    "icalendar",
    "flufl.bounce",
    "keyring",
    "jinja2",
    "babel",
    "pydantic",
    "rich",
    "python_calamine",
    "markdown_it",
    "css_inline",
    "dispatch.job",
)

#: What ``dispatch check`` must leave alone: rendering a PDF, sending, calendars, bounces.
NOT_FOR_CHECK = ("weasyprint", "aiosmtplib", "icalendar", "flufl.bounce")


#: ``python -m dispatch`` that writes, as it exits, the name of every module loaded.
PROBE = """
import atexit, runpy, sys
modules = sys.argv.pop(1)
atexit.register(lambda: open(modules, "w").write("\\n".join(sorted(sys.modules))))
runpy.run_module("dispatch", run_name="__main__", alter_sys=True)
"""


def imported(*args: str | Path, cwd: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules ``python -m dispatch ARGS`` loaded, by name, and the process."""
    modules = cwd / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(modules), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    return set(modules.read_text(encoding="utf-8").split()), done


def loaded(names: set[str], packages: tuple[str, ...]) -> list[str]:
    """The packages of ``packages`` of which some module is in ``names``."""
    return sorted(p for p in packages if any(n == p or n.startswith(p + ".") for n in names))


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_load_click_and_nothing_heavy(option: str, tmp_path: Path) -> None:
    names, done = imported(option, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "click" in names  # the scan sees what was imported
    assert loaded(names, HEAVY) == []


def test_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    names, done = imported("--help", cwd=tmp_path)
    assert "check" in done.stdout and "bounces" in done.stdout
    commands = ("dispatch.cli.letters", "dispatch.cli.sending", "dispatch.cli.record")
    assert loaded(names, commands) == []


def test_check_loads_the_checker_but_not_the_pdf_engine_the_smtp_client_or_bounces(
    make_mailing: Callable[..., Path], make_workbook: WorkbookFactory, tmp_path: Path
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    names, done = imported("check", mailing, "--contacts", workbook, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "No problem found" in done.stdout
    assert {"dispatch.job", "dispatch.cli.letters", "rich.table"} <= names
    assert loaded(names, NOT_FOR_CHECK) == []


def test_every_command_defined_in_the_cli_is_one_the_group_loads() -> None:
    """A command written in a module of dispatch/cli/ but missing from COMMANDS would
    never be reachable: the group imports a module only for a name it lists."""
    defined = {
        f"{module.name}:{attribute}"
        for module in pkgutil.iter_modules(cli.__path__, prefix="dispatch.cli.")
        for attribute, value in vars(importlib.import_module(module.name)).items()
        if isinstance(value, click.Command) and not isinstance(value, click.Group)
    }
    assert defined == {where for where, _ in app.COMMANDS.values()}
    assert set(app.ORDER) <= set(app.COMMANDS)
