"""`dispatch bounces` on an mbox written with Python's mailbox: matched by Message-ID and
recipient only (a notification naming no message is listed, not recorded); bounced and
delayed; reading twice changes nothing."""

from __future__ import annotations

import mailbox
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

from dispatch import paths
from dispatch.journal import Journal
from tests.conftest import WorkbookFactory, person
from tests.helpers import run
from tests.smtp_server import Sink

MakeMailing = Callable[..., Path]


def dsn(recipient: str, action: str, status: str, message_id: str | None, n: int) -> str:
    original = f"Message-ID: {message_id}\n" if message_id else ""
    return (
        "From: MAILER-DAEMON@mta.example.org\nTo: tsb@example.org\n"
        f"Subject: Delivery Status Notification\nMessage-Id: <{n}.dsn@mta.example.org>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n'
        "\n--b\nContent-Type: text/plain\n\nSee below.\n"
        "\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mta.example.org\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {status} mailbox problem for {recipient}\n"
        f"\n--b\nContent-Type: text/rfc822-headers\n\n{original}Subject: x\n\n--b--\n"
    )


def test_bounces_are_matched_recorded_once_and_the_rest_counted(
    tmp_path: Path,
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    path = paths.journal_path(mailing.parent)
    with Journal.open(path, readonly=True) as journal:
        ids = journal.message_ids()
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(dsn("john.smith@example.org", "failed", "5.1.1", ids["john.smith@example.org"], 1))
    box.add(dsn("prof.lee@example.org", "delayed", "4.4.1", ids["prof.lee@example.org"], 2))
    box.add(dsn("stranger@example.org", "failed", "5.1.1", None, 3))
    box.add("From: someone@example.org\nTo: tsb@example.org\nSubject: Thanks\n\nThank you.\n")
    box.close()

    fix = tmp_path / "fix.xlsx"
    args = ("bounces", mailing, "--from", tmp_path / "bounces.mbox", "--contacts", workbook)
    code, out, err = run(*args, "--fix-list", fix)
    assert code == 0, err
    assert "3 notification(s) read, 2 new; 1 message(s) were not notifications." in out
    assert "1 notification(s) not recorded, for a person to look at:" in err
    assert "- stranger@example.org bounced 5.1.1: it names no Message-ID" in err
    assert "Wrote 1 address(es) to correct" in out
    code, out, err = run(*args)
    assert "3 notification(s) read, 0 new" in out

    with Journal.open(path, readonly=True) as journal:
        came_back = {r.key: (r.bounce.kind, r.bounce.status) for r in journal.rows() if r.bounce}
        assert len(journal.bounces()) == 2  # the unmatched one changes nothing
    assert came_back == {
        "john.smith@example.org": ("bounced", "5.1.1"),
        "prof.lee@example.org": ("delayed", "4.4.1"),
    }
    code, out, err = run("status", mailing)
    assert "Came back: bounced 1, delayed 1" in out


def test_status_after_20_bounces_shows_each_in_full_at_80_and_120_columns(
    tmp_path: Path,
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    people = [person(f"addressee.number{i:02}@ministere-des-postes.example.org") for i in range(20)]
    chair = person("chair@example.org", categories="SGC")  # the mailing's copy category
    mailing, workbook = make_mailing(), make_workbook([*people, chair])
    code, _, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    with Journal.open(paths.journal_path(mailing.parent), readonly=True) as journal:
        ids = journal.message_ids()
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for n, row in enumerate(people):
        action, status = ("delayed", "4.4.1") if n % 5 == 0 else ("failed", "5.1.1")
        box.add(dsn(row["email"], action, status, ids[row["email"]], n))
    box.close()
    code, _, err = run("bounces", mailing, "--from", tmp_path / "bounces.mbox")
    assert code == 0, err

    for columns in (80, 120):
        code, out, err = run("status", mailing, columns=columns)
        assert code == 0, err
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= columns
        assert all(line == line.rstrip() for line in lines if "mailbox problem" in line)
        assert "Came back: bounced 16, delayed 4" in out
        # Each bounce is a block: address, state and code on its first line, then the
        # server's words, folded below it: read back whole once the lines are joined.
        joined = " ".join(line.strip() for line in lines)
        for n, row in enumerate(people):
            state, status = ("delayed", "4.4.1") if n % 5 == 0 else ("bounced", "5.1.1")
            assert f"{row['email']}  {state}  {status}" in lines, (columns, row["email"])
            assert f"{status} mailbox problem for {row['email']}" in joined, columns


def test_the_report_carries_the_send_reply_the_bounce_its_time_and_the_approver(
    tmp_path: Path,
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    with Journal.open(paths.journal_path(mailing.parent), readonly=True) as journal:
        ids = journal.message_ids()
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(dsn("john.smith@example.org", "failed", "5.1.1", ids["john.smith@example.org"], 1))
    box.close()
    assert run("bounces", mailing, "--from", tmp_path / "bounces.mbox")[0] == 0
    out = tmp_path / "report.xlsx"
    code, _, err = run("report", mailing, "--out", out, "--contacts", workbook)
    assert code == 0, err
    book = load_workbook(out)
    header = [c.value for c in book["Messages"][1]]
    rows = {
        row[3]: dict(zip(header, row, strict=True))
        for row in book["Messages"].iter_rows(min_row=2, values_only=True)
    }
    john = rows["john.smith@example.org"]
    assert john["SMTP code"] == 250 and john["SMTP reply"]  # the relay took it...
    assert john["Bounce"] == "5.1.1 5.1.1 mailbox problem for john.smith@example.org"
    assert isinstance(john["Bounced at"], datetime)  # ...and when it came back
    assert rows["prof.lee@example.org"]["Bounce"] is None
    assert {r["Approval"] for r in rows.values()} == {john["Approval"]} and john["Approval"]
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Approval in force"].startswith(f"{john['Approval']}, by Jane Doe at ")
