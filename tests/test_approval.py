"""`dispatch approve`, then `send` sends exactly the approved bytes, or refuses saying what
changed; against a real SMTP server (aiosmtpd) and real workbooks."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook

from dispatch import paths
from dispatch.approval_journal import sent_dates
from dispatch.approval_send import with_date
from dispatch.job import Selection, send_mailing
from dispatch.journal import Journal
from dispatch.progress import Step
from tests.conftest import MINIMAL_MAILING, WorkbookFactory
from tests.helpers import run
from tests.smtp_server import Sink

MakeMailing = Callable[..., Path]


def approved_folder(mailing: Path) -> Path:
    folders = sorted(paths.approval_dir(mailing.parent).iterdir())
    return folders[-1]


def manifest(mailing: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((approved_folder(mailing) / "manifest.json").read_text())
    return data


def test_approve_freezes_every_message_and_the_digest_of_every_input(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    code, out, err = run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")
    assert code == 0, err
    assert "approved by Jane Doe at " in out
    data = manifest(mailing)
    assert data["approved_by"] == "Jane Doe"
    messages = data["messages"]
    assert isinstance(messages, list)
    assert sorted(m["addressee"] for m in messages) == [
        "anne.martin@example.org",
        "chair@example.org",
        "john.smith@example.org",
        "prof.lee@example.org",
    ]
    for message in messages:
        raw = (approved_folder(mailing) / message["file"]).read_bytes()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert parsed["Message-ID"] == message["message_id"]
        assert any(p.get_content_type() == "application/pdf" for p in parsed.iter_attachments())
    inputs = data["inputs"]
    assert isinstance(inputs, dict)
    assert {"mailing", "workbook", "template fr/invitation.html"} <= set(inputs["files"])
    assert {"subject", "body.intro", "body.languages", "event"} <= set(inputs["mailing_fields"])
    assert {(r["key"], r["sheet"], r["row"]) for r in inputs["workbook_rows"]} >= {
        ("john.smith@example.org", "Contacts", 3)
    }


def test_send_refuses_changed_inputs_naming_the_row_and_paragraph_then_sends_the_approved_bytes(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0

    book = load_workbook(workbook)
    book["Contacts"]["F3"] = "Ministry of Digital Affairs of Northmoor"  # john.smith's row
    book.save(workbook)
    mailing.write_text(mailing.read_text().replace("se déroulera", "aura lieu"))
    code, _out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 2
    assert (
        "contacts.xlsx, sheet Contacts, row 3: addressee john.smith@example.org was edited "
        "since the approval. Approve again with dispatch approve." in err
    )
    assert (
        "mailing.toml, field body.intro: the paragraph changed since the approval. "
        "Approve again with dispatch approve." in err
    )
    assert "body.languages" not in err
    assert sink.recorder.received == []

    assert run("approve", mailing, "--contacts", workbook, "--by", "Paul Roe")[0] == 0
    code, _out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    data = manifest(mailing)
    frozen = {
        m["addressee"]: (approved_folder(mailing) / m["file"]).read_bytes()
        for m in data["messages"]  # type: ignore[attr-defined]
    }
    received = {r.rcpt_tos[0]: r.data for r in sink.recorder.accepted()}
    assert received.keys() == frozen.keys()
    with Journal.open(paths.journal_path(mailing.parent), readonly=True) as j:
        rows = j.rows()
        dates = sent_dates(j)
    for address, data_sent in received.items():
        # the very bytes approved, but the Date: of their sending, which the journal keeps
        assert data_sent == with_date(frozen[address], dates[address][1]), address
    assert {row.approval for row in rows} == {data["id"]}
    by_key = {m["key"]: m["message_id"] for m in data["messages"]}  # type: ignore[attr-defined]
    assert {row.key: row.message_id for row in rows} == by_key


def test_a_mailing_that_requires_approval_is_not_sent_without_one(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing = make_mailing('approval = "required"\n' + MINIMAL_MAILING)
    workbook = make_workbook()
    code, _out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 2
    assert (
        'mailing.toml, field approval: says "required" and the mailing has not been approved. '
        "Have it approved with dispatch approve, then send." in err
    )
    assert sink.recorder.received == []
    assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0
    code, _out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    assert len(sink.recorder.accepted()) == 4


def test_an_approved_message_edited_on_disk_is_refused_before_anything_leaves(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0
    first = sorted((approved_folder(mailing) / "messages").rglob("*.eml"))[0]
    first.write_bytes(first.read_bytes().replace(b"Subject:", b"Subject: URGENT", 1))
    code, _out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 2
    assert f"{first.name}: was changed after the approval" in err
    assert sink.recorder.received == []


def test_a_mailing_without_approval_is_sent_as_before(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    code, _out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    assert len(sink.recorder.accepted()) == 4
    with Journal.open(paths.journal_path(mailing.parent), readonly=True) as j:
        assert {row.approval for row in j.rows()} == {None}


def test_the_preview_says_whether_and_by_whom_the_mailing_was_approved(
    tmp_path: Path, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    out = tmp_path / "preview"
    assert (
        run(
            "preview",
            mailing,
            "--contacts",
            workbook,
            "--out",
            out,
            "--format",
            "html",
            "--no-open",
        )[0]
        == 0
    )
    assert "not approved" in (out / "index.html").read_text()
    assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0
    assert (
        run(
            "preview",
            mailing,
            "--contacts",
            workbook,
            "--out",
            out,
            "--format",
            "html",
            "--no-open",
        )[0]
        == 0
    )
    assert "approved by Jane Doe at " in (out / "index.html").read_text()


def test_sending_an_approved_mailing_renders_no_pdf_again(
    sink: Sink,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("approve", mailing, "--contacts", workbook, "--by", "Jane Doe")[0] == 0
    steps: list[Step] = []
    result = send_mailing(
        mailing,
        selection=Selection(contacts=workbook),
        settings=sink.settings(timeout=5),
        progress=lambda step, _done, _total: steps.append(step),
    )
    assert result.summary is not None and result.summary.sent == 4
    # The approval holds the messages: no "Making PDFs" step, the approved bytes go out.
    assert list(dict.fromkeys(steps)) == [Step.READING, Step.CHECKING, Step.PREPARING, Step.SENDING]
    data = manifest(mailing)
    frozen = {
        m["addressee"]: (approved_folder(mailing) / m["file"]).read_bytes()
        for m in data["messages"]  # type: ignore[attr-defined]
    }
    with Journal.open(paths.journal_path(mailing.parent), readonly=True) as j:
        dates = sent_dates(j)
    received = {r.rcpt_tos[0]: r.data for r in sink.recorder.accepted()}
    assert received.keys() == frozen.keys()
    for address, data_sent in received.items():
        assert data_sent == with_date(frozen[address], dates[address][1]), address
