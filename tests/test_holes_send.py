"""Issue 13 through `dispatch send`, `status` and `report`, as a user meets each hole:
2 and 4 (whose journal), 6 (one Message-ID per addressee), 8 (rows that left),
3 (report over an input), 13 (private files), 7 (no traceback), 14 (grouped problems,
Ctrl-C said at once)."""

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
from typing import Any

import pytest

from dispatch import paths
from dispatch import prepare as prepare_module
from dispatch.contacts import Contacts, reading
from dispatch.errors import Location, Problem, summarise
from dispatch.journal import Journal
from dispatch.mailing import load_mailing
from dispatch.message import message_id
from dispatch.progress import Step
from tests.conftest import MINIMAL_MAILING, WorkbookFactory, no_copy, person
from tests.helpers import mode, relay_variables, run
from tests.mounts import remount_readonly, tmpfs
from tests.smtp_server import Faults, Sink

MakeMailing = Callable[..., Path]
UNCHANGED = "are unchanged since the last run"

STEP_LABELS = {step.label for step in Step}


def journal_of(mailing: Path) -> Path:
    return paths.journal_path(mailing.parent)


def rows(mailing: Path) -> dict[str, tuple[str, str]]:
    """Each key's (state, Message-ID)."""
    with Journal.open(journal_of(mailing), readonly=True) as journal:
        return {r.key: (r.state, r.message_id) for r in journal.rows()}


def edited(mailing: Path, old: str, new: str) -> None:
    text = mailing.read_text(encoding="utf-8")
    assert old in text
    mailing.write_text(text.replace(old, new), encoding="utf-8")


# -- hole 2: a copied mailing folder ---------------------------------------------------


def test_a_copied_mailing_folder_with_reference_and_date_edited_is_refused_naming_the_flag(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    january, workbook = make_mailing(name="circular-352"), make_workbook()
    assert run("send", january, "--contacts", workbook, "--yes")[0] == 0
    copy = january.parent.parent / "circular-353"
    shutil.copytree(january.parent, copy)
    february = copy / "mailing.toml"
    edited(february, "Circulaire TSB 352", "Circulaire TSB 353")
    edited(february, "TSB Circular 352", "TSB Circular 353")
    edited(february, "date = 2021-10-13", "date = 2021-11-13")

    code, out, err = run("send", february, "--contacts", workbook, "--yes")
    assert code == 2
    assert "Nothing to send" not in out
    assert str(journal_of(february)) in err.replace("\n", "")
    assert "belongs to another mailing" in err and "--new-mailing" in err
    assert len(sink.recorder.accepted()) == 4

    code, out, err = run("send", february, "--contacts", workbook, "--yes", "--new-mailing")
    assert code == 0, err
    assert len(sink.recorder.accepted()) == 8
    assert {state for state, _ in rows(february).values()} == {"sent"}
    assert list(paths.journal_dir(copy).glob("journal.set-aside-*.sqlite3"))


# -- hole 4: a deleted journal ------------------------------------------------------------


def test_a_deleted_journal_beside_evidence_of_sends_is_refused_unless_new_mailing(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    journal_of(mailing).unlink()

    code, _out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 2
    flat = err.replace("\n", "")
    assert str(journal_of(mailing)) in flat and "is missing" in flat
    assert "--new-mailing" in flat
    assert len(sink.recorder.accepted()) == 4  # nothing sent again

    code, _, err = run("send", mailing, "--contacts", workbook, "--yes", "--new-mailing")
    assert code == 0, err
    assert len(sink.recorder.accepted()) == 8  # the user said so


# -- hole 6: one Message-ID per addressee, every attempt -------------------------------


def test_a_reference_corrected_then_retry_unknown_resends_under_the_same_message_id(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    # A first run plans every letter (and sends one); then the chair's letter is dropped
    # after its content: unknown.
    code, _, _ = run("send", mailing, "--contacts", workbook, "--yes", "--limit", "1")
    assert code == 1  # left by the limit
    first_ids = {k: mid for k, (_, mid) in rows(mailing).items()}
    chair = first_ids["chair@example.org"]
    sink.recorder.reset(Faults(drop_after_data={chair: 1}))
    code, _, _ = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 1
    assert rows(mailing)["chair@example.org"][0] == "unknown"

    edited(mailing, "Circulaire TSB 352", "Circulaire TSB 352 (corrigée)")
    code, _, err = run("send", mailing, "--contacts", workbook, "--yes", "--retry-unknown")
    assert code == 0, err
    after = rows(mailing)
    assert after["chair@example.org"] == ("sent", chair)
    assert {k: mid for k, (_, mid) in after.items()} == first_ids
    copies = [r for r in sink.recorder.received if r.rcpt_tos[0] == "chair@example.org"]
    assert len(copies) == 2
    for copy in copies:
        message = email.message_from_bytes(copy.data, policy=email.policy.default)
        assert message["Message-ID"] == chair  # the header, not only the journal


# -- hole 8: rows that left the mailing ----------------------------------------------


def test_rows_that_left_the_mailing_are_withdrawn_or_shown_apart_in_status(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing = make_mailing(no_copy())
    everyone = [person(f"p{i}@example.org") for i in range(5)]
    first = run("send", mailing, "--contacts", make_workbook(everyone), "--yes", "--limit", "3")
    assert first[0] == 1  # two left by the limit
    # p0..p2 sent, p3 and p4 planned; then p2 (sent) and p4 (planned) leave the mailing.
    staying = [p for p in everyone if p["email"] not in ("p2@example.org", "p4@example.org")]
    code, out, err = run("send", mailing, "--contacts", make_workbook(staying), "--yes")
    assert code == 0, err
    assert len(sink.recorder.accepted()) == 4

    code, out, _ = run("status", mailing)
    assert code == 0
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert "sent 3" in lines
    assert "sent, no longer in the mailing 1" in lines
    assert "planned 0" in lines
    assert "Total 4" in lines  # the withdrawn planned row is not counted
    assert "1 addressees left the mailing before their letter was sent" in out


# -- hole 3: report --out over an input ----------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["contacts.xlsx", "mailing.toml", "contacts.categories.csv", "templates/fr/report.xlsx"],
    ids=["workbook", "mailing-file", "categories-companion", "inside-templates"],
)
def test_report_refuses_to_write_over_an_input(
    target: str,
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    mailing = make_mailing('templates = "../../templates"\n' + MINIMAL_MAILING)
    workbook = make_workbook(name="contacts.xlsx")
    (workbook.parent / "contacts.categories.csv").write_text("code,fr,en\n", encoding="utf-8")
    shutil.copytree(Path(__file__).resolve().parent.parent / "templates", tmp_path / "templates")
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    out = mailing if target == "mailing.toml" else tmp_path / target
    before = out.read_bytes() if out.exists() else None

    code, _, err = run("report", mailing, "--contacts", workbook, "--out", out)
    assert code == 2
    assert str(out.name) in err
    if out.suffix == ".toml":  # not a report's suffix: refused as such, before anything
        assert "a report is .xlsx or .csv" in err
    else:
        assert "the mailing" in err and ("inputs" in err or "made from" in err)
    assert (out.read_bytes() if out.exists() else None) == before


def test_report_honours_csv_and_refuses_a_suffix_it_cannot_write(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    code, _, err = run("report", mailing, "--out", tmp_path / "r.csv", "--contacts", workbook)
    assert code == 0, err
    assert (tmp_path / "r.csv").read_bytes()[:2] != b"PK"  # text, not a zip
    code, _, err = run("report", mailing, "--out", tmp_path / "r.toml", "--contacts", workbook)
    assert code == 2 and "'.toml'" in err
    assert not (tmp_path / "r.toml").exists()


# -- hole 13: personal data private whatever the umask ---------------------------------


@pytest.mark.usefixtures("umask_022")
def test_eml_files_and_the_report_are_private_under_umask_022(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    out = tmp_path / "out"
    code, _, err = run("render", mailing, "--contacts", workbook, "--out", out, "--format", "eml")
    assert code == 0, err
    emls = list(out.rglob("*.eml"))
    assert emls
    assert {mode(p) for p in emls} == {0o600}
    assert {mode(p.parent) for p in emls} == {0o700}

    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    for name in ("r.xlsx", "r.csv"):
        assert run("report", mailing, "--contacts", workbook, "--out", tmp_path / name)[0] == 0
        assert mode(tmp_path / name) == 0o600


# -- hole 7: errors, never a traceback ------------------------------------------------


def test_a_damaged_journal_is_refused_by_send_and_status_with_what_to_do(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    journal_of(mailing).write_bytes(b"this is not a database" * 100)
    for command in (("send", mailing, "--contacts", workbook, "--yes"), ("status", mailing)):
        code, out, err = run(*command)
        assert code != 0
        assert "Traceback" not in err
        assert str(journal_of(mailing)) in err.replace("\n", "")
        assert "sent" not in out
    assert len(sink.recorder.accepted()) == 4


def test_a_read_only_mailing_folder_or_output_folder_says_what_to_do(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    workbook = make_workbook()
    with tmpfs(tmp_path / "disk", size="2m") as disk:
        mailing = disk / "m" / "mailing.toml"
        shutil.copytree(make_mailing().parent, mailing.parent)
        remount_readonly(disk)
        code, _, err = run("send", mailing, "--contacts", workbook, "--yes")
        assert code == 1 and "Traceback" not in err
        assert "read-only" in err and str(mailing.parent) in err.replace("\n", "")
        for formats in ("html,txt,eml", "html"):  # .eml in a private folder, or not
            code, _, err = run(
                "render",
                mailing,
                "--contacts",
                workbook,
                "--out",
                disk / "out",
                "--format",
                formats,
            )
            assert code == 1 and "Traceback" not in err
            assert "cannot be written" in err and "read-only" in err
    assert not sink.recorder.received


def test_a_disk_filling_up_during_a_send_is_a_message_and_the_next_run_finishes(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    people = [person(f"p{i:03d}@example.org", cc="") for i in range(60)]
    workbook = make_workbook(people)
    with tmpfs(tmp_path / "disk", size="2m") as disk:
        mailing = disk / "m" / "mailing.toml"
        shutil.copytree(make_mailing(no_copy()).parent, mailing.parent)
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:  # fill the disk, then leave a few pages: the plan fits, not the rest
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        os.truncate(filler, filler.stat().st_size - 24 * 1024)
        code, out, err = run("send", mailing, "--contacts", workbook, "--yes")
        assert code == 1, out + err
        assert "Traceback" not in err
        assert "full" in err and "damaged" not in err
        filler.unlink()
        code, _, err = run("send", mailing, "--contacts", workbook, "--yes")
        states = {key: state for key, (state, _) in rows(mailing).items()}
        unknown = {key for key, state in states.items() if state == "unknown"}
        assert code == (1 if unknown else 0), err
        assert set(states.values()) <= {"sent", "unknown"}
        assert len(unknown) <= 2  # the messages in flight when the disk filled up
        code, _, err = run("send", mailing, "--contacts", workbook, "--yes", "--retry-unknown")
        assert code == 0, err
        received = [r.rcpt_tos[0] for r in sink.recorder.accepted()]
        assert set(received) == {p["email"] for p in people}
        assert {a for a in received if received.count(a) > 1} <= unknown


def test_ctrl_c_while_send_prepares_is_one_line_and_exit_130(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, tmp_path: Path
) -> None:
    # Each letter distinct (its own name), so each has its own PDF to render: minutes.
    people = [person(f"p{i:03d}@example.org", salutation=f"Madame {i},") for i in range(600)]
    mailing, workbook = make_mailing(no_copy()), make_workbook(people)
    env = {**os.environ, "DISPATCH_SMTP_HOST": "127.0.0.1", "DISPATCH_SMTP_PORT": "9"}
    child = subprocess.Popen(
        [sys.executable, "-m", "dispatch", "send", str(mailing), "--contacts", str(workbook)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Importing takes a few seconds on a busy machine; rendering 600 PDFs, a minute or
    # more: after 10 s the run is preparing, and has sent nothing.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        time.sleep(0.1)
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
    # The steps done so far have their one line each (no terminal: a log), then this:
    lines = err.decode().strip().splitlines()
    assert lines[-1] == "Interrupted (Ctrl-C) while preparing: nothing was sent."
    assert all(line.split(":")[0] in STEP_LABELS for line in lines[:-1]), lines
    assert not journal_of(mailing).exists()


# -- hole 14: a grouped summary, Ctrl-C said at once ---------------------------------


def test_identical_problems_on_consecutive_rows_are_printed_as_one_range() -> None:
    problems = [
        Problem(Location(file="c.xlsx", sheet="Contacts", row=r, column="email"), "is empty")
        for r in range(5, 100_005)
    ]
    problems.append(Problem(Location(file="c.xlsx", sheet="Contacts", row=7, column="x"), "bad"))
    assert summarise(problems) == [
        'c.xlsx, sheet Contacts, row 5 to row 100 004, column "email": is empty.',
        'c.xlsx, sheet Contacts, row 7, column "x": bad.',
    ]


def test_a_hundred_thousand_identical_problems_print_a_short_summary(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    people = [person(f"p{i}@example.org", language="xx") for i in range(3000)]
    code, _out, err = run("check", make_mailing(), "--contacts", make_workbook(people))
    assert code == 2
    assert len(err) < 2000, err[:3000]
    assert "row 2 to row 3001" in err


def test_the_first_ctrl_c_says_at_once_that_messages_in_flight_are_finishing(
    sink: Sink, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    people = [person(f"p{i:02d}@example.org") for i in range(10)]
    mailing, workbook = make_mailing(no_copy()), make_workbook(people)
    slow = message_id(load_mailing(mailing), "p00@example.org")
    sink.recorder.faults.delay_final_reply = {slow: 60.0}  # its reply takes a minute
    env = {**os.environ, **relay_variables(sink.port)}
    command = [sys.executable, "-m", "dispatch", "send", str(mailing), "--contacts", str(workbook)]
    child = subprocess.Popen(
        [*command, "--yes", "--timeout", "40", "--concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    os.set_blocking(child.stderr.fileno(), False)
    deadline = time.monotonic() + 60
    while sink.recorder.received_count()[slow] == 0:  # awaiting its reply
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    said = b""
    deadline = time.monotonic() + 5  # at once, not after --timeout's 40 s
    while b"press Ctrl-C again" not in said:
        assert time.monotonic() < deadline, said
        said += child.stderr.read() or b""
        time.sleep(0.05)
    text = " ".join(said.decode().split())
    assert "finishing the messages in flight (up to 40 s, --timeout)" in text
    child.send_signal(signal.SIGINT)  # the second: stop now
    child.wait(timeout=10)
    os.set_blocking(child.stderr.fileno(), True)
    rest = (said + child.stderr.read()).decode()
    child.stderr.close()
    assert child.returncode == 1 and "Traceback" not in rest
    assert "Interrupted:" in rest and "1 unknown" in rest
    assert rows(mailing)["p00@example.org"][0] == "unknown"


# -- hole 1: a workbook saved while send prepares --------------------------------------


def test_a_workbook_saved_while_send_prepares_is_not_taken_for_read_by_the_next_run(
    sink: Sink,
    relay_env: dict[str, str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailing = make_mailing()
    first = [person("anne.martin@example.org"), person("chair@example.org", categories="SGC")]
    workbook = make_workbook(first)
    saved = make_workbook([*first, person("late.comer@example.org")], name="saved.xlsx")
    read = prepare_module.load_contacts

    def read_then_saved(path: Path) -> Contacts:
        contacts = read(path)  # the rows of the workbook as it was ...
        os.replace(saved, path)  # ... then the secretariat saves the new addressee
        return contacts

    monkeypatch.setattr(prepare_module, "load_contacts", read_then_saved)
    code, _, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    assert len(sink.recorder.accepted()) == 2
    monkeypatch.setattr(prepare_module, "load_contacts", read)  # saves are over

    code, out, err = run("send", mailing, "--contacts", workbook, "--yes")
    assert code == 0, err
    assert UNCHANGED not in out
    assert [r.rcpt_tos[0] for r in sink.recorder.accepted()][-1] == "late.comer@example.org"
    assert len(sink.recorder.accepted()) == 3


def test_a_workbook_that_keeps_changing_while_it_is_read_is_refused(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    workbook = make_workbook()
    parse = reading._read_book

    def parse_while_saving(path: Path) -> Any:
        book = parse(path)
        with path.open("ab") as handle:  # a save lands while each reading is under way
            handle.write(b"\0")
        return book

    monkeypatch.setattr(reading, "_read_book", parse_while_saving)
    code, _, err = run("check", make_mailing(), "--contacts", workbook)
    assert code == 2
    assert "changed each of the 3 times it was read" in err
    assert "Wait until it is saved and closed" in err
