"""Issue 20, items 1 and 15: no command writes over an input of the mailing, however the
path is spelled (another spelling, a symbolic link, a hard link), and every file holding
personal data is created 0600. Real workbooks, a real SMTP server, the CLI as a user runs it."""

from __future__ import annotations

import mailbox
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_MAILING, ROOT, WorkbookFactory
from tests.helpers import mode, run
from tests.smtp_server import Sink

MakeMailing = Callable[..., Path]


@pytest.fixture
def sent(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> tuple[Path, Path]:
    """A mailing with an .xlsx annex, approved and sent; (mailing file, workbook)."""
    annex = 'annexes = [{ title = { fr = "Liste", en = "List" }, file = "liste.xlsx" }]\n'
    mailing = make_mailing(annex + MINIMAL_MAILING, files={"liste.xlsx": b"PK annex bytes"})
    workbook = make_workbook()
    assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    (tmp_path / "bounces.mbox").touch()
    return mailing, workbook


def _spellings(mailing: Path, workbook: Path) -> dict[str, Callable[[], Path]]:
    def hard_link() -> Path:
        os.link(workbook, workbook.with_name("hard.xlsx"))
        return workbook.with_name("hard.xlsx")

    def symbolic_link() -> Path:
        workbook.with_name("alias.xlsx").symlink_to(workbook)
        return workbook.with_name("alias.xlsx")

    return {
        "the-workbook": lambda: workbook,
        "another-spelling": lambda: workbook.parent / "mailings" / ".." / workbook.name,
        "a-hard-link": hard_link,
        "a-symbolic-link": symbolic_link,
        "an-annex": lambda: mailing.parent / "liste.xlsx",
    }


@pytest.mark.parametrize(
    "spelling", ["the-workbook", "another-spelling", "a-hard-link", "a-symbolic-link", "an-annex"]
)
def test_bounces_fix_list_over_an_input_is_refused_and_the_input_is_untouched(
    sent: tuple[Path, Path], tmp_path: Path, spelling: str
) -> None:
    mailing, workbook = sent
    target = _spellings(mailing, workbook)[spelling]()
    before = {p: p.read_bytes() for p in (workbook, mailing.parent / "liste.xlsx")}
    code, out, err = run(
        "bounces", mailing, "--from", tmp_path / "bounces.mbox", "--fix-list", target,
        "--contacts", workbook,
    )  # fmt: skip
    assert code == 2, out + err
    lines = [line for line in err.splitlines() if "fix list would replace it" in line]
    assert len(lines) == 1, err
    assert "is one of the mailing's inputs (the " in lines[0]
    assert "Give --fix-list a new file name, such as fix-list.xlsx." in lines[0]
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in before} == before


def test_a_fix_list_beside_the_workbook_is_written_0600(
    sent: tuple[Path, Path], tmp_path: Path
) -> None:
    mailing, workbook = sent
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add("From: a@example.org\nTo: b@example.org\nSubject: hello\n\nnot a bounce\n")
    box.close()
    fix = workbook.with_name("fix-list.xlsx")
    code, _, err = run(
        "bounces", mailing, "--from", tmp_path / "bounces.mbox", "--fix-list", fix,
        "--contacts", workbook,
    )  # fmt: skip
    assert code == 0, err
    assert mode(fix) == 0o600


def _templates_in(folder: Path) -> None:
    for lang in ("fr", "en"):
        shutil.copytree(ROOT / "templates" / lang, folder / lang)
    shutil.copy(ROOT / "templates" / "print.css", folder / "print.css")


@pytest.mark.parametrize(
    "command",
    ["report", "archive", "render", "preview"],
)
def test_every_command_that_writes_refuses_an_input_of_the_mailing(
    sent: tuple[Path, Path], tmp_path: Path, command: str
) -> None:
    mailing, workbook = sent
    templates = tmp_path / "own-templates"
    _templates_in(templates)
    text = mailing.read_text(encoding="utf-8")
    mailing.write_text(f'templates = "{templates}"\n' + text, encoding="utf-8")
    link = workbook.with_name("record.zip")
    link.symlink_to(workbook)
    args = {
        "report": ("--out", workbook.with_name("hard.xlsx")),
        "archive": ("--out", link),  # a link named .zip to the workbook
        "render": ("--out", templates),  # would write letters into templates/fr/
        "preview": ("--out", mailing.parent),  # index.html beside mailing.toml
    }[command]
    if command == "report":
        os.link(workbook, workbook.with_name("hard.xlsx"))
    before = {p: p.read_bytes() for p in (workbook, mailing, *templates.rglob("*.*"))}
    listed = set(templates.rglob("*")) | set(mailing.parent.iterdir())
    extra = ("--no-open",) if command == "preview" else ()
    code, out, err = run(command, mailing, "--contacts", workbook, *args, *extra)
    assert code == 2, out + err
    assert "Traceback" not in err
    assert "one of the mailing's inputs" in err
    assert {p: p.read_bytes() for p in before} == before
    assert set(templates.rglob("*")) | set(mailing.parent.iterdir()) == listed


def _modes(folder: Path) -> Iterator[tuple[Path, int]]:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path, mode(path)


def test_every_file_holding_personal_data_is_private(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)
    try:
        mailing, workbook = make_mailing(), make_workbook()
        assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0
        assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
        (tmp_path / "bounces.mbox").touch()
        fix, record, report = tmp_path / "fix.xlsx", tmp_path / "a.zip", tmp_path / "r.xlsx"
        bounces = ("bounces", mailing, "--from", tmp_path / "bounces.mbox")
        assert run(*bounces, "--fix-list", fix, "--contacts", workbook)[0] == 0
        assert run("archive", mailing, "--out", record, "--contacts", workbook)[0] == 0
        assert run("report", mailing, "--out", report, "--contacts", workbook)[0] == 0
    finally:
        os.umask(old)
    for path in (fix, record, report):
        assert mode(path) == 0o600, path
    approved = dict(_modes(mailing.parent / "approved"))
    assert approved and set(approved.values()) == {0o600}, approved
