"""`dispatch bounces` records only what a notification proves (issue 20, items 2, 3, 4).

A mailing is sent to a test SMTP server; notifications in the shapes of Exchange /
Microsoft 365, Gmail, Postfix and Exim (tests/bounce_corpus.py) are put in an mbox and
read back as a user would. A notification is recorded only when it names a Message-ID
this mailing sent to the recipient it reports; a copy's bounce is the copy's; permanence
follows the status class and the action; automatic replies are never bounces.
"""

from __future__ import annotations

import mailbox
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dispatch import paths
from dispatch.journal import Journal, JournalRow
from tests.bounce_corpus import AUTO_REPLIES, SHAPES, AutoReply, Shape, auto_reply, dsn
from tests.conftest import WorkbookFactory, no_copy, person
from tests.helpers import run
from tests.imap_server import within
from tests.smtp_server import Sink

MakeMailing = Callable[..., Path]

ANNE, JOHN, LEE = "anne.martin@example.org", "john.smith@example.org", "prof.lee@example.org"
DEPUTY = "deputy.smith@example.org"  # John's copy (the workbook's cc column)


@pytest.fixture
def sent(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> tuple[Path, Path, dict[str, str]]:
    """A mailing sent to Anne, John (with a copy to his deputy) and Prof. Lee: the mailing
    file, the workbook and each addressee's Message-ID."""
    mailing = make_mailing(no_copy())
    workbook = make_workbook(
        [
            person(ANNE),
            person(JOHN, first_name="John", last_name="Smith", language="en", cc=DEPUTY),
            person(LEE, first_name="Mei", last_name="Lee", language="en"),
        ]
    )
    code, _, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    with Journal.open(journal_of(mailing), readonly=True) as journal:
        ids = journal.message_ids()
    return mailing, workbook, ids


def journal_of(mailing: Path) -> Path:
    return paths.journal_path(mailing.parent)


def rows(mailing: Path) -> dict[str, JournalRow]:
    with Journal.open(journal_of(mailing), readonly=True) as journal:
        return {row.key: row for row in journal.rows()}


def mbox(path: Path, messages: Iterable[bytes]) -> Path:
    box = mailbox.mbox(path)
    for message in messages:
        box.add(message)
    box.close()
    return path


def bounces(mailing: Path, workbook: Path, source: Path, *more: str | Path) -> tuple[str, str]:
    code, out, err = run("bounces", mailing, "--from", source, "--contacts", workbook, *more)
    assert code == 0, err
    return out, err


# -- item 2: a Message-ID this mailing sent to that recipient, or nothing ---------------


@pytest.mark.parametrize("shape", SHAPES)
def test_a_genuine_notification_naming_the_message_sent_to_the_recipient_is_recorded(
    shape: Shape, sent: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    mailing, workbook, ids = sent
    source = mbox(tmp_path / "in.mbox", [dsn(shape, JOHN, ids[JOHN])])
    fix = tmp_path / "fix.xlsx"
    out, err = bounces(mailing, workbook, source, "--fix-list", fix)
    assert "1 notification(s) read, 1 new" in out
    assert "not recorded" not in err
    bounce = rows(mailing)[JOHN].bounce
    assert bounce is not None
    assert (bounce.recipient, bounce.kind, bounce.status, bounce.permanent) == (
        JOHN,
        "bounced",
        "5.1.1",
        True,
    )
    sheet = load_workbook(fix).active
    assert sheet is not None
    assert [r[:4] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        (JOHN, "John Smith", "Contacts", 3)
    ]


@pytest.mark.parametrize("where", ["headers", "in-reply-to", "references"])
def test_the_message_id_may_come_from_the_returned_headers_or_the_threading_headers(
    where: str, sent: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    mailing, workbook, ids = sent
    source = mbox(tmp_path / "in.mbox", [dsn("postfix", LEE, ids[LEE], where=where)])  # type: ignore[arg-type]
    bounces(mailing, workbook, source)
    assert rows(mailing)[LEE].bounce is not None


def test_another_mailings_old_bounce_changes_nothing_and_is_listed_with_the_reason(
    sent: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    mailing, workbook, _ = sent
    old = "<0123456789abcdef0123456789abcdef@example.org>"  # last year's circular
    source = mbox(tmp_path / "in.mbox", [dsn("exchange", ANNE, old)])
    fix = tmp_path / "fix.xlsx"
    out, err = bounces(mailing, workbook, source, "--fix-list", fix)
    assert "1 notification(s) read, 0 new" in out
    assert "1 notification(s) not recorded, for a person to look at:" in err
    assert (
        f"- {ANNE} bounced 5.1.1: it is about {old}, which this mailing did not send "
        "(another mailing's message, or a forged notification)."
    ) in err
    assert all(row.bounce is None and not row.copy_bounces for row in rows(mailing).values())
    assert "Wrote 0 address(es) to correct" in out
    _code, out, _ = run("status", mailing)
    assert "Came back" not in out


def test_a_forged_report_naming_every_addressee_marks_none_of_them(
    sent: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    mailing, workbook, ids = sent
    everyone = [ANNE, JOHN, LEE, DEPUTY]
    forged = [
        # from anyone, naming no message: it proves nothing
        dsn("gmail", everyone, None, where="nowhere", sender="prankster@elsewhere.example"),
        # naming a real message (Anne's, which its sender may have received): it proves
        # something about Anne's address only, not about the others
        dsn("postfix", everyone, ids[ANNE], n=2, sender="anne.martin@example.org"),
    ]
    out, err = bounces(mailing, workbook, mbox(tmp_path / "in.mbox", forged))
    assert "8 notification(s) read, 1 new" in out
    assert "7 notification(s) not recorded, for a person to look at:" in err
    assert f"- {JOHN} bounced 5.1.1: it names no Message-ID of the message it is about" in err
    assert f"- {JOHN} bounced 5.1.1: {ids[ANNE]} was not sent to {JOHN}." in err
    found = rows(mailing)
    assert [key for key, row in found.items() if row.bounce or row.copy_bounces] == [ANNE]


def test_a_notification_for_a_message_never_sent_is_not_recorded(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert (
        run("send", mailing, "--contacts", workbook, "--yes", "--limit", "1")[0] == 1
    )  # some left
    planned = {k: r for k, r in rows(mailing).items() if r.state == "planned"}
    assert planned
    key, row = next(iter(planned.items()))
    source = mbox(tmp_path / "in.mbox", [dsn("postfix", key, row.message_id)])
    _, err = bounces(mailing, workbook, source)
    assert f"{row.message_id} was never sent (the journal says planned)" in err
    assert rows(mailing)[key].bounce is None


# -- item 3: a copy's bounce is the copy's -----------------------------------------------


def test_a_bounce_for_a_cc_copy_is_recorded_as_the_copys_not_the_addressees(
    sent: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    mailing, workbook, ids = sent
    source = mbox(tmp_path / "in.mbox", [dsn("exchange", DEPUTY, ids[JOHN])])
    fix = tmp_path / "fix.xlsx"
    out, _ = bounces(mailing, workbook, source, "--fix-list", fix)
    john = rows(mailing)[JOHN]
    assert john.bounce is None  # John's own letter arrived
    assert [(b.recipient, b.kind, b.status) for b in john.copy_bounces] == [
        (DEPUTY, "bounced", "5.1.1")
    ]
    assert f"{DEPUTY} (Cc)" in out

    _code, out, _ = run("status", mailing)
    assert "Came back: bounced 1" in out
    assert f"{DEPUTY} (Cc)" in out

    report = tmp_path / "report.xlsx"
    assert run("report", mailing, "--out", report, "--contacts", workbook)[0] == 0
    messages = load_workbook(report)["Messages"]
    bounce = [cell.value for cell in messages[1]].index("Bounce")
    states = {r[3]: (r[7], r[bounce]) for r in messages.iter_rows(min_row=2, values_only=True)}
    assert states[JOHN][0] == "sent, copy bounced"
    assert str(states[JOHN][1]).startswith(f"Cc {DEPUTY}: 5.1.1 ")

    sheet = load_workbook(fix).active  # the copy is corrected in John's row
    assert sheet is not None
    assert [r[:4] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        (DEPUTY, "John Smith", "Contacts", 3)
    ]


# -- item 4: permanence follows the status class and the action; auto-replies -----------


def test_a_failure_with_a_transient_status_is_not_permanent_and_not_listed_to_correct(
    sent: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    mailing, workbook, ids = sent
    full = dsn("postfix", LEE, ids[LEE], action="failed", status="4.2.2")  # mailbox full
    wrong = dsn("gmail", JOHN, ids[JOHN], n=2)
    fix = tmp_path / "fix.xlsx"
    out, _ = bounces(
        mailing, workbook, mbox(tmp_path / "in.mbox", [full, wrong]), "--fix-list", fix
    )
    lee = rows(mailing)[LEE].bounce
    assert lee is not None
    assert (lee.kind, lee.status, lee.permanent) == ("bounced", "4.2.2", False)
    assert "Came back: bounced 1, bounced, temporary 1" in out
    line = next(x for x in out.splitlines() if LEE in x)
    assert "bounced, temporary" in line and "4.2.2" in line
    sheet = load_workbook(fix).active
    assert sheet is not None
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [JOHN]
    report = tmp_path / "report.xlsx"
    assert run("report", mailing, "--out", report, "--contacts", workbook)[0] == 0
    messages = load_workbook(report)["Messages"]
    states = {r[3]: r[7] for r in messages.iter_rows(min_row=2, values_only=True)}
    assert (states[LEE], states[JOHN]) == ("bounced, temporary", "bounced")


@pytest.mark.parametrize(
    ("action", "status", "kind", "permanent"),
    [
        ("failed", "5.1.1", "bounced", True),
        ("failed", "4.2.2", "bounced", False),
        ("failed", "4.4.7", "bounced", False),
        ("delayed", "4.4.1", "delayed", False),
        ("delayed", "5.0.0", "delayed", False),
    ],
)
def test_permanence_follows_rfc_3463s_status_class_and_the_action(
    action: str,
    status: str,
    kind: str,
    permanent: bool,
    sent: tuple[Path, Path, dict[str, str]],
    tmp_path: Path,
) -> None:
    mailing, workbook, ids = sent
    source = mbox(
        tmp_path / "in.mbox", [dsn("postfix", ANNE, ids[ANNE], action=action, status=status)]
    )
    bounces(mailing, workbook, source)
    bounce = rows(mailing)[ANNE].bounce
    assert bounce is not None
    assert (bounce.kind, bounce.permanent) == (kind, permanent)


@pytest.mark.parametrize("kind", AUTO_REPLIES)
def test_an_automatic_reply_quoting_a_bounce_is_counted_as_an_auto_reply_never_a_bounce(
    kind: AutoReply, sent: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    mailing, workbook, ids = sent
    reply = auto_reply(kind, f"Anne Martin <{ANNE}>", ids[ANNE], quoted=ANNE)
    out, _err = bounces(mailing, workbook, mbox(tmp_path / "in.mbox", [reply]))
    assert "0 notification(s) read, 0 new; 0 message(s) were not notifications, " in out
    assert "1 automatic reply(ies), not bounces." in out
    assert all(row.bounce is None for row in rows(mailing).values())


def test_the_fix_list_is_private(sent: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    mailing, workbook, ids = sent
    fix = tmp_path / "fix.xlsx"
    bounces(
        mailing,
        workbook,
        mbox(tmp_path / "in.mbox", [dsn("exim", JOHN, ids[JOHN])]),
        "--fix-list",
        fix,
    )
    assert stat.S_IMODE(fix.stat().st_mode) == 0o600


def test_what_is_left_unread_is_listed_and_the_other_bounces_are_still_recorded(
    sent: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    mailing, workbook, ids = sent
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(dsn("postfix", JOHN, ids[JOHN]))
    box.close()
    nested = tmp_path / "Maildir" / "new" / "2.nested.mta"
    nested.write_bytes(
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        + b'--b\nContent-Type: multipart/mixed; boundary="b"\n\n' * 1200
    )
    (tmp_path / "Maildir" / "new" / "3.zero.mta").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "Maildir" / "new" / "4.pipe.mta")
    code, out, err = within(
        lambda: run("bounces", mailing, "--from", tmp_path / "Maildir", "--contacts", workbook)
    )
    assert code == 0, err
    assert "1 notification(s) read, 1 new" in out
    assert rows(mailing)[JOHN].bounce is not None
    assert "3 message(s) left unread:\n" in err
    new = tmp_path / "Maildir" / "new"
    assert f"- {new / '2.nested.mta'}: it declares 1201 nested MIME parts" in err
    assert f"- {new / '3.zero.mta'}: is a link: not followed" in err
    assert f"- {new / '4.pipe.mta'}: is a named pipe, not a message file: not read" in err
