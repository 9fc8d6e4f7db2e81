"""`dispatch archive`: the approval, a consistent copy of the journal and a fresh report in
one zip; never written over an input."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook

from dispatch import paths
from dispatch.journal import Journal
from tests.conftest import WorkbookFactory
from tests.helpers import run
from tests.smtp_server import Sink

MakeMailing = Callable[..., Path]


def test_the_archive_holds_the_approved_messages_the_journal_and_a_report(
    tmp_path: Path,
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    out = tmp_path / "u4ssc-6.zip"
    code, stdout, err = run("archive", mailing, "--out", out, "--contacts", workbook)
    assert code == 0, err
    assert "approved by Jane Doe" in stdout

    folder = next(paths.approval_dir(mailing.parent).iterdir())
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        emls = sorted(n for n in names if n.endswith(".eml"))
        assert len(emls) == 4
        for name in emls:  # the very bytes approved (and sent)
            assert archive.read(name) == (mailing.parent / name).read_bytes()
        assert f"approved/{folder.name}/manifest.json" in names
        assert {"journal.sqlite3", "report.xlsx"} <= names
        copy = tmp_path / "journal-copy.sqlite3"
        copy.write_bytes(archive.read("journal.sqlite3"))
        report = load_workbook(io.BytesIO(archive.read("report.xlsx")))
    with Journal.open(copy, readonly=True) as archived:
        states = [(row.state, row.approval) for row in archived.rows()]
    assert len(states) == 4 and {s for s, _ in states} == {"sent"}
    assert all(a is not None and a.startswith(folder.name) for _, a in states)
    assert report["Messages"].max_row == 5


def test_the_archive_refuses_to_replace_an_input(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    before = workbook.read_bytes()
    target = workbook.with_suffix(".zip")
    target.symlink_to(workbook)
    code, _out, err = run("archive", mailing, "--out", target, "--contacts", workbook)
    assert code == 2
    assert "the archive would replace it" in err
    assert workbook.read_bytes() == before


def test_nothing_to_archive_without_an_approval(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, tmp_path: Path
) -> None:
    mailing = make_mailing()
    code, _out, err = run("archive", mailing, "--out", tmp_path / "a.zip")
    assert code == 2
    assert "has no approval to archive" in err
    assert not (tmp_path / "a.zip").exists()
