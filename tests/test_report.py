"""`dispatch report`: a workbook a manager reads, written after a real send."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from dispatch.errors import InvalidInput
from dispatch.journal import JournalRow
from dispatch.mailing import load_mailing
from dispatch.report import MESSAGE_COLUMNS, write_report
from tests.conftest import WorkbookFactory, person
from tests.helpers import run, use_relay
from tests.smtp_server import Faults, RecordingHandler, Sink

MakeMailing = Callable[..., Path]
HEADER = [name for name, _ in MESSAGE_COLUMNS]


@pytest.fixture
def sent(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Path]]:
    """A mailing sent to four people: John refused (550), Anne's copy to her boss refused."""
    people = [
        person("anne.martin@example.org", cc="boss@example.org", country="Valmont"),
        person(
            "john.smith@example.org",
            civility="Mr",
            first_name="John",
            last_name="Smith",
            organisation="Ministry of ICT of Northmoor",
            country="Northmoor",
            language="en",
        ),
        person(
            "prof.lee@example.org",
            categories="AC",
            language="en",
            first_name="Mei",
            last_name="Lee",
            organisation="Costa Azul University",
            country="Costa Azul",
        ),
        person("chair@example.org", categories="SGC; MS", first_name="Rémi", last_name="Caron"),
    ]
    faults = Faults(refuse_rcpt={"john.smith@example.org", "boss@example.org"})
    with Sink(RecordingHandler(faults)) as sink:
        use_relay(monkeypatch, sink.port, {"DISPATCH_SMTP_TIMEOUT": "5"})
        mailing, workbook = make_mailing(), make_workbook(people)
        code, _, err = run("send", mailing, "--contacts", workbook, "--yes")
        assert code == 1, err  # John's refusal
        yield mailing, workbook


def test_the_report_has_a_summary_and_a_sheet_of_messages_with_names_and_real_dates(
    sent: tuple[Path, Path], tmp_path: Path
) -> None:
    mailing, workbook = sent
    out = tmp_path / "report.xlsx"
    code, stdout, err = run("report", mailing, "--out", out, "--contacts", workbook)
    assert code == 0, err
    assert "Wrote 4 rows" in stdout
    book = load_workbook(out)
    assert book.sheetnames == ["Summary", "Messages"]

    messages = book["Messages"]
    assert [c.value for c in messages[1]] == HEADER
    assert messages.freeze_panes == "A2"
    assert messages.auto_filter.ref == f"A1:Q{messages.max_row}"
    # Printed: the header on every page, one page wide; the summary on one page.
    assert messages.print_title_rows == "$1:$1"
    assert (messages.page_setup.fitToWidth, messages.page_setup.fitToHeight) == (1, 0)
    assert messages.sheet_properties.pageSetUpPr.fitToPage
    summary = book["Summary"]
    assert (summary.page_setup.fitToWidth, summary.page_setup.fitToHeight) == (1, 1)
    assert summary.sheet_properties.pageSetUpPr.fitToPage
    by_email = {
        row[3].value: {h: c for h, c in zip(HEADER, row, strict=True)}
        for row in messages.iter_rows(min_row=2)
    }
    assert set(by_email) == {
        "anne.martin@example.org",
        "john.smith@example.org",
        "prof.lee@example.org",
        "chair@example.org",
    }
    anne, john = by_email["anne.martin@example.org"], by_email["john.smith@example.org"]
    assert anne["Name"].value == "Mme Anne Martin"
    assert anne["Organisation"].value == "Ministère des Postes de Valmont"
    assert anne["Country"].value == "Valmont"
    assert anne["Copies to"].value == "boss@example.org"
    assert anne["State"].value == "sent, copy refused"
    assert "boss@example.org" in anne["SMTP reply"].value
    assert john["State"].value == "failed-permanent" and john["SMTP code"].value == 550
    assert by_email["prof.lee@example.org"]["State"].value == "sent"
    assert by_email["chair@example.org"]["Categories"].value == "SGC MS"
    sent_at = anne["Sent at"].value
    assert isinstance(sent_at, datetime) and sent_at.tzinfo is None
    assert anne["Sent at"].number_format == "yyyy-mm-dd hh:mm:ss"
    local_now = datetime.now().replace(microsecond=0)
    assert abs(local_now - sent_at) < timedelta(minutes=5)  # local time, not UTC
    assert john["Sent at"].value is None and isinstance(john["Updated at"].value, datetime)

    summary = {
        row[0]: row[1]
        for row in book["Summary"].iter_rows(min_row=2, max_col=2, values_only=True)
        if row[0]
    }
    assert summary["Mailing"] == "u4ssc-6"
    assert summary["Reference"] == "Circulaire TSB 352 / TSB Circular 352"
    assert summary["Sender"] == "UIT – TSB <tsb@example.org>"
    # The subject as sent, its placeholders filled.
    assert summary["Subject (fr)"] == "Sixième réunion de l’initiative U4SSC (7 décembre 2021)"
    assert isinstance(summary["First send"], datetime)
    assert isinstance(summary["Last send"], datetime)
    assert summary["First send"] <= summary["Last send"]
    assert summary["Messages"] == 4
    rows = [
        tuple(v for v in row if v is not None)
        for row in book["Summary"].iter_rows(values_only=True)
    ]
    by_state = rows.index(("State", "fr", "en", "Total"))
    assert rows[by_state + 1][:4] == ("sent", 1, 1, 2)
    assert rows[by_state + 2][:4] == ("sent, copy refused", 1, 0, 1)
    assert rows[by_state + 3][:4] == ("failed-permanent", 0, 1, 1)
    assert rows[by_state + 4][:4] == ("Total", 2, 2, 4)
    detail = rows.index(("State", "Language", "Category", "Messages"))
    assert ("sent", "fr", "SGC", 1) in rows[detail:]
    assert ("sent", "fr", "MS", 1) in rows[detail:]
    assert ("failed-permanent", "en", "MS", 1) in rows[detail:]


def test_the_report_as_csv_opens_in_excel_with_its_accents(
    sent: tuple[Path, Path], tmp_path: Path
) -> None:
    mailing, workbook = sent
    out = tmp_path / "report.csv"
    assert run("report", mailing, "--out", out, "--contacts", workbook)[0] == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM that tells Excel it is UTF-8
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == HEADER
    chair = next(r for r in rows if r["E-mail"] == "chair@example.org")
    assert chair["Name"] == "Mme Rémi Caron" and chair["State"] == "sent"
    datetime.strptime(chair["Sent at"], "%Y-%m-%d %H:%M:%S")


def test_another_suffix_is_refused_and_nothing_is_written(
    sent: tuple[Path, Path], tmp_path: Path
) -> None:
    mailing, workbook = sent
    out = tmp_path / "report.ods"
    code, _, err = run("report", mailing, "--out", out, "--contacts", workbook)
    assert code == 2
    assert "report.ods" in err and "a report is .xlsx or .csv" in err
    assert not out.exists()


def test_a_missing_workbook_is_a_warning_and_the_report_has_addresses(
    sent: tuple[Path, Path], tmp_path: Path
) -> None:
    mailing, _ = sent
    out = tmp_path / "report.xlsx"
    code, _, err = run("report", mailing, "--out", out, "--contacts", tmp_path / "gone.xlsx")
    assert code == 0
    assert "gone.xlsx" in err and "no names" in err
    emails = [r[3] for r in load_workbook(out)["Messages"].iter_rows(min_row=2, values_only=True)]
    assert len(emails) == 4


def _row(key: str, reply: str, when: datetime) -> JournalRow:
    return JournalRow(
        key=key,
        message_id="<x@example.org>",
        recipients=("@evil", "=1+1"),
        digest="d",
        language="fr",
        categories=("MS",),
        state="failed-permanent",
        attempts=1,
        code=550,
        reply=reply,
        updated_at=when,
        sent_at=None,
    )


def test_cells_that_look_like_formulas_stay_text(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, tmp_path: Path
) -> None:
    mailing = load_mailing(make_mailing())
    rows = [_row("=cmd|' /C calc'!A0", "-5 mailbox unavailable", datetime.now(UTC))]
    path = tmp_path / "r.xlsx"
    write_report(mailing, rows, path, contacts_path=make_workbook())
    cells = {
        h: c
        for h, c in zip(
            HEADER, next(load_workbook(path)["Messages"].iter_rows(min_row=2)), strict=True
        )
    }
    assert cells["E-mail"].value == "@evil" and cells["E-mail"].data_type == "s"
    assert cells["Copies to"].value == "=1+1" and cells["Copies to"].data_type == "s"
    assert cells["SMTP reply"].value == "-5 mailbox unavailable"
    assert cells["SMTP reply"].data_type == "s"
    csv_path = tmp_path / "r.csv"
    write_report(mailing, rows, csv_path, contacts_path=make_workbook())
    line = csv_path.read_text(encoding="utf-8-sig").splitlines()[1]
    assert "'@evil" in line and "'=1+1" in line and "'-5 mailbox" in line


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (ZoneInfo("Europe/Zurich"), datetime(2026, 1, 15, 10, 30)),
        (ZoneInfo("America/New_York"), datetime(2026, 1, 15, 4, 30)),
        (UTC, datetime(2026, 1, 15, 9, 30)),
    ],
    ids=["zurich", "new-york", "utc"],
)
def test_times_are_written_in_the_zone_asked(
    zone: timezone | ZoneInfo,
    expected: datetime,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    mailing = load_mailing(make_mailing())
    when = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    path = tmp_path / "r.xlsx"
    write_report(
        mailing, [_row("a@example.org", "x", when)], path, contacts_path=make_workbook(), zone=zone
    )
    sheet = load_workbook(path)["Messages"]
    updated = sheet.cell(row=2, column=HEADER.index("Updated at") + 1).value
    assert updated == expected


def test_a_report_with_another_suffix_raises_before_writing(
    make_mailing: MakeMailing, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match=r"\.txt.*a report is \.xlsx or \.csv"):
        write_report(load_mailing(make_mailing()), [], tmp_path / "r.txt")
    assert not (tmp_path / "r.txt").exists()
