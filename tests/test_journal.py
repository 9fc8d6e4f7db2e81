"""The journal of a mailing and its lock: durable states, crash recovery, planning."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from dispatch import paths
from dispatch.errors import JournalError, LockedError
from dispatch.journal import (
    STATES,
    TRANSITIONS,
    Change,
    IllegalTransition,
    Journal,
    MailingLock,
    schema,
)
from dispatch.journal.records import State
from dispatch.paths import journal_path as journal_of
from dispatch.send import Outgoing


def message(n: int, *, digest: str = "d0", cc: tuple[str, ...] = ()) -> Outgoing:
    to = f"invite{n:05d}@example.org"
    return Outgoing(
        key=to,
        message_id=f"<invitation.{n:05d}@example.org>",
        sender="secretariat@example.org",
        recipients=(to, *cc),
        data=b"",
        digest=digest,
        language="fr" if n % 2 else "en",
        categories=("member", "board") if n % 3 == 0 else ("member",),
    )


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return journal_of(tmp_path / "mailings" / "x")


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


# -- opening ---------------------------------------------------------------------------


def test_opening_creates_the_folder_and_uses_write_ahead_logging(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        assert journal_path.is_file()
        assert journal.journal_mode == "wal"
        assert journal.counts() == dict.fromkeys(STATES, 0)
        assert journal.recovered == 0


def test_a_file_that_is_not_a_journal_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"this is a spreadsheet, not a database" * 100)
    with pytest.raises(JournalError, match=r"journal\.sqlite3: the journal cannot be read"):
        Journal.open(path)


def test_reading_a_journal_that_does_not_exist_says_nothing_was_sent(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="nothing was sent"):
        Journal.open(tmp_path / "journal.sqlite3", readonly=True)


# -- planning --------------------------------------------------------------------------


def test_plan_records_new_addressees_as_planned_in_mailing_order(journal_path: Path) -> None:
    messages = [message(n, cc=("board@example.org",) if n == 1 else ()) for n in range(3)]
    with Journal.open(journal_path) as journal:
        plan = journal.plan(messages)
        assert plan.to_send == tuple(messages)
        assert plan.skipped == 0
        rows = journal.rows()
    assert [r.key for r in rows] == [m.key for m in messages]
    assert {r.state for r in rows} == {"planned"}
    assert rows[1].recipients == ("invite00001@example.org", "board@example.org")
    assert rows[0].categories == ("member", "board")
    assert rows[0].attempts == 0 and rows[0].sent_at is None


def test_preview_changes_nothing(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        plan = journal.preview([message(1)])
        assert plan.to_send == (message(1),)
        assert journal.rows() == []


def test_a_sent_message_is_never_planned_again(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1), message(2)])
        journal.mark_sending(message(1).key)
        journal.mark_sent(message(1).key, 250, "2.0.0 Ok: queued as A1")
        plan = journal.plan([message(1), message(2)])
    assert plan.to_send == (message(2),)
    assert plan.already_sent == (message(1),)


def test_a_sent_message_whose_content_changed_is_reported_not_resent(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        journal.mark_sending(message(1).key)
        journal.mark_sent(message(1).key, 250, "Ok")
        edited = message(1, digest="d1")
        plan = journal.plan([edited])
        assert plan.to_send == ()
        assert plan.changed == (edited,)
        row = journal.row(edited.key)
        assert row is not None and row.digest == "d0"  # what was sent stays on record


@pytest.mark.parametrize(
    ("state", "retry_unknown", "retry_failed", "sent_again"),
    [
        ("failed-temporary", False, False, True),
        ("unknown", False, False, False),
        ("unknown", True, False, True),
        ("failed-permanent", False, False, False),
        ("failed-permanent", False, True, True),
    ],
    ids=[
        "temporary-failure-is-sent-again",
        "unknown-is-skipped",
        "unknown-with-retry-unknown-is-sent",
        "permanent-failure-is-skipped",
        "permanent-failure-with-retry-failed-is-sent",
    ],
)
def test_which_failures_a_new_run_sends_again(
    journal_path: Path, state: str, retry_unknown: bool, retry_failed: bool, sent_again: bool
) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        journal.mark_sending(message(1).key)
        if state == "unknown":
            journal.mark_unknown(message(1).key, "connection lost after the content")
        else:
            journal.mark_failed(
                message(1).key, permanent=state == "failed-permanent", code=550, reply="no"
            )
        plan = journal.plan([message(1)], retry_unknown=retry_unknown, retry_failed=retry_failed)
    assert (plan.to_send == (message(1),)) is sent_again
    assert plan.skipped == (0 if sent_again else 1)


def test_an_unsent_message_takes_its_new_content(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        edited = replace(message(1, digest="d2"), recipients=("invite00001@example.org", "c@x.org"))
        assert journal.plan([edited]).to_send == (edited,)
        row = journal.row(edited.key)
    assert row is not None
    assert (row.digest, row.recipients) == ("d2", edited.recipients)


def test_rows_of_addressees_no_longer_in_the_mailing_are_counted(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1), message(2)])
        assert journal.plan([message(2)]).not_in_mailing == 1


def test_two_messages_with_the_same_key_are_refused(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal, pytest.raises(ValueError, match="invite00001"):
        journal.plan([message(1), message(1)])


def test_10000_sent_messages_are_all_left_alone_by_the_next_plan(journal_path: Path) -> None:
    # How long it takes is measured by `make bench` (benchmarks/journal.py), not here.
    messages = [message(n) for n in range(10_000)]
    with Journal.open(journal_path) as journal:
        journal.plan(messages)
        keys = [m.key for m in messages]
        journal.apply([Change.sending(key) for key in keys])
        journal.apply([Change.sent_ok(key, 250, "Ok") for key in keys])
        plan = journal.plan(messages)
        assert journal.counts()["sent"] == 10_000
    assert len(plan.already_sent) == 10_000 and plan.to_send == ()


# -- states ----------------------------------------------------------------------------


def test_each_change_of_state_is_committed_at_once(journal_path: Path) -> None:
    key = message(1).key
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        # Another reader (like `dispatch status`) sees every change as soon as it is made.
        with Journal.open(journal_path, readonly=True) as reader:
            journal.mark_sending(key)
            assert reader.counts()["sending"] == 1
            journal.mark_sent(key, 250, "2.0.0 Ok: queued as A1")
            row = reader.row(key)
    assert row is not None
    assert (row.state, row.code, row.reply, row.attempts) == (
        "sent",
        250,
        "2.0.0 Ok: queued as A1",
        1,
    )
    assert row.sent_at is not None


def test_a_state_change_from_the_wrong_state_is_refused(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        with pytest.raises(RuntimeError, match=r"cannot mark 'invite00001@example\.org' sent"):
            journal.mark_sent(message(1).key, 250, "Ok")  # never marked sending


def test_counts_and_rows_by_state(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(n) for n in range(4)])
        for n, outcome in enumerate(["sent", "permanent", "temporary"]):
            key = message(n).key
            journal.mark_sending(key)
            if outcome == "sent":
                journal.mark_sent(key, 250, "Ok")
            else:
                journal.mark_failed(key, permanent=outcome == "permanent", code=550, reply="no")
        counts = journal.counts()
        failed = journal.rows(["failed-permanent", "failed-temporary"])
    assert counts == {
        "planned": 1,
        "sending": 0,
        "sent": 1,
        "failed-temporary": 1,
        "failed-permanent": 1,
        "unknown": 0,
    }
    assert [r.key for r in failed] == [message(1).key, message(2).key]


def test_a_row_left_sending_by_a_killed_run_becomes_unknown(journal_path: Path) -> None:
    child = run_python(
        """
        import os, signal, sys
        from pathlib import Path
        from dispatch.journal import Journal
        from dispatch.send import Outgoing
        journal = Journal.open(Path(sys.argv[1]))
        journal.plan([Outgoing(f"k{n}", f"<{n}@x>", "s@x.org", (f"k{n}@x.org",), b"", "d",
                               "fr", ()) for n in range(3)])
        journal.mark_sending("k1")
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        str(journal_path),
    )
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with Journal.open(journal_path) as journal:
        assert journal.recovered == 1
        row = journal.row("k1")
        assert journal.counts()["planned"] == 2
    assert row is not None and row.state == "unknown"
    assert "may or may not have accepted" in (row.reply or "")


def test_opening_read_only_leaves_rows_sending(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        journal.mark_sending(message(1).key)
        with Journal.open(journal_path, readonly=True) as reader:
            assert reader.recovered == 0
            assert reader.counts()["sending"] == 1
            with pytest.raises(RuntimeError, match="read-only"):
                reader.mark_sent(message(1).key, 250, "Ok")


# -- the mailing lock ----------------------------------------------------------------

HOLD_LOCK = """
    import sys
    from pathlib import Path
    from dispatch.journal import MailingLock
    with MailingLock(Path(sys.argv[1])):
        print("locked", flush=True)
        sys.stdin.read()
"""


def test_a_second_run_is_refused_and_told_who_holds_the_lock(tmp_path: Path) -> None:
    lock_file = paths.lock_path(tmp_path)
    holder = run_python(HOLD_LOCK, str(lock_file))
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(LockedError) as refused:
            MailingLock(lock_file).acquire()
        assert f"process {holder.pid} on " in str(refused.value)
        assert "Wait for it to finish" in str(refused.value)
    finally:
        holder.communicate("", timeout=30)
    with MailingLock(lock_file):  # released when its holder ends
        assert lock_file.read_text().split()[0] == str(os.getpid())


def test_the_lock_of_a_killed_process_does_not_block(tmp_path: Path) -> None:
    lock_file = paths.lock_path(tmp_path)
    holder = run_python(HOLD_LOCK, str(lock_file))
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    holder.kill()
    holder.communicate(timeout=30)
    assert lock_file.read_text().split()[0] == str(holder.pid)  # stale, left behind
    with MailingLock(lock_file):
        pass


def test_the_lock_is_refused_to_a_second_holder_in_the_same_process(tmp_path: Path) -> None:
    lock_file = tmp_path / "lock"
    with MailingLock(lock_file), pytest.raises(LockedError, match=f"process {os.getpid()}"):
        MailingLock(lock_file).acquire()
    assert lock_file.read_text() == ""  # released: no holder named any more
    with MailingLock(lock_file):
        pass


HIDE_FCNTL = """
    import sys
    sys.modules["fcntl"] = None  # as on Windows: no fcntl module
"""

TRY_LOCK = """
    import sys
    from pathlib import Path
    from dispatch.errors import LockedError
    from dispatch.journal import MailingLock
    try:
        with MailingLock(Path(sys.argv[1])):
            try:
                MailingLock(Path(sys.argv[1])).acquire()
            except LockedError as error:  # a second holder in the same process
                print("locked, then refused again:", error)
    except LockedError as error:
        print("refused:", error)
"""


def test_without_fcntl_the_lock_still_refuses_a_second_run_and_frees_a_killed_one(
    tmp_path: Path,
) -> None:
    lock_file = paths.lock_path(tmp_path)

    def attempt() -> str:
        child = run_python(HIDE_FCNTL + TRY_LOCK, str(lock_file))
        return child.communicate(timeout=30)[0]

    holder = run_python(HIDE_FCNTL + HOLD_LOCK, str(lock_file))
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    refused = attempt()
    assert refused.startswith(f"refused: {lock_file}: another dispatch run")
    assert f"(process {holder.pid} on " in refused
    holder.kill()
    holder.communicate(timeout=30)
    again = attempt()
    assert again.startswith("locked, then refused again:")
    assert "another dispatch run" in again


@contextmanager
def commits(journal: Journal) -> Iterator[list[str]]:
    """The durability in force at each commit of ``journal``: ``FULL`` (flushed to the disk
    before the commit returns) or ``NORMAL`` (safe against a crash of dispatch only).

    Read from SQLite's own trace of what it runs: whatever statements record a change,
    its ``synchronous`` level at the COMMIT is what decides whether a power cut can lose it.
    """
    levels: list[str] = []
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    level = [names[journal._db.execute("PRAGMA synchronous").fetchone()[0]]]

    def seen(statement: str) -> None:
        words = statement.upper().split()
        if words[:2] == ["PRAGMA", "SYNCHRONOUS"] and "=" in words:
            level[0] = words[-1]
        elif words[:1] == ["COMMIT"]:
            levels.append(level[0])

    journal._db.set_trace_callback(seen)
    try:
        yield levels
    finally:
        journal._db.set_trace_callback(None)


def test_marking_sending_is_flushed_to_the_disk_and_other_changes_are_not(
    journal_path: Path,
) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        with commits(journal) as sending:
            journal.mark_sending(message(1).key)
        with commits(journal) as after:
            journal.mark_sent(message(1).key, 250, "Ok")
    assert sending == ["FULL"]  # on the disk before any of the message goes out
    assert after == ["NORMAL"]  # a power cut losing it leaves `sending`: read `unknown`


# -- groups of changes and the inputs' fingerprint -------------------------------------


def test_a_group_of_changes_is_one_commit_and_a_wrong_one_does_not_undo_the_others(
    journal_path: Path,
) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1), message(2), message(3)])
        with commits(journal) as levels:
            errors = journal.apply(
                [
                    Change.sending(message(1).key),
                    Change.sent_ok(message(2).key, 250, "Ok"),  # never sending: refused
                    Change.sending(message(3).key),
                    Change.sent_ok(message(1).key, 250, "Ok"),
                ]
            )
        states = {row.key: row.state for row in journal.rows()}
    assert [e is None for e in errors] == [True, False, True, True]
    assert "cannot mark 'invite00002@example.org' sent: it is planned" in str(errors[1])
    assert states == {
        message(1).key: "sent",
        message(2).key: "planned",
        message(3).key: "sending",
    }
    assert levels == ["FULL"]  # one commit for the group; a `sending` in it: flushed


def test_the_fingerprint_of_the_inputs_is_kept_across_openings(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        assert journal.inputs() is None
        journal.record_inputs("abc")
        journal.record_inputs("def")
    with Journal.open(journal_path, readonly=True) as journal:
        assert journal.inputs() == "def"


def the_first_release_s_journal(path: Path, sent: str) -> None:
    """A journal as dispatch 0.1.0 left it (schema 1), holding one message sent to ``sent``."""
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        schema.migrate(db, upto=1)
        db.execute(
            "INSERT INTO messages (key, message_id, recipients, digest, language, categories,"
            " state, attempts, code, reply, updated_at, sent_at) VALUES (?, ?, ?, 'd0', 'fr',"
            " '[]', 'sent', 1, 250, 'Ok', '2025-01-01T00:00:00+00:00',"
            " '2025-01-01T00:00:00+00:00')",
            (sent, f"<{sent}>", f'["{sent}"]'),
        )


def test_a_journal_of_the_first_schema_is_read_as_it_is_and_upgraded_in_place(
    journal_path: Path,
) -> None:
    the_first_release_s_journal(journal_path, message(1).key)
    with Journal.open(journal_path, readonly=True) as journal:
        assert journal.inputs() is None  # read-only: nothing changes
        assert journal.identity() is None
        assert journal.counts()["sent"] == 1
        row = journal.row(message(1).key)
        assert row is not None and (row.left_at, row.approval, row.bounce) == (None, None, None)
    with Journal.open(journal_path) as journal:
        journal.record_inputs("abc")
        assert journal.inputs() == "abc"
        assert journal.counts()["sent"] == 1
        plan = journal.plan([replace(message(1), message_id=f"<{message(1).key}>"), message(2)])
        assert plan.to_send == (message(2),)  # what the first release sent stays sent
    with closing(sqlite3.connect(journal_path)) as db:
        assert schema.version(db) == schema.SCHEMA_VERSION


def test_a_journal_of_a_newer_version_is_refused_saying_to_upgrade(journal_path: Path) -> None:
    with Journal.open(journal_path):
        pass
    with closing(sqlite3.connect(journal_path)) as db:
        db.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    for readonly in (True, False):
        with pytest.raises(JournalError, match="newer version of dispatch"):
            Journal.open(journal_path, readonly=readonly)


# -- the states of a message: the allowed changes, as the table says -------------------


def _reach(journal: Journal, key: str, state: State) -> None:
    """Bring the planned row ``key`` to ``state`` by allowed changes."""
    if state == "planned":
        return
    journal.mark_sending(key)
    if state == "sent":
        journal.mark_sent(key, 250, "Ok")
    elif state == "unknown":
        journal.mark_unknown(key, "connection lost after the content")
    elif state.startswith("failed-"):
        journal.mark_failed(key, permanent=state == "failed-permanent", code=450, reply="no")


def _change_to(state: State, key: str) -> Change:
    return {
        "planned": Change.released(key, "stopped before the content"),
        "sending": Change.sending(key),
        "sent": Change.sent_ok(key, 250, "Ok"),
        "failed-temporary": Change.failed(key, permanent=False, code=450, reply="later"),
        "failed-permanent": Change.failed(key, permanent=True, code=550, reply="no"),
        "unknown": Change.unknown(key, "no final reply"),
    }[state]


PAIRS = [(a, b) for a in STATES for b in STATES]


@pytest.mark.parametrize(("before", "after"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_each_change_of_state_is_made_or_refused_as_the_table_says(
    journal_path: Path, before: State, after: State
) -> None:
    key = message(1).key
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        _reach(journal, key, before)
        result = journal.apply([_change_to(after, key)])[0]
        row = journal.row(key)
    assert row is not None
    if after in TRANSITIONS[before]:
        assert (result, row.state) == (None, after)
    else:
        assert isinstance(result, IllegalTransition)
        assert f"cannot mark {key!r} {after}: it is {before}" in str(result)
        assert row.state == before  # refused: nothing changed


def test_a_sent_message_can_never_change_again() -> None:
    assert TRANSITIONS["sent"] == ()


def test_an_illegal_change_raises_when_made_alone(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        _reach(journal, message(1).key, "sent")
        with pytest.raises(IllegalTransition, match="it is sent"):
            journal.mark_sending(message(1).key)


# -- what the next run sends, after each way a run can end or be interrupted -----------


@pytest.mark.parametrize(
    ("ended", "sent_again", "shown_as"),
    [
        ("planned", True, "planned"),  # killed before its turn
        ("released", True, "planned"),  # Ctrl-C before its content went out
        ("sent", False, "sent"),
        ("failed-temporary", True, "failed-temporary"),
        ("failed-permanent", False, "failed-permanent"),
        ("unknown", False, "unknown"),  # content out, final reply lost
        ("killed-while-sending", False, "unknown"),  # the process died mid-message
    ],
)
def test_what_the_next_run_sends_again_and_what_status_shows(
    journal_path: Path, ended: str, sent_again: bool, shown_as: State
) -> None:
    key = message(1).key
    with Journal.open(journal_path) as journal:
        journal.plan([message(1)])
        if ended == "released":
            journal.mark_sending(key)
            journal.release(key, "interrupted before the content was transmitted")
        elif ended == "killed-while-sending":
            journal.mark_sending(key)  # and the journal closed as a crash leaves it
        else:
            _reach(journal, key, ended)  # type: ignore[arg-type]
    with Journal.open(journal_path) as journal:
        status = {state: n for state, n in journal.counts().items() if n}
        plan = journal.plan([message(1)])
    assert status == {shown_as: 1}
    assert (plan.to_send == (message(1),)) is sent_again
