"""`dispatch send`, `status` and `report` as a user runs them, against a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dispatch import paths
from dispatch.journal import Journal
from dispatch.templates import DEFAULT_TEMPLATES
from tests.conftest import MINIMAL_MAILING, WorkbookFactory, no_copy, person
from tests.helpers import relay_variables, run, use_relay
from tests.smtp_server import (
    Faults,
    RecordingHandler,
    Sink,
    accepting_only,
    self_signed_certificate,
)

MakeMailing = Callable[..., Path]
PASSWORD = "s3cret-Pa55word-never-shown"


def journal_states(mailing: Path) -> dict[str, str]:
    with Journal.open(paths.journal_path(mailing.parent), readonly=True) as j:
        return {row.key: row.state for row in j.rows()}


def test_send_delivers_each_letter_once_with_french_text_intact(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    code, out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    accepted = sink.recorder.accepted()
    assert sorted(r.rcpt_tos[0] for r in accepted) == sorted(
        [
            "anne.martin@example.org",
            "john.smith@example.org",
            "prof.lee@example.org",
            "chair@example.org",
        ]
    )
    french = next(r for r in accepted if r.rcpt_tos[0] == "anne.martin@example.org")
    msg = email.message_from_bytes(french.data, policy=email.policy.default)
    assert msg["Subject"] == "Sixième réunion de l’initiative U4SSC (7 décembre 2021)"
    assert msg["To"] == "Anne Martin <anne.martin@example.org>"
    body = msg.get_body(("plain",))
    assert body is not None
    assert "le 7 décembre 2021, de 10\u00a0h\u00a000 à 15\u00a0h\u00a030" in body.get_content()
    assert set(journal_states(mailing).values()) == {"sent"}

    # A second run sends nothing and says so.
    code, out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    assert "Nothing to send" in out
    assert len(sink.recorder.accepted()) == 4


def test_without_yes_and_without_a_terminal_nothing_is_sent(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    code, _, err = run("send", make_mailing(), "--contacts", make_workbook())
    assert code == 1
    assert "Run with --yes" in err
    assert sink.recorder.received == []


def test_dry_run_connects_to_nothing(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    code, out, err = run("send", make_mailing(), "--contacts", make_workbook(), "--dry-run")
    assert code == 0, err
    assert "to send now: 4" in out
    assert sink.connections() == 0


def test_dry_run_with_a_test_address_sends_no_sample_and_connects_to_nothing(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing = make_mailing()
    code, out, err = run(
        "send", mailing, "--contacts", make_workbook(), "--dry-run", "--to", "me@example.org"
    )
    assert code == 0, err
    assert "Sample in fr (the letter of anne.martin@example.org): not sent (dry run)" in out
    assert "Sample in en (the letter of john.smith@example.org): not sent (dry run)" in out
    assert sink.connections() == 0
    assert sink.recorder.received == []
    assert not (paths.journal_path(mailing.parent)).exists()


def test_dry_run_with_a_bad_test_address_says_so_without_a_relay(
    monkeypatch: pytest.MonkeyPatch, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    monkeypatch.delenv("DISPATCH_SMTP_HOST", raising=False)
    code, _, err = run(
        "send", make_mailing(), "--contacts", make_workbook(), "--dry-run", "--to", "me@"
    )
    assert code == 2
    assert (
        '- field test address: "me@" is not a single e-mail address. '
        "Give one address, like you@example.org."
    ) in err


def test_a_test_send_goes_to_the_test_address_only_and_marks_nobody(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing = make_mailing()
    code, _, err = run("send", mailing, "--contacts", make_workbook(), "--to", "me@example.org")
    assert code == 0, err
    accepted = sink.recorder.accepted()
    assert [r.rcpt_tos for r in accepted] == [("me@example.org",), ("me@example.org",)]
    assert not (paths.journal_path(mailing.parent)).exists() or not any(
        state == "sent" for state in journal_states(mailing).values()
    )


def test_an_unreachable_relay_stops_at_once_with_exit_3(
    monkeypatch: pytest.MonkeyPatch,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    use_relay(monkeypatch, port)
    mailing = make_mailing()
    code, _, err = run("send", mailing, "--contacts", make_workbook(), "--yes")
    assert code == 3
    assert f"127.0.0.1:{port}" in err
    assert "sent" not in set(journal_states(mailing).values())


def test_a_refused_address_is_reported_and_the_rest_is_sent(
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    with Sink(RecordingHandler(Faults(refuse_rcpt={"john.smith@example.org"}))) as refusing:
        os.environ["DISPATCH_SMTP_PORT"] = str(refusing.port)
        mailing, workbook = make_mailing(), make_workbook()
        code, out, err = run("send", mailing, "--contacts", workbook, "--yes")
        assert code == 1
        assert "john.smith@example.org" in err and "550" in err
        assert len(refusing.recorder.accepted()) == 3
        states = journal_states(mailing)
        assert states["john.smith@example.org"] == "failed-permanent"

        code, out, err = run("status", mailing)
        assert code == 0
        assert "failed-permanent" in out and "john.smith@example.org" in out

        report = tmp_path / "report.xlsx"
        assert run("report", mailing, "--out", report)[0] == 0
        sheet = load_workbook(report)["Messages"]
        rows = {r[3]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
        assert rows["john.smith@example.org"][7] == "failed-permanent"
        assert rows["anne.martin@example.org"][7] == "sent"

        # A second run does not send the refused address again, nor anyone else.
        code, _, _ = run("send", mailing, "--contacts", workbook, "--yes")
        assert code == 1
        assert len(refusing.recorder.accepted()) == 3


def test_the_password_appears_in_no_output_journal_or_file(
    monkeypatch: pytest.MonkeyPatch,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    (tmp_path / "tls").mkdir()
    certificate = self_signed_certificate(tmp_path / "tls")
    with Sink(
        tls="starttls",
        certificate=certificate,
        authenticator=accepting_only("secretariat", PASSWORD),
    ) as relay:
        for key, value in {
            "DISPATCH_SMTP_HOST": "127.0.0.1",
            "DISPATCH_SMTP_PORT": str(relay.port),
            "DISPATCH_SMTP_SECURITY": "starttls",
            "DISPATCH_SMTP_CA_FILE": str(certificate[0]),
            "DISPATCH_SMTP_USER": "secretariat",
            "DISPATCH_SMTP_PASSWORD": PASSWORD,
        }.items():
            monkeypatch.setenv(key, value)
        mailing = make_mailing()
        out_dir = tmp_path / "out"
        assert (
            run(
                "render",
                mailing,
                "--contacts",
                make_workbook(),
                "--out",
                out_dir,
                "--format",
                "html,txt,eml",
            )[0]
            == 0
        )
        code, out, err = run("send", mailing, "--contacts", make_workbook(), "--yes", "--verbose")
        assert code == 0, err
        assert len(relay.recorder.accepted()) == 4  # a whole send, logged in over STARTTLS
        code, status, _ = run("status", mailing)
        assert code == 0
    assert PASSWORD not in out + err + status
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite3" for p in files)
    for path in files:
        assert PASSWORD.encode() not in path.read_bytes(), path


def _slow_sink_process(port_file: Path) -> subprocess.Popen[bytes]:
    """An aiosmtpd server in its own process that takes 20 ms per message."""
    code = f"""
import asyncio, time, sys
from aiosmtpd.controller import Controller
class H:
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.02)
        with open({str(port_file.with_suffix(".log"))!r}, 'ab') as f:
            mid = [l for l in envelope.content.splitlines() if l.lower().startswith(b'message-id:')]
            f.write(envelope.rcpt_tos[0].encode() + b' ' + (mid[0] if mid else b'') + b'\\n')
        return '250 OK'
import socket
with socket.socket() as probe:  # aiosmtpd's readiness check cannot use port 0
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
c = Controller(H(), hostname='127.0.0.1', port=port)
c.start()
open({str(port_file)!r}, 'w').write(str(port))
time.sleep(600)
"""
    return subprocess.Popen([sys.executable, "-c", code])


@pytest.mark.slow
def test_a_run_killed_mid_mailing_resumes_without_sending_twice(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    port_file = tmp_path / "port"
    server = _slow_sink_process(port_file)
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() or not port_file.read_text():
            assert time.monotonic() < deadline, "the SMTP server did not start"
            time.sleep(0.05)
        log = port_file.with_suffix(".log")
        env = {**os.environ, **relay_variables(port_file.read_text())}
        people = [
            person(f"p{i:03d}@example.org", language="fr" if i % 2 else "en") for i in range(500)
        ]
        mailing = make_mailing(
            no_copy(MINIMAL_MAILING).replace(
                "numbered = true", "numbered = true\nattach_pdf = false"
            )
        )
        workbook = make_workbook(people)
        command = [
            sys.executable,
            "-m",
            "dispatch",
            "send",
            str(mailing),
            "--contacts",
            str(workbook),
            "--yes",
            "--concurrency",
            "2",
        ]
        first = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while not log.exists() or len(log.read_bytes().splitlines()) < 100:
            assert first.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait()
        seen_by_kill = len(log.read_bytes().splitlines())
        assert seen_by_kill < 500

        second = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        received = [line.split()[0] for line in log.read_text().splitlines()]
        counts = {address: received.count(address) for address in set(received)}
        assert max(counts.values()) == 1, "nobody gets the letter twice"
        states = journal_states(mailing)
        unknown = [k for k, v in states.items() if v == "unknown"]
        assert len(unknown) <= 2  # at most the messages in flight at the kill
        assert all(states[k] == "sent" for k in states if k not in unknown)
        assert len(counts) >= 500 - len(unknown)
        assert second.returncode == (1 if unknown else 0)
        for key in unknown:
            assert key in second.stderr + second.stdout or "unknown" in second.stderr

        if unknown:  # with --retry-unknown they are sent again: the relay may see them twice
            third = subprocess.run(
                [*command, "--retry-unknown"], env=env, capture_output=True, text=True, check=False
            )
            assert third.returncode == 0, third.stderr
            received = [line.split()[0] for line in log.read_text().splitlines()]
            assert set(received) == {p["email"] for p in people}
            assert all(received.count(k) <= 2 for k in unknown)
    finally:
        server.kill()
        server.wait()


# -- a re-run with nothing to do ---------------------------------------------------------

UNCHANGED = "unchanged since the last run"


def test_a_rerun_on_unchanged_inputs_says_nothing_to_send_without_checking_again(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    code, out, _ = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0
    assert "Nothing to send" in out and "4 sent, 0 refused, 0 unknown" in out
    assert UNCHANGED in out
    assert len(sink.recorder.accepted()) == 4


def test_a_rerun_with_nothing_to_do_needs_no_relay_settings(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    monkeypatch.delenv("DISPATCH_SMTP_HOST")
    code, out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    assert UNCHANGED in out


def test_a_new_addressee_in_the_workbook_is_sent_by_the_next_run(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing = make_mailing()
    first = [person("anne.martin@example.org"), person("chair@example.org", categories="SGC")]
    assert run("send", mailing, "--contacts", make_workbook(first), "--yes")[0] == 0
    more = [*first, person("late.comer@example.org", first_name="Léa", last_name="Roux")]
    code, out, err = run("send", mailing, "--contacts", make_workbook(more), "--yes")
    assert code == 0, err
    assert UNCHANGED not in out
    assert [r.rcpt_tos[0] for r in sink.recorder.accepted()][-1] == "late.comer@example.org"
    assert len(sink.recorder.accepted()) == 3


def test_a_selection_or_a_template_changed_takes_the_long_way(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    common = ("--contacts", workbook, "--templates", templates, "--yes")
    assert run("send", mailing, *common, "--category", "AC")[0] == 0
    code, out, _ = run("send", mailing, *common)  # the other categories: new addressees
    assert code == 0 and UNCHANGED not in out
    assert len(sink.recorder.accepted()) == 4
    # The letters' layout edited (in a copy: this process keeps the templates it loaded).
    edited = shutil.copytree(templates, tmp_path / "edited")
    layout = edited / "fr" / "base.txt"
    layout.write_text(layout.read_text(encoding="utf-8") + "\nPost-scriptum.\n", "utf-8")
    code, out, err = run("send", mailing, "--contacts", workbook, "--templates", edited, "--yes")
    assert code == 0 and UNCHANGED not in out
    assert "letters changed since they were sent; they were not sent again" in err
    assert len(sink.recorder.accepted()) == 4


def test_unknown_messages_are_reported_and_retry_unknown_takes_the_long_way(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    run("send", mailing, "--contacts", workbook, "--yes", "--limit", "3")  # 1 left to send
    (last,) = [key for key, state in journal_states(mailing).items() if state == "planned"]
    with Journal.open(paths.journal_path(mailing.parent)) as journal:  # killed mid-message
        journal.mark_sending(last)
    code, out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 1
    assert "3 sent, 0 refused, 0 unknown" not in out  # `sending` is not settled
    assert "1 messages are unknown" in err
    code, out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 1 and UNCHANGED in out and "3 sent, 0 refused, 1 unknown" in out
    code, out, err = run("send", mailing, "--contacts", workbook, "--yes", "--retry-unknown")
    assert code == 0, err
    assert UNCHANGED not in out
    assert journal_states(mailing)[last] == "sent"
