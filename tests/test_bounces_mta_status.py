"""A mailing sent through a real Postfix to two unknown users: the real notification is
read back from the sender's Maildir and over IMAP (a real Dovecot), recorded once, and
shown by `status`, the fix list naming the workbook rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dispatch import paths
from dispatch.journal import Journal
from tests.conftest import WorkbookFactory, no_copy, person
from tests.helpers import run, use_relay
from tests.mta import LOCAL_DOMAIN, Dovecot, MailRoot, Postfix
from tests.smtp_server import Sink

pytestmark = pytest.mark.mta

MakeMailing = Callable[..., Path]
UNKNOWN = (f"old.address@{LOCAL_DOMAIN}", f"left.the.ministry@{LOCAL_DOMAIN}")
KNOWN = "anne.martin@ministry.example.org"


def test_two_unknown_users_bounce_and_status_and_the_fix_list_name_their_rows(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mail_root: MailRoot,
    mta_sink: Sink,
    postfix_relay: Postfix,
    dovecot: Dovecot,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    more = {"DISPATCH_SMTP_TIMEOUT": "20", "DISPATCH_IMAP_PASSWORD": "s3cret"}
    use_relay(monkeypatch, postfix_relay.port, more)
    mailing = make_mailing(no_copy())  # sent from tsb@example.org, the fixture's local mailbox
    workbook = make_workbook(
        [
            person(KNOWN),
            person(UNKNOWN[0], first_name="Paul", last_name="Ancien"),
            person(UNKNOWN[1], first_name="Léa", last_name="Partie"),
        ]
    )
    code, out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    assert len(mail_root.wait_for_messages("tsb", 2)) == 2, postfix_relay.log()  # one a message

    fix_list = tmp_path / "fix-list.xlsx"
    maildir = mail_root.maildir("tsb")
    code, out, err = run(
        "bounces", mailing, "--from", maildir, "--fix-list", fix_list, "--contacts", workbook
    )
    assert code == 0, err
    assert "2 notification(s) read, 2 new; 0 message(s) were not notifications." in out

    journal = paths.journal_path(mailing.parent)
    with Journal.open(journal, readonly=True) as recorded:
        before = recorded.bounces()
    imap = f"imap+plain://tsb@127.0.0.1:{dovecot.port}/INBOX"
    for source in (imap, str(maildir)):  # the same notification, read again: no change
        code, out, err = run("bounces", mailing, "--from", source, "--contacts", workbook)
        assert code == 0, err
        assert "2 notification(s) read, 0 new" in out
    with Journal.open(journal, readonly=True) as recorded:
        assert recorded.bounces() == before
    assert {(r.recipient, r.kind, r.status) for r in before} == {
        (UNKNOWN[0], "bounced", "5.1.1"),
        (UNKNOWN[1], "bounced", "5.1.1"),
    }

    code, out, err = run("status", mailing)
    assert code == 0, err
    assert "Came back: bounced 2" in out
    for address in UNKNOWN:
        line = next(x for x in out.splitlines() if address in x)
        assert "bounced" in line and "5.1.1" in line
    assert KNOWN not in out.split("Came back")[1]

    sheet = load_workbook(fix_list).active
    assert sheet is not None
    rows = [tuple(r[:5]) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows == [
        (UNKNOWN[0], "Paul Ancien", "Contacts", 3, "5.1.1"),
        (UNKNOWN[1], "Léa Partie", "Contacts", 4, "5.1.1"),
    ]

    report = tmp_path / "report.xlsx"
    assert run("report", mailing, "--out", report, "--contacts", workbook)[0] == 0
    messages = load_workbook(report)["Messages"]
    bounce = [cell.value for cell in messages[1]].index("Bounce")
    states = {r[3]: (r[7], r[bounce]) for r in messages.iter_rows(min_row=2, values_only=True)}
    assert states[KNOWN][0] == "sent"
    for address in UNKNOWN:
        state, reply = states[address]
        assert state == "bounced" and str(reply).startswith("5.1.1 ")
