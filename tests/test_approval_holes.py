"""Issue 20, items 8-14 and 16: an approval that cannot be bypassed and can be used.

The manifest is protected by the digest the journal recorded when it was approved; the
recipients come from the approved messages and the workbook; the letterhead is an input;
the approval in force is the journal's last; samples need none; paths are relative to
the mailing folder; the archive packs what was sent; the Date: is the sending's. Against
a real SMTP server (aiosmtpd) and real workbooks, through the CLI and the public API."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatch import paths
from dispatch.approval import approve_mailing
from dispatch.approval_journal import (
    ApprovalRecord,
    approval_in_force,
    record_approval,
    sent_dates,
)
from dispatch.approval_send import with_date
from dispatch.errors import DispatchError
from dispatch.job import Selection, send_mailing
from dispatch.journal import Journal
from tests.conftest import MINIMAL_MAILING, ROOT, WorkbookFactory
from tests.helpers import run
from tests.smtp_server import Sink

MakeMailing = Callable[..., Path]


def journal_of(mailing: Path) -> Path:
    return paths.journal_path(mailing.parent)


def in_force(mailing: Path) -> Path:
    """The folder of the approval the journal recorded last (before issue 20, which had
    it record none: the folder whose name sorts last)."""
    record = None
    if journal_of(mailing).exists():
        with Journal.open(journal_of(mailing), readonly=True) as journal:
            record = approval_in_force(journal)
    if record is None:
        return sorted(paths.approval_dir(mailing.parent).iterdir())[-1]
    return mailing.parent / record.folder


def approve(mailing: Path, workbook: Path, by: str = "Jane Doe") -> Path:
    code, _out, err = run("approve", mailing, "--contacts", workbook, "--by", by)
    assert code == 0, err
    return in_force(mailing)


def send(mailing: Path, workbook: Path, *extra: str | Path) -> tuple[int, str, str]:
    return run("send", mailing, "--contacts", workbook, "--yes", *extra)


# -- item 8: the manifest is protected; recipients come from the .eml and the workbook ------


def test_a_recipient_added_to_the_manifest_is_refused_and_nothing_leaves(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    folder = approve(mailing, workbook)
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text())
    data["messages"][0]["recipients"].append("spy@example.net")  # a Bcc no .eml shows
    manifest.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    code, _out, err = send(mailing, workbook)
    assert code == 2
    assert "manifest.json: was changed after the approval" in err
    assert "Traceback" not in err
    assert sink.recorder.received == []


def _add_bcc(folder: Path) -> tuple[Path, bytes]:
    """Give the first approved message a Bcc, and its new SHA-256 to the manifest."""
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text())
    first = data["messages"][0]
    eml = folder / first["file"]
    edited = eml.read_bytes().replace(b"\r\nSubject:", b"\r\nBcc: spy@example.net\r\nSubject:", 1)
    eml.write_bytes(edited)
    first["sha256"] = hashlib.sha256(edited).hexdigest()
    raw = (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode()
    manifest.write_bytes(raw)
    return eml, raw


def test_an_eml_edited_with_its_sha256_updated_in_the_manifest_is_refused(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    _add_bcc(approve(mailing, workbook))
    code, _out, err = send(mailing, workbook)
    assert code == 2
    assert "manifest.json: was changed after the approval" in err
    assert sink.recorder.received == []


def test_recipients_come_from_the_approved_message_and_the_workbook_row_not_the_manifest(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    """Even with the journal's digest forged too, a message addressed to anyone but its
    workbook row's recipients is refused."""
    mailing, workbook = make_mailing(), make_workbook()
    folder = approve(mailing, workbook)
    eml, raw = _add_bcc(folder)
    with Journal.open(journal_of(mailing)) as journal:
        record = approval_in_force(journal)
        assert record is not None
        forged = ApprovalRecord(
            record.id,
            record.folder,
            hashlib.sha256(raw).hexdigest(),
            record.approved_by,
            record.approved_at,
        )
        record_approval(journal, forged)
    code, _out, err = send(mailing, workbook)
    assert code == 2
    assert f"{eml.name}: is addressed to " in err and "spy@example.net" in err
    assert "but the workbook row of" in err
    assert sink.recorder.received == []


# -- item 9: the letterhead and its logo are inputs -----------------------------------------

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
LETTERHEAD = 'logo = "logo.svg"\nphone = "+41 22 555 01 00"\n'


def with_letterhead(make_mailing: MakeMailing) -> Path:
    mailing = make_mailing(MINIMAL_MAILING + '\n[letterhead]\nfile = "../letterhead.toml"\n')
    (mailing.parent.parent / "letterhead.toml").write_text(LETTERHEAD, encoding="utf-8")
    (mailing.parent.parent / "logo.svg").write_bytes(LOGO)
    return mailing


@pytest.mark.parametrize("edited", ["letterhead.toml", "logo.svg"])
def test_a_letterhead_or_logo_edited_after_the_approval_is_refused_and_the_preview_says_so(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
    edited: str,
) -> None:
    mailing, workbook = with_letterhead(make_mailing), make_workbook()
    approve(mailing, workbook)
    target = mailing.parent.parent / edited
    target.write_bytes(target.read_bytes().replace(b"01 00", b"02 00").replace(b"10", b"12"))
    code, _out, err = send(mailing, workbook)
    assert code == 2
    label = "letterhead" if edited.endswith(".toml") else "logo"
    assert f"{edited}: {label} changed since the approval. Approve again" in err
    assert sink.recorder.received == []
    out = tmp_path / "preview"
    args = ("preview", mailing, "--contacts", workbook, "--out", out, "--no-open")
    assert run(*args, "--format", "html")[0] == 0
    page = (out / "index.html").read_text()
    assert "approved by Jane Doe at " in page and "but changed since" in page


def test_a_letterhead_fixed_after_a_send_is_not_unchanged_for_the_next_run(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = with_letterhead(make_mailing), make_workbook()
    assert send(mailing, workbook)[0] == 0
    code, out, err = send(mailing, workbook)
    assert code == 0 and "unchanged since the last run" in out + err  # the short way
    letterhead = mailing.parent.parent / "letterhead.toml"
    letterhead.write_text(LETTERHEAD.replace("01 00", "02 00"), encoding="utf-8")
    _code, out, err = send(mailing, workbook)
    assert "unchanged since the last run" not in out + err
    assert "changed since sent" in out + err


# -- item 10: the approval in force is the journal's last ------------------------------------


def test_the_approval_in_force_is_the_one_the_journal_recorded_last_not_the_last_name(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    ahead = datetime(2099, 1, 1, tzinfo=UTC)  # a clock set ahead names its folder last
    _, first = approve_mailing(mailing, "Clock Ahead", contacts=workbook, when=ahead)
    _, second = approve_mailing(mailing, "Paul Roe", contacts=workbook)
    assert (
        sorted(p.name for p in paths.approval_dir(mailing.parent).iterdir())[-1]
        == first.folder.name
    )
    code, _out, err = send(mailing, workbook)
    assert code == 0, err
    with Journal.open(journal_of(mailing), readonly=True) as journal:
        assert {row.approval for row in journal.rows()} == {second.id}


def test_ten_approvals_in_one_second_the_tenth_is_in_force(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    moment = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    made = [
        approve_mailing(mailing, f"Approver {n}", contacts=workbook, when=moment)[1]
        for n in range(1, 11)
    ]
    assert in_force(mailing) == made[-1].folder
    assert made[-1].folder.name.endswith("-10")


# -- item 11: samples to oneself need no approval ------------------------------------------


def test_samples_to_oneself_need_no_approval_even_when_it_is_required(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing = make_mailing('approval = "required"\n' + MINIMAL_MAILING)
    workbook = make_workbook()
    code, _out, err = run("send", mailing, "--contacts", workbook, "--to", "me@example.org")
    assert code == 0, err
    assert {r.rcpt_tos[0] for r in sink.recorder.accepted()} == {"me@example.org"}
    code, _out, err = send(mailing, workbook)  # the real mailing still needs one
    assert code == 2 and 'says "required"' in err


# -- item 12: paths relative to the mailing folder; the install is not an input ------------


def test_the_same_mailing_on_a_share_mounted_elsewhere_still_matches(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    folder = approve(mailing, workbook)
    data = json.loads((folder / "manifest.json").read_text())
    paths = {v["path"] for v in data["inputs"]["files"].values()}
    assert not any(p.startswith("/") for p in paths), paths
    assert "dispatch:templates/fr/invitation.html" in paths  # wherever dispatch is installed
    share = tmp_path / "share"
    share.mkdir()
    for item in (mailing.parent.parent, workbook):
        shutil.move(item, share / item.name)
    moved = share / "mailings" / mailing.parent.name / "mailing.toml"
    code, _out, err = send(moved, share / workbook.name)
    assert code == 0, err
    assert len(sink.recorder.accepted()) == 4


# -- item 13: templates = "."; an approval folder moved during a send -----------------------


def test_templates_in_the_mailing_folder_do_not_count_the_approvals_own_files(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing = make_mailing('templates = "."\n' + MINIMAL_MAILING)
    for lang in ("fr", "en"):
        shutil.copytree(ROOT / "templates" / lang, mailing.parent / lang)
    shutil.copy(ROOT / "templates" / "print.css", mailing.parent / "print.css")
    workbook = make_workbook()
    approve(mailing, workbook)
    code, _out, err = send(mailing, workbook)
    assert code == 0, err
    assert len(sink.recorder.accepted()) == 4


def test_an_approval_folder_moved_during_a_send_is_a_clear_error_and_nothing_is_lost(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISPATCH_SMTP_CONCURRENCY", "1")
    mailing, workbook = make_mailing(), make_workbook()
    folder = approve(mailing, workbook)
    aside = folder.with_name("moved-away")

    def move_after_the_first(event: object) -> None:
        if getattr(event, "kind", "") == "sent" and folder.exists():
            folder.rename(aside)

    with pytest.raises(DispatchError) as caught:
        send_mailing(mailing, selection=Selection(contacts=workbook), on_event=move_after_the_first)
    assert "the approval folder was moved or deleted during the send" in str(caught.value)
    assert not isinstance(caught.value, FileNotFoundError)
    aside.rename(folder)
    code, _out, err = send(mailing, workbook)
    assert code == 0, err
    received = [r.rcpt_tos[0] for r in sink.recorder.accepted()]
    assert sorted(received) == sorted(set(received)) and len(received) == 4  # none twice


def test_an_approval_folder_moved_before_a_send_is_a_clear_error(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    folder = approve(mailing, workbook)
    folder.rename(folder.with_name("elsewhere"))
    code, _out, err = send(mailing, workbook)
    assert code == 2
    assert "is the approval in force (by Jane Doe), but it is not there any more" in err
    assert "Traceback" not in err and sink.recorder.received == []


# -- item 14: the archive packs what was sent, under the approval the journal names ----------


def test_the_archive_packs_what_was_sent_under_each_approval_and_never_follows_a_link(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    first = approve(mailing, workbook, "Jane Doe")
    send(mailing, workbook, "--limit", "2")  # (exit 1: the rest is left by the limit)
    assert len(sink.recorder.accepted()) == 2
    second = approve(mailing, workbook, "Paul Roe")  # re-approved: the rest goes under it
    assert send(mailing, workbook)[0] == 0
    private = tmp_path / "private.txt"
    private.write_text("my own secrets")
    (second / "messages" / "planted.eml").symlink_to(private)
    with Journal.open(journal_of(mailing), readonly=True) as journal:
        under = {row.key: row.approval for row in journal.rows()}
    out = tmp_path / "record.zip"
    code, _out, err = run("archive", mailing, "--out", out, "--contacts", workbook)
    assert code == 0, err
    assert "planted.eml: a link, not followed" in err
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        emls = {n for n in names if n.endswith(".eml")}
        assert len(emls) == 4
        assert not any("planted" in n for n in names)
        assert b"my own secrets" not in b"".join(archive.read(n) for n in names)
        for folder in (first, second):
            assert f"approved/{folder.name}/manifest.json" in names
        for folder in (first, second):
            manifest = json.loads(archive.read(f"approved/{folder.name}/manifest.json"))
            for message in manifest["messages"]:
                name = f"approved/{folder.name}/{message['file']}"
                sent_under_it = under[message["key"]] == manifest["id"]
                assert (name in names) == sent_under_it, name


# -- item 16: Date: is set when sent, and recorded ---------------------------------------------


def test_approved_messages_carry_the_date_they_were_sent_which_the_journal_records(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    days_ago = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    _, approval = approve_mailing(mailing, "Jane Doe", contacts=workbook, when=days_ago)
    code, _out, err = send(mailing, workbook)
    assert code == 0, err
    with Journal.open(journal_of(mailing), readonly=True) as journal:
        dates = sent_dates(journal)
    frozen = {m.addressee: (approval.folder / m.file).read_bytes() for m in approval.messages}
    for received in sink.recorder.accepted():
        address = received.rcpt_tos[0]
        sent = email.message_from_bytes(received.data, policy=email.policy.default)
        assert sent["Date"].datetime > days_ago  # not the approval's time
        assert dates[address] == (approval.id, str(sent["Date"]))
        assert received.data == with_date(frozen[address], dates[address][1])
