"""Progress on every long step: the core reports it through a callback and never prints;
the command shows a bar in a terminal and one line per step in a log; a send ends with
a summary that names only what is not zero and says what to do next."""

from __future__ import annotations

import io
import mailbox
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from dispatch.approval import approve_mailing
from dispatch.archive import archive_mailing
from dispatch.bounce_journal import record_bounces
from dispatch.cli import progress
from dispatch.cli.progress import Steps
from dispatch.errors import InvalidInput, RelayError
from dispatch.job import Selection, SendOptions, check_mailing, render_mailing, send_mailing
from dispatch.progress import Step
from tests.conftest import MINIMAL_MAILING, WorkbookFactory
from tests.helpers import run
from tests.smtp_server import Sink

MakeMailing = Callable[..., Path]
Call = tuple[Step, int, int | None]


class Recorder:
    """A progress callback that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def __call__(self, step: Step, done: int, total: int | None) -> None:
        self.calls.append((step, done, total))

    def steps(self) -> list[Step]:
        return list(dict.fromkeys(step for step, _, _ in self.calls))

    def of(self, step: Step) -> list[Call]:
        return [call for call in self.calls if call[0] is step]


def assert_well_formed(recorder: Recorder) -> None:
    """Each step starts at 0, never goes back, and its steps do not interleave."""
    seen: list[Step] = []
    for step, _, _ in recorder.calls:
        if not seen or seen[-1] is not step:
            assert step not in seen, f"{step} reported again after another step"
            seen.append(step)
    for step in seen:
        calls = recorder.of(step)
        assert calls[0][1] == 0
        dones = [done for _, done, _ in calls]
        assert dones == sorted(dones)


def test_check_reports_reading_then_checking_each_letter(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    recorder = Recorder()
    prepared = check_mailing(make_mailing(), Selection(contacts=make_workbook()), progress=recorder)
    assert recorder.steps() == [Step.READING, Step.CHECKING]
    assert_well_formed(recorder)
    assert recorder.of(Step.READING)[-1] == (
        Step.READING,
        len(prepared.contacts.addressees),
        len(prepared.contacts.addressees),
    )
    letters = len(prepared.letters)
    assert [done for _, done, _ in recorder.of(Step.CHECKING)] == list(range(letters + 1))
    assert {total for _, _, total in recorder.of(Step.CHECKING)} == {letters}


def test_render_with_pdfs_reports_the_pdfs_then_the_letters(
    tmp_path: Path, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    recorder = Recorder()
    rendered = render_mailing(
        make_mailing(),
        tmp_path / "out",
        formats=["pdf", "html"],
        selection=Selection(contacts=make_workbook()),
        progress=recorder,
    )
    assert recorder.steps() == [Step.READING, Step.CHECKING, Step.PDFS, Step.RENDERING]
    assert_well_formed(recorder)
    pdfs = recorder.of(Step.PDFS)[-1]
    assert pdfs[1] == pdfs[2] == rendered.prepared.distinct_letters
    assert recorder.of(Step.RENDERING)[-1] == (Step.RENDERING, rendered.letters, rendered.letters)


def test_send_reports_pdfs_preparing_and_sending_up_to_the_last_message(
    sink: Sink, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    recorder = Recorder()
    result = send_mailing(
        make_mailing(),
        selection=Selection(contacts=make_workbook()),
        settings=sink.settings(timeout=5),
        options=SendOptions(),
        progress=recorder,
    )
    assert result.summary is not None and result.summary.sent == 4
    assert result.prepared is not None and result.prepared.mailing.attach_pdf
    assert recorder.steps() == [
        Step.READING,
        Step.CHECKING,
        Step.PDFS,  # the letters go with their PDF
        Step.PREPARING,
        Step.SENDING,
    ]
    assert_well_formed(recorder)
    assert recorder.of(Step.PREPARING)[-1] == (Step.PREPARING, 4, 4)
    assert recorder.of(Step.SENDING)[-1] == (Step.SENDING, 4, 4)


def test_samples_try_the_relay_before_any_pdf_and_prepare_only_the_samples(
    sink: Sink, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    # A limit no message meets: checking it needs the letter's PDF, so a refusal of the
    # size before the relay's error would mean a PDF was made before the relay was tried.
    mailing = make_mailing(MINIMAL_MAILING.replace("numbered = true", "max_message_mb = 0.001"))
    options = SendOptions(to_address="me@example.org")
    recorder = Recorder()
    wrong = sink.settings(timeout=5).model_copy(update={"security": "tls"})
    with pytest.raises(RelayError, match=r"127\.0\.0\.1"):
        send_mailing(
            mailing,
            selection=Selection(contacts=make_workbook()),
            settings=wrong,
            options=options,
            progress=recorder,
        )
    assert recorder.steps() == [Step.READING, Step.CHECKING]  # no PDFs, no messages
    with pytest.raises(InvalidInput, match="max_message_mb"):  # the relay answered
        send_mailing(
            mailing,
            selection=Selection(contacts=make_workbook()),
            settings=sink.settings(timeout=5),
            options=options,
        )
    recorder = Recorder()
    result = send_mailing(
        make_mailing(),
        selection=Selection(contacts=make_workbook()),
        settings=sink.settings(timeout=5),
        options=options,
        progress=recorder,
    )
    assert [s.accepted for s in result.samples] == [True, True]
    # Two samples, one a language: no step over the whole mailing's PDFs or messages.
    assert recorder.steps() == [Step.READING, Step.CHECKING]
    assert all(b"application/pdf" in r.data for r in sink.recorder.accepted())


def test_approve_archive_and_bounces_report_their_long_steps(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    approving = Recorder()
    approve_mailing(mailing, "Jane Doe", contacts=workbook, progress=approving)
    assert approving.steps() == [Step.READING, Step.CHECKING, Step.PDFS, Step.FREEZING]
    assert approving.of(Step.FREEZING)[-1] == (Step.FREEZING, 4, 4)
    assert_well_formed(approving)

    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    packing = Recorder()
    archive_mailing(mailing, tmp_path / "record.zip", contacts=workbook, progress=packing)
    assert packing.steps() == [Step.PACKING]
    assert packing.of(Step.PACKING)[-1] == (Step.PACKING, 4, 4)

    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for n in range(3):
        box.add(f"From: someone@example.org\nSubject: Thanks {n}\n\nThank you.\n")
    box.close()
    reading = Recorder()
    record_bounces(mailing, str(tmp_path / "bounces.mbox"), progress=reading)
    assert reading.calls == [
        (Step.MAILBOX, 0, None),  # how many there are is not known before
        (Step.MAILBOX, 1, None),
        (Step.MAILBOX, 2, None),
        (Step.MAILBOX, 3, None),
        (Step.MAILBOX, 3, 3),
    ]


# -- as the command shows it -------------------------------------------------------------

STEP_LINE = re.compile(
    r"^(?P<label>[A-Z][a-zA-Z ]+): (?P<count>[\d\u00a0]+) (?P<unit>\w+) in \d+\.\d s"
)


def test_in_a_log_each_step_is_one_line_and_there_is_no_bar(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "LOG_MIN_ITEMS", 1)  # a log line even for a short step
    code, _, stderr = run(
        "render",
        str(make_mailing()),
        "--contacts",
        str(make_workbook()),
        "--out",
        str(tmp_path / "out"),
        "--format",
        "html,pdf",
    )
    assert code == 0, stderr
    lines = [m.groupdict() for line in stderr.splitlines() if (m := STEP_LINE.match(line))]
    assert [(line["label"], line["unit"]) for line in lines] == [
        ("Reading the workbook", "rows"),
        ("Checking the letters", "letters"),
        ("Making PDFs", "PDFs"),
        ("Rendering", "letters"),
    ]
    assert lines[3]["count"] == "4"
    assert "\x1b" not in stderr and "━" not in stderr


def test_in_a_log_a_short_step_gets_no_line(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    code, _, stderr = run("check", str(make_mailing()), "--contacts", str(make_workbook()))
    assert code == 0, stderr
    assert progress.LOG_MIN_ITEMS == 100
    assert not any(STEP_LINE.match(line) for line in stderr.splitlines())


def test_in_a_terminal_a_bar_shows_count_rate_and_time_remaining() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80, color_system=None)
    with Steps(console) as steps:
        steps(Step.RENDERING, 0, 5943)
        for done in range(1, 5944, 50):
            time.sleep(0.002)
            steps(Step.RENDERING, done, 5943)
        steps(Step.RENDERING, 5943, 5943)
    shown = screen.getvalue()
    frames = [frame for frame in re.split(r"\r|\n", shown) if "Rendering" in frame]
    bar = next(frame for frame in frames if re.search(r"\d+/5943 \d+/s +0:00:\d\d", frame))
    assert "━" in bar
    assert re.search(r"\x1b\[2KRendering: 5\u00a0943 letters in \d+\.\d s\n", shown)
    assert "5943/5943" not in shown.split("letters in")[1]  # the bar went


def test_in_a_terminal_a_step_that_read_nothing_gets_no_line() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80, color_system=None)
    with Steps(console) as steps:
        steps(Step.READING, 0, None)  # the workbook could not be opened: no row was read
    assert "Reading the workbook" not in screen.getvalue().rpartition("\x1b[2K")[2]
    assert "0 rows" not in screen.getvalue()


def send(mailing: Path, workbook: Path) -> tuple[int, str, str]:
    code, stdout, stderr = run("send", str(mailing), "--contacts", str(workbook), "--yes")
    return code, stdout, stderr


def test_a_send_that_went_well_ends_with_no_zeros_and_the_report_as_next_step(
    sink: Sink,
    relay_env: None,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "LOG_MIN_ITEMS", 1)
    mailing = make_mailing()
    code, out, err = send(mailing, make_workbook())
    assert code == 0, err
    assert re.search(r"^Sent 4 of 4 messages in \d+\.\d s\.$", out, re.M), out
    for zero in ("failed for now", "refused", "unknown", "not attempted", "--limit", ": 0"):
        assert zero not in out + err
    assert f"`dispatch report {mailing} --out report.xlsx` writes the report" in err
    assert re.search(r"^Preparing the messages: 4 messages in", err, re.M)
    assert re.search(r"^Sending: 4 messages in", err, re.M)


def test_a_send_with_a_refusal_names_it_and_points_to_status(
    sink: Sink, relay_env: None, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    sink.recorder.faults.refuse_rcpt.add("john.smith@example.org")
    mailing = make_mailing()
    code, out, err = send(mailing, make_workbook())
    assert code == 1
    assert re.search(
        r"^Sent 3 of 4 messages in \d+\.\d s\. Not sent: 1 refused by the relay\.$", out, re.M
    ), out
    assert "failed for now" not in out and "unknown" not in out
    assert f"`dispatch status {mailing}` shows each address and the relay's reply." in err
    assert "--retry-unknown" not in err
