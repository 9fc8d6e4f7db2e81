"""The dispatch command as a user sees it: output, exit codes, files written."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from dispatch.cli import ORDER, main
from tests.conftest import ROOT, WorkbookFactory, no_copy, person
from tests.helpers import run

MakeMailing = Callable[..., Path]


def test_check_prints_letters_per_category_and_language() -> None:
    code, out, err = run(
        "check", ROOT / "mailings" / "tsb-352", "--contacts", ROOT / "contacts.xlsx"
    )
    assert code == 0, err
    assert "MS" in out and "SGC (copy)" in out
    assert "No problem found" in out


def test_check_reports_every_problem_with_its_location_and_exit_2(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    workbook = make_workbook(
        [person("jean.dupont@exemple"), person("a@example.org", language="de")]
    )
    code, out, err = run("check", make_mailing(), "--contacts", workbook)
    assert code == 2
    assert "2 problems found; nothing was written or sent." in err
    assert (
        'contacts.xlsx, sheet Contacts, row 2, column "email": "jean.dupont@exemple" is '
        "not an e-mail address"
    ) in err
    assert 'row 3, column "language": "de" is not a language' in err
    assert "Traceback" not in err + out


def test_render_writes_one_file_per_addressee_and_format(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    out = tmp_path / "out"
    code, stdout, err = run(
        "render",
        make_mailing(),
        "--contacts",
        make_workbook(),
        "--out",
        out,
        "--format",
        "html,txt,eml",
    )
    assert code == 0, err
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert len(files) == 12  # 4 addressees x 3 formats
    assert "fr/circulaire-tsb-352_fr_ministere-des-postes-de-valmont_anne-martin.html" in files
    assert "Wrote 12 files (html, txt, eml) for 4 letters" in stdout


def test_the_eml_is_the_message_that_would_be_sent(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    out = tmp_path / "out"
    workbook = make_workbook(
        [
            person(
                "anne@example.org",
                first_name="Zoé",
                last_name="Lefèvre",
                cc="secretariat@example.org",
            )
        ]
    )
    assert (
        run(
            "render",
            make_mailing(no_copy()),
            "--contacts",
            workbook,
            "--out",
            out,
            "--format",
            "eml",
        )[0]
        == 0
    )
    (eml,) = out.rglob("*.eml")
    raw = eml.read_bytes()
    assert b"\r\n" in raw
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["To"] == "Zoé Lefèvre <anne@example.org>"
    assert msg["Cc"] == "secretariat@example.org"
    assert msg["From"] == "UIT – TSB <tsb@example.org>"
    assert msg["Subject"].startswith("Sixième réunion de l’initiative U4SSC (7 décembre 2021)")
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg["Date"]
    assert msg.get_content_type() == "multipart/mixed"
    names = [part.get_filename() for part in msg.iter_attachments()]
    assert names == ["circulaire-tsb-352_fr.pdf", "circulaire-tsb-352_fr.ics"]
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    assert "Genève, le 13 octobre 2021" in text.get_content()
    assert "<!DOCTYPE html>" in html.get_content()
    assert b"Zo=C3=A9" in raw or b"=?utf-8?" in raw  # the name is encoded in the header


def test_the_message_id_is_the_same_on_every_run(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    ids = []
    for run_no in (1, 2):
        out = tmp_path / f"out{run_no}"
        run("render", mailing, "--contacts", workbook, "--out", out, "--format", "eml")
        ids.append(
            sorted(
                email.message_from_bytes(p.read_bytes())["Message-ID"] for p in out.rglob("*.eml")
            )
        )
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 4


def test_nothing_is_written_when_validation_fails(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    out = tmp_path / "out"
    code, _, _ = run(
        "render",
        make_mailing(),
        "--contacts",
        make_workbook([person("ok@example.org"), person("bad")]),
        "--out",
        out,
    )
    assert code == 2
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "value", "count"),
    [("--only", "john.smith@example.org", 1), ("--category", "SGC", 1), ("--category", "MS", 2)],
)
def test_only_and_category_select_a_subset(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    option: str,
    value: str,
    count: int,
) -> None:
    out = tmp_path / "out"
    code, _, err = run(
        "render",
        make_mailing(),
        "--contacts",
        make_workbook(),
        "--out",
        out,
        "--format",
        "txt",
        option,
        value,
    )
    assert code == 0, err
    assert len(list(out.rglob("*.txt"))) == count


def test_an_unknown_format_is_a_usage_error(make_mailing: MakeMailing) -> None:
    code, _, err = run("render", make_mailing(), "--format", "docx")
    assert code == 2
    assert "unknown format docx" in err


def test_every_command_has_help_text() -> None:
    assert isinstance(main, click.Group)
    context = click.Context(main)
    names = main.list_commands(context)  # every command, loaded or not yet
    assert set(ORDER) <= set(names)
    for name in names:
        command = main.get_command(context, name)
        assert command is not None, name
        assert command.help and len(command.help) > 20, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts}"


def test_python_dash_m_dispatch_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dispatch", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "check" in result.stdout and "render" in result.stdout
