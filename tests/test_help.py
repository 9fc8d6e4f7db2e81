"""The help as staff read it: commands in the order of the work, whole descriptions,
examples, the relay's variables and exit codes; a "did you mean" for a typo."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch.cli import ORDER, main
from dispatch.settings import ENVIRONMENT
from tests import helpers
from tests.conftest import MINIMAL_MAILING, WorkbookFactory

MakeMailing = Callable[..., Path]

#: Every command here runs in a terminal 80 columns wide.
run = functools.partial(helpers.run, columns=80)


def test_the_commands_are_listed_in_the_order_of_the_work_with_whole_descriptions() -> None:
    code, out, _ = run("--help")
    assert code == 0
    listed = out.split("Commands, in the order of the work:")[1].strip().splitlines()
    names = [line.split()[0] for line in listed]
    assert names[: len(ORDER)] == list(ORDER)
    # init starts the work (issue 21): a new mailing folder, then the six of every mailing
    assert names[:7] == ["init", "check", "render", "preview", "send", "status", "report"]
    for line in listed:
        name = line.split()[0]
        command = main.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.short_help
        assert line.split(None, 1)[1] == command.short_help, f"{name}: cut at 80 columns"
        assert "..." not in line


def test_the_top_level_help_says_what_mailing_is_and_the_exit_codes() -> None:
    _, out, _ = run("--help")
    assert "a mailing folder (holding mailing.toml) or the\n  path of its mailing.toml" in out
    assert "Exit codes: 0 done, 1 something failed" in out


@pytest.mark.parametrize("command", ORDER)
def test_each_command_help_has_examples_and_says_what_mailing_is(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert re.search(r"^  Examples?:\n    dispatch " + command + " ", out, re.M), out
    flat = " ".join(out.split())
    if command == "init":  # makes the folder: FOLDER, not an existing MAILING
        assert "Write a new mailing into FOLDER" in flat
    else:
        assert "MAILING is a mailing folder or its mailing.toml" in flat


def test_send_help_names_the_relay_variables_the_settings_file_and_exit_codes() -> None:
    _, out, _ = run("send", "--help")
    for variable in ENVIRONMENT:
        assert variable.name in out, variable.name
    flat = " ".join(out.split())
    assert "--settings FILE A TOML file with an [smtp] table" in flat
    assert 'the system keyring (service "dispatch", name USER@HOST)' in flat
    assert (
        "Exit codes: 0 all sent, 1 some failed or unknown, 2 bad input (nothing sent), "
        "3 relay unreachable or sign-in refused." in flat
    )


def test_a_mistyped_category_code_gets_a_did_you_mean(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    code, _, err = run("check", mailing, "--contacts", workbook, "--category", "msx")
    assert code == 2
    assert "has no category MSX. Check the code given to --category. Did you mean MS?" in " ".join(
        err.split()
    )


def test_a_mistyped_category_in_the_mailing_gets_a_did_you_mean(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing = make_mailing(MINIMAL_MAILING.replace('cc = ["SGC"]', 'cc = ["SGCC"]'))
    code, _, err = run("check", mailing, "--contacts", make_workbook())
    assert code == 2
    flat = " ".join(err.split())
    assert 'addressees.cc[0]: "SGCC" is not a category of the workbook' in flat
    assert "Correct the code, or add it to the Categories sheet. Did you mean SGC?" in flat


def test_a_mistyped_address_in_only_gets_a_did_you_mean(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    code, _, err = run("check", mailing, "--contacts", workbook, "--only", "ane.martin@example.org")
    assert code == 2
    assert "Did you mean anne.martin@example.org?" in " ".join(err.split())
