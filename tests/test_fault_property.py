"""Exactly once, whatever happens between and during runs (issue 13): a property test.

Hypothesis draws a sequence of runs of ``dispatch send`` on one mailing, each with a
fault: the run SIGKILLed at a random moment, the relay dropping the connection after a
message's content, the relay stalling past the timeout before its final reply, a disk
that fills up under the journal (RLIMIT_FSIZE in the child: the journal's files cannot
grow), and edits of the mailing between runs (an addressee added or removed, the
reference corrected). A final clean run with ``--retry-unknown`` follows. Then:

- every address received its letter at most once, unless dispatch reported it unknown
  (it may have been delivered: the relay never said);
- no address of the mailing is missing;
- ``status`` (the journal) says sent exactly for the addresses the relay accepted;
- no run printed a traceback.

``make test`` runs a few examples; ``HYPOTHESIS_PROFILE=fuzz`` (``make fuzz``) many more.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from dispatch import paths
from dispatch.approval_journal import recorded_approvals
from dispatch.approval_send import with_date
from dispatch.cli import main
from dispatch.errors import JournalError
from dispatch.journal import Journal
from dispatch.mailing import load_mailing
from dispatch.message import message_id
from tests.conftest import CATEGORIES, HEADERS, no_copy, person
from tests.helpers import relay_variables, run
from tests.smtp_server import Faults, Sink

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = 30 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 3
PEOPLE = 12

# One run: (fault, its parameter), then the edit made before the next run.
RUNS = st.tuples(
    st.one_of(
        st.tuples(st.just("clean"), st.just(0)),
        st.tuples(st.just("kill"), st.integers(0, PEOPLE - 1)),  # after k letters arrived
        st.tuples(st.just("drop"), st.integers(0, PEOPLE - 1)),  # after that one's content
        st.tuples(st.just("stall"), st.integers(0, PEOPLE - 1)),  # that one's final reply
        st.tuples(st.just("disk-full"), st.integers(1, 12)),  # the files may grow k × 4 KB
    ),
    st.sampled_from(["none", "add", "remove", "reference"]),
)


class Mailing:
    """A mailing folder and its workbook in a temporary folder, edited between runs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "m" / "mailing.toml"
        self.path.parent.mkdir()
        self.path.write_text(
            textwrap.dedent(
                no_copy().replace("numbered = true", "numbered = true\nattach_pdf = false")
            ),
            encoding="utf-8",
        )
        self.workbook = root / "contacts.xlsx"
        self.people = [f"p{i:02d}@example.org" for i in range(PEOPLE)]
        self.added = 0
        self.write_workbook()

    def write_workbook(self) -> None:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "Contacts"
        sheet.append(HEADERS)
        for n, address in enumerate(self.people):
            row = person(address, language="fr" if n % 2 else "en", cc="")
            sheet.append([row.get(h, "") for h in HEADERS])
        categories = book.create_sheet("Categories")
        for line in CATEGORIES:
            categories.append(list(line))
        book.save(self.workbook)

    def edit(self, kind: str) -> None:
        if kind == "add":
            self.added += 1
            self.people.append(f"new{self.added:02d}@example.org")
            self.write_workbook()
        elif kind == "remove" and len(self.people) > 2:
            self.people.pop(len(self.people) // 2)
            self.write_workbook()
        elif kind == "reference":
            text = self.path.read_text(encoding="utf-8")
            self.path.write_text(text.replace("352", "352 rev."), encoding="utf-8")

    def message_id(self, address: str) -> str:
        """The Message-ID this address's letter goes out under (the journal's, if any)."""
        journal = paths.journal_path(self.root / "m")
        if journal.exists():
            with Journal.open(journal, readonly=True) as opened:
                row = opened.row(address)
                if row is not None:
                    return row.message_id
        return message_id(load_mailing(self.path), address)

    def states(self, *, present: bool = False) -> dict[str, str]:
        """Each journal row's state (``present``: the rows still in the mailing only)."""
        journal = paths.journal_path(self.root / "m")
        if not journal.exists():
            return {}
        try:
            with Journal.open(journal, readonly=True) as opened:
                rows = opened.rows()
        except JournalError as error:
            # A first run whose disk was full before it could create the journal's tables
            # leaves a journal of none: nothing was sent; the next run creates them.
            assert "no table of messages" in str(error), error
            return {}
        return {r.key: r.state for r in rows if not (present and r.left_at is not None)}


def command(mailing: Mailing, *extra: str) -> list[str]:
    return [
        "send",
        str(mailing.path),
        "--contacts",
        str(mailing.workbook),
        "--yes",
        "--concurrency",
        "2",
        "--timeout",
        "1",
        *extra,
    ]


def environment(sink: Sink) -> dict[str, str]:
    return {**os.environ, **relay_variables(sink.port)}


CHILD = """
import resource, runpy, signal, sys
limit = int(sys.argv.pop(1))
if limit:  # the disk is full for these files: a write past the limit fails (EFBIG)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv[0] = "dispatch"
runpy.run_module("dispatch", run_name="__main__")
"""


def child_run(mailing: Mailing, sink: Sink, *, kill_after: int | None, limit: int) -> str:
    """Run a send in a child process; SIGKILL it once ``kill_after`` letters arrived."""
    journal = paths.journal_path(mailing.root / "m")
    grown = max((p.stat().st_size for p in journal.parent.glob("journal*")), default=0)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(grown + limit if limit else 0), *command(mailing)],
        env=environment(sink),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    start = len(sink.recorder.received)
    deadline = time.monotonic() + 120
    if kill_after is not None:
        while child.poll() is None and time.monotonic() < deadline:
            if len(sink.recorder.received) - start >= kill_after:
                child.kill()
                break
            time.sleep(0.005)
    _, err = child.communicate(timeout=120)
    return err.decode(errors="replace") if child.returncode != -signal.SIGKILL else ""


def in_process_run(mailing: Mailing, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, command(mailing, *extra), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=EXAMPLES <= 3,  # the same few sequences in every `make test`
)
@given(runs=st.lists(RUNS, min_size=1, max_size=4))
def test_kills_drops_stalls_full_disks_and_edits_never_send_twice_or_lose_a_letter(
    runs: list[tuple[tuple[str, int], str]],
) -> None:
    with tempfile.TemporaryDirectory() as folder, Sink() as sink:
        mailing = Mailing(Path(folder))
        old = {k: os.environ.get(k) for k in environment(sink) if k.startswith("DISPATCH_")}
        os.environ.update({k: v for k, v in environment(sink).items() if k.startswith("DISP")})
        try:
            reported_unknown = exercise(mailing, sink, runs)
        finally:
            for key, value in old.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        check(mailing, sink, reported_unknown)


def exercise(mailing: Mailing, sink: Sink, runs: list[tuple[tuple[str, int], str]]) -> set[str]:
    """Run the sequence, then a final clean run; the addresses ever reported unknown."""
    unknown: set[str] = set()
    for (fault, n), edit in runs:
        faults = Faults()
        target = mailing.people[n % len(mailing.people)]
        if fault == "drop":
            faults.drop_after_data = {mailing.message_id(target): 1}
        elif fault == "stall":
            faults.delay_final_reply = {mailing.message_id(target): 5.0}
        sink.recorder.faults = faults
        if fault == "kill":
            err = child_run(mailing, sink, kill_after=n, limit=0)
        elif fault == "disk-full":
            err = child_run(mailing, sink, kill_after=None, limit=n * 4096)
        else:
            _, err = in_process_run(mailing)
        assert "Traceback" not in err, err
        unknown |= {k for k, s in mailing.states().items() if s in ("unknown", "sending")}
        mailing.edit(edit)
    sink.recorder.faults = Faults()
    code, err = in_process_run(mailing, "--retry-unknown")
    assert code == 0, err
    return unknown


def check(mailing: Mailing, sink: Sink, unknown: set[str]) -> None:
    accepted = Counter(r.rcpt_tos[0] for r in sink.recorder.received if r.accepted)
    twice = {address for address, n in accepted.items() if n > 1}
    assert twice <= unknown, f"sent twice without being reported unknown: {twice - unknown}"
    missing = set(mailing.people) - set(accepted)
    assert not missing, f"never delivered: {missing}"
    states = mailing.states(present=True)
    sent = {key for key, state in states.items() if state == "sent"}
    assert sent == set(mailing.people), states
    # status: what the relay accepted, among the mailing's addressees, is what is sent
    assert {a for a in accepted if a in states} == sent
    code, out = in_process_status(mailing)
    assert code == 0
    assert f"sent {len(mailing.people)}" in out


def in_process_status(mailing: Mailing) -> tuple[int, str]:
    code, out, _ = run("status", mailing.path)
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    return code, "\n".join(lines)


# -- issue 20: approve, send, archive, bounces, edits of any input, and kills --------------
#
# The same mailing with ``approval = "required"`` and a letterhead with its logo. Hypothesis
# draws a sequence of steps: approve (or approve killed after k messages were frozen), send
# (or send killed after k letters arrived), archive, bounces (with a fix list, sometimes
# aimed at the workbook), and edits of the workbook, the mailing file, the letterhead, the
# logo, the annex or a template. After every step:
#
# - no command printed a traceback;
# - no command changed an input (the mailing file, workbook, letterhead, logo);
# - every file holding personal data (approvals, journal, fix lists, archives) is 0600;
#
# (the inputs: the mailing file, workbook, letterhead, logo, an annex and a template of
# its own templates folder), and at the end (a last approve and send):
#
# - every message the relay accepted is, but for its Date:, a message that was approved;
# - no address received its letter twice unless dispatch reported it unknown.

EDITS = ("edit-workbook", "edit-mailing", "edit-letterhead", "edit-logo", "edit-annex")
EDITS += ("edit-template",)
STEPS = st.one_of(
    st.tuples(st.just("approve"), st.just(0)),
    st.tuples(st.just("approve-killed"), st.integers(0, 4)),  # after k messages frozen
    st.tuples(st.just("send"), st.just(0)),
    st.tuples(st.just("send-killed"), st.integers(0, 4)),  # after k letters arrived
    st.tuples(st.just("archive"), st.just(0)),
    st.tuples(st.just("bounces"), st.booleans().map(int)),  # 1: fix list over the workbook
    st.tuples(
        st.sampled_from(EDITS),
        st.just(0),
    ),
)
APPROVED_PEOPLE = 5
LETTERHEAD_FILE = 'logo = "logo.svg"\nphone = "+41 22 555 01 00"\n'
ANNEX = 'annexes = [{ title = { fr = "Programme", en = "Programme" }, file = "programme.txt" }]\n'


class ApprovedMailing(Mailing):
    """The mailing of the test above, approval required, with a letterhead and its logo."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.people = self.people[:APPROVED_PEOPLE]
        self.write_workbook()
        text = self.path.read_text(encoding="utf-8")
        own = 'approval = "required"\ntemplates = "../templates"\n' + ANNEX
        self.path.write_text(
            own + text + '\n[letterhead]\nfile = "../letterhead.toml"\n', encoding="utf-8"
        )
        self.annex = self.path.parent / "programme.txt"
        self.annex.write_text("Programme\n", encoding="utf-8")
        self.templates = root / "templates"
        for lang in ("fr", "en"):
            shutil.copytree(ROOT / "templates" / lang, self.templates / lang)
        shutil.copy(ROOT / "templates" / "print.css", self.templates / "print.css")
        self.template = self.templates / "fr" / "invitation.html"
        self.letterhead = root / "letterhead.toml"
        self.letterhead.write_text(LETTERHEAD_FILE, encoding="utf-8")
        self.logo = root / "logo.svg"
        self.logo.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
        self.edits = 0
        self.written: list[Path] = []  # fix lists and archives

    @property
    def inputs(self) -> tuple[Path, ...]:
        return (self.path, self.workbook, self.letterhead, self.logo, self.annex, self.template)

    def snapshot(self) -> dict[Path, bytes]:
        return {path: path.read_bytes() for path in self.inputs}

    def change(self, kind: str) -> None:
        self.edits += 1
        if kind == "edit-workbook":
            self.edit("add")
        elif kind == "edit-mailing":
            self.edit("reference")
        elif kind == "edit-letterhead":
            self.letterhead.write_text(
                LETTERHEAD_FILE.replace("01 00", f"01 {self.edits:02d}"), encoding="utf-8"
            )
        elif kind == "edit-logo":
            self.logo.write_bytes(self.logo.read_bytes().replace(b"/>", b"><g/></svg>", 1))
        elif kind == "edit-annex":
            self.annex.write_text(f"Programme, version {self.edits}\n", encoding="utf-8")
        else:
            self.template.write_text(self.template.read_text() + "{# edited #}\n")

    def private_files(self) -> list[Path]:
        folder = self.path.parent
        found = [*self.written]
        for records in (paths.approval_dir(folder), paths.journal_dir(folder)):
            found += [p for p in records.rglob("*") if p.is_file() and not p.is_symlink()]
        return [p for p in found if p.exists()]


def cli(*args: str | Path) -> tuple[int, str]:
    """Run a command in this process; a Python exception is a traceback: it fails here."""
    code, _, err = run(*args)
    return code, err


def killed_approve(mailing: ApprovedMailing, frozen: int) -> str:
    """``dispatch approve`` in a child, SIGKILLed once ``frozen`` messages are written."""
    before = set(paths.approval_dir(mailing.path.parent).glob("*"))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, "0", "approve", str(mailing.path), "--contacts",
         str(mailing.workbook), "--by", "Killed Midway"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while child.poll() is None and time.monotonic() < deadline:
        new = set(paths.approval_dir(mailing.path.parent).glob("*")) - before
        if sum(len(list(f.rglob("*.eml"))) for f in new) >= frozen:
            child.kill()
            break
        time.sleep(0.005)
    _, err = child.communicate(timeout=120)
    return err.decode(errors="replace") if child.returncode != -signal.SIGKILL else ""


def step(mailing: ApprovedMailing, sink: Sink, kind: str, n: int, count: int) -> str:
    """Run one step; what it printed on stderr."""
    where = ("--contacts", mailing.workbook)
    if kind == "approve":
        return cli("approve", mailing.path, *where, "--by", f"Approver {count}")[1]
    if kind == "approve-killed":
        return killed_approve(mailing, n)
    if kind == "send":
        return in_process_run(mailing)[1]
    if kind == "send-killed":
        return child_run(mailing, sink, kill_after=n, limit=0)
    if kind == "archive":
        out = mailing.root / f"archive-{count}.zip"
        mailing.written.append(out)
        return cli("archive", mailing.path, "--out", out, *where)[1]
    if kind == "bounces":
        box = mailing.root / "bounces.mbox"
        if not box.exists():
            target = mailing.people[0]
            notification = (
                "From: MAILER-DAEMON@mta.example.org\nTo: tsb@example.org\n"
                "Subject: Undelivered\nMIME-Version: 1.0\nContent-Type: multipart/report; "
                'report-type=delivery-status; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
                "Failed.\n--b\nContent-Type: message/delivery-status\n\n"
                f"Reporting-MTA: dns; mta.example.org\n\nFinal-Recipient: rfc822; {target}\n"
                "Action: failed\nStatus: 5.1.1\n\n--b\nContent-Type: text/rfc822-headers\n\n"
                f"Message-ID: {mailing.message_id(target)}\nSubject: x\n\n--b--\n"
            )
            box.write_text("From MAILER-DAEMON Mon Dec  7 10:00:00 2026\n" + notification)
        fix = mailing.workbook if n else mailing.root / f"fix-{count}.xlsx"
        if not n:
            mailing.written.append(fix)
        code, err = cli("bounces", mailing.path, "--from", box, "--fix-list", fix, *where)
        if n:
            assert code == 2 and "would replace it" in err, err
        return err
    mailing.change(kind)
    return ""


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=EXAMPLES <= 3,
)
@given(steps=st.lists(STEPS, min_size=2, max_size=7))
@example(  # the tour: approve, a send killed midway, a telephone fix, a wrong fix list...
    steps=[
        ("approve", 0),
        ("send-killed", 2),
        ("edit-letterhead", 0),
        ("send", 0),  # refused: the letterhead changed since the approval
        ("bounces", 1),  # refused: the fix list would replace the workbook
        ("approve", 0),
        ("send", 0),
        ("archive", 0),
    ]
)
@example(  # an approval killed while it froze the messages is never in force
    steps=[("approve", 0), ("edit-template", 0), ("approve-killed", 2), ("send", 0)]
)
def test_approve_send_archive_bounces_edits_and_kills_send_only_what_was_approved(
    steps: list[tuple[str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as folder, Sink() as sink:
        mailing = ApprovedMailing(Path(folder))
        old = {k: os.environ.get(k) for k in environment(sink) if k.startswith("DISPATCH_")}
        os.environ.update({k: v for k, v in environment(sink).items() if k.startswith("DISP")})
        unknown: set[str] = set()
        try:
            for count, (kind, n) in enumerate([*steps, ("approve", 0), ("send", 0)]):
                before = mailing.snapshot()
                err = step(mailing, sink, kind, n, count)
                assert "Traceback" not in err, (kind, err)
                if not kind.startswith("edit"):
                    assert mailing.snapshot() == before, f"{kind} changed an input"
                loose = [p for p in mailing.private_files() if p.stat().st_mode & 0o077]
                assert not loose, f"not private after {kind}: {loose}"
                unknown |= {k for k, s in mailing.states().items() if s in ("unknown", "sending")}
        finally:
            for key, value in old.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        journal_file = paths.journal_path(mailing.path.parent)
        with Journal.open(journal_file, readonly=True) as journal:
            recorded = recorded_approvals(journal)  # not a folder whose writing was killed
        approved = {
            with_date(path.read_bytes(), "-")
            for record in recorded
            for path in (mailing.path.parent / record.folder).rglob("*.eml")
        }
        accepted = [r for r in sink.recorder.received if r.accepted]
        for received in accepted:
            assert with_date(received.data, "-") in approved, "sent but never approved"
        twice = {a for a, k in Counter(r.rcpt_tos[0] for r in accepted).items() if k > 1}
        assert twice <= unknown, f"sent twice without being reported unknown: {twice - unknown}"
