"""Issue 13, the journal's holes: 5 (WAL), 6 (Message-IDs), 2 and 4 (whose journal),
7 (damaged, full, read-only), 8 (rows that left), 13 (private files)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dispatch import paths
from dispatch.errors import JournalError, OutputError
from dispatch.journal import (
    Change,
    Journal,
    JournalMismatch,
    JournalMissing,
    MailingLock,
    evidence_of_sends,
)
from dispatch.journal.writer import JournalWriter
from dispatch.send import Outgoing
from tests.helpers import mode
from tests.mounts import remount_readonly, tmpfs


def message(n: int, *, digest: str = "d0", reference: str = "2026/01") -> Outgoing:
    to = f"invite{n:05d}@example.org"
    return Outgoing(
        key=to,
        message_id=f"<{reference.replace('/', '-')}.{n:05d}@example.org>",
        sender="secretariat@example.org",
        recipients=(to,),
        data=b"",
        digest=digest,
        language="fr",
        categories=("member",),
    )


@pytest.fixture
def mailing(tmp_path: Path) -> Path:
    folder = tmp_path / "circulaire-janvier"
    folder.mkdir()
    (folder / "mailing.toml").write_text('reference = "2026/01"\n', encoding="utf-8")
    return folder


def journal_of(folder: Path) -> Path:
    return paths.journal_path(folder)


def copy_alone(path: Path, into: Path) -> Path:
    """The journal file copied without its -wal and -shm, as a careless backup does."""
    into.mkdir(exist_ok=True)
    return Path(shutil.copy2(path, into / path.name))


def sent_count(path: Path) -> int:
    with Journal.open(path, readonly=True) as journal:
        return journal.counts()["sent"]


def send_some(journal: Journal, total: int, sent: int) -> None:
    journal.plan([message(n) for n in range(total)])
    for n in range(sent):
        journal.mark_sending(message(n).key)
        journal.mark_sent(message(n).key, 250, "2.0.0 queued")


# -- hole 5: a journal copied without its -wal ------------------------------------------


def test_after_a_run_the_journal_file_alone_holds_every_committed_row(
    mailing: Path, tmp_path: Path
) -> None:
    path = journal_of(mailing)
    # `dispatch status` reading meanwhile: the run's connection is not the last one, so
    # SQLite's own checkpoint at the last close does not happen.
    with Journal.open(path) as journal, Journal.open(path, readonly=True) as reader:
        if True:
            send_some(journal, total=40, sent=25)
            journal.close()
            copy = copy_alone(path, tmp_path / "backup")
            assert reader.counts()["sent"] == 25
    assert sent_count(copy) == 25


def test_an_interrupted_run_leaves_its_committed_rows_in_the_journal_file(
    mailing: Path, tmp_path: Path
) -> None:
    path = journal_of(mailing)
    Journal.open(path).close()
    with Journal.open(path, readonly=True) as reader:
        with pytest.raises(KeyboardInterrupt), Journal.open(path) as journal:
            send_some(journal, total=40, sent=12)
            raise KeyboardInterrupt  # Ctrl-C in the middle of the run
        copy = copy_alone(path, tmp_path / "backup")
        assert reader.counts()["sent"] == 12
    assert sent_count(copy) == 12


def test_the_journal_writer_checkpoints_when_it_stops(mailing: Path, tmp_path: Path) -> None:
    path = journal_of(mailing)
    with Journal.open(path) as journal, Journal.open(path, readonly=True) as reader:
        journal.plan([message(n) for n in range(10)])
        writer = JournalWriter(journal)
        for n in range(10):
            writer.submit(Change.sending(message(n).key)).result()
            writer.post(Change.sent_ok(message(n).key, 250, "2.0.0 ok"))
        writer.close()
        # the journal is still open (a library caller goes on): the file alone is whole
        copy = copy_alone(path, tmp_path / "backup")
        assert reader.counts()["sent"] == 10
    assert sent_count(copy) == 10


_KILLED_RUN = """
    import sys, time
    from pathlib import Path
    from dispatch.journal import Journal
    from tests.test_holes_journal import message
    journal = Journal.open(Path(sys.argv[1]))
    journal.plan([message(n) for n in range(50)])
    for n in range(20):
        journal.mark_sending(message(n).key)
        journal.mark_sent(message(n).key, 250, "2.0.0 queued")
    journal.mark_sending(message(20).key)  # in flight when killed
    print("ready", flush=True)
    time.sleep(60)
"""


def test_after_a_sigkill_the_next_opening_puts_the_wal_into_the_journal_file(
    mailing: Path, tmp_path: Path
) -> None:
    """What a copy of journal.sqlite3 alone holds after a kill: the rows as they stood at
    its last checkpoint (the opening of the killed run, or SQLite's own every ~4 MB of
    changes). The rows committed after are in journal.sqlite3-wal only, until the next
    opening for writing (any dispatch send) puts them into the file."""
    path = journal_of(mailing)
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_KILLED_RUN), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert path.with_name("journal.sqlite3-wal").stat().st_size > 0

    stale = copy_alone(path, tmp_path / "copied-right-after-the-kill")
    with Journal.open(stale, readonly=True) as journal:
        assert journal.counts()["sent"] == 0  # what a copy without its -wal holds

    with Journal.open(path) as journal:  # the next run
        assert journal.recovered == 1
        counts = journal.counts()
        assert (counts["sent"], counts["unknown"], counts["planned"]) == (20, 1, 29)
        copy = copy_alone(path, tmp_path / "copied-after-the-next-opening")
    with Journal.open(copy, readonly=True) as journal:
        counts = journal.counts()
        assert (counts["sent"], counts["unknown"], counts["planned"]) == (20, 1, 29)


# -- hole 6: Message-IDs that change between attempts -------------------------------------


def test_a_reference_corrected_between_runs_keeps_each_message_id(journal_path: Path) -> None:
    first = message(1, reference="2026/01")
    with Journal.open(journal_path) as journal:
        journal.plan([first])
        journal.mark_sending(first.key)
        journal.mark_unknown(first.key, "connection lost after the content")

    corrected = message(1, reference="2026/001", digest="d1")  # the reference, fixed
    with Journal.open(journal_path) as journal:
        assert journal.message_id_for(corrected.key, corrected.message_id) == first.message_id
        with pytest.raises(JournalError, match="under a new Message-ID"):
            journal.plan([corrected], retry_unknown=True)  # never sent under another ID
        built = replace(corrected, message_id=journal.message_id_for(corrected.key, "x"))
        plan = journal.plan([built], retry_unknown=True)
        assert [m.message_id for m in plan.to_send] == [first.message_id]
        row = journal.row(first.key)
        assert row is not None
        assert (row.message_id, row.digest) == (first.message_id, "d1")


def test_a_new_addressee_gets_the_proposed_message_id(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        assert journal.message_id_for("new@example.org", "<p@example.org>") == "<p@example.org>"
        journal.plan([message(7)])
        assert journal.message_ids() == {message(7).key: message(7).message_id}


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return paths.journal_path(tmp_path / "m")


# -- holes 2 and 4: whose journal is it, and is it still there ----------------------------


def sent_mailing(folder: Path, reference: str = "2026/01") -> None:
    with Journal.open_for_mailing(
        journal_of(folder), folder=folder, reference=reference
    ) as journal:
        send_some(journal, total=5, sent=5)


def test_a_copied_folder_with_a_new_reference_is_refused_naming_the_flag(
    mailing: Path, tmp_path: Path
) -> None:
    sent_mailing(mailing)
    copy = tmp_path / "circulaire-fevrier"
    shutil.copytree(mailing, copy)

    with pytest.raises(JournalMismatch) as caught:
        Journal.open_for_mailing(journal_of(copy), folder=copy, reference="2026/02")
    text = str(caught.value)
    assert str(journal_of(copy)) in text
    assert f"made in {mailing} for 2026/01" in text
    assert "run again with --new-mailing" in text


def test_new_mailing_sets_the_copied_journal_aside_and_starts_a_new_one(
    mailing: Path, tmp_path: Path
) -> None:
    sent_mailing(mailing)
    copy = tmp_path / "circulaire-fevrier"
    shutil.copytree(mailing, copy)
    with Journal.open(journal_of(copy), readonly=True) as old:
        old_identity = old.identity()

    with Journal.open_for_mailing(
        journal_of(copy), folder=copy, reference="2026/02", new_mailing=True
    ) as journal:
        assert sum(journal.counts().values()) == 0
        identity = journal.identity()
    assert identity is not None and old_identity is not None
    assert identity.id != old_identity.id
    aside = list(paths.journal_dir(copy).glob("journal.set-aside-*.sqlite3"))
    assert len(aside) == 1
    assert sent_count(aside[0]) == 5  # kept, readable


@pytest.mark.parametrize(
    ("move", "reference"),
    [("rename", "2026/01"), ("none", "2026/001"), ("copy", "2026/01")],
    ids=["folder-renamed", "reference-corrected-in-place", "copied-unchanged"],
)
def test_one_mailing_moved_or_corrected_keeps_its_journal(
    mailing: Path, tmp_path: Path, move: str, reference: str
) -> None:
    sent_mailing(mailing)
    folder = mailing
    if move == "rename":
        folder = mailing.rename(tmp_path / "renamed")
    elif move == "copy":
        folder = Path(shutil.copytree(mailing, tmp_path / "copy"))
    with Journal.open_for_mailing(
        journal_of(folder), folder=folder, reference=reference
    ) as journal:
        assert journal.counts()["sent"] == 5
        identity = journal.identity()
    assert identity is not None
    assert (identity.folder, identity.reference) == (str(folder.resolve()), reference)


def test_a_copy_put_in_the_old_folder_s_place_is_still_recognised(
    mailing: Path, tmp_path: Path
) -> None:
    sent_mailing(mailing)
    copy = Path(shutil.copytree(mailing, tmp_path / "copy"))
    mailing.rename(tmp_path / "archive")
    copy.rename(mailing)  # same path, another folder
    with pytest.raises(JournalMismatch):
        Journal.open_for_mailing(journal_of(mailing), folder=mailing, reference="2026/02")


def test_a_deleted_journal_next_to_its_marker_is_refused(mailing: Path) -> None:
    sent_mailing(mailing)
    path = journal_of(mailing)
    path.unlink()

    with pytest.raises(JournalMissing) as caught:
        Journal.open_for_mailing(path, folder=mailing, reference="2026/01")
    text = str(caught.value)
    assert f"{path}: the journal is missing or empty" in text
    assert "journal.sqlite3.id" in text
    assert "run again with --new-mailing" in text
    assert not path.exists()  # nothing created meanwhile


def test_status_without_the_journal_but_with_its_marker_says_it_is_missing(
    mailing: Path,
) -> None:
    sent_mailing(mailing)
    journal_of(mailing).unlink()
    with pytest.raises(JournalMissing, match="was sent before"):
        Journal.open(journal_of(mailing), readonly=True)  # not "nothing was sent"


def test_an_emptied_journal_is_missing_too_and_new_mailing_sets_the_evidence_aside(
    mailing: Path,
) -> None:
    sent_mailing(mailing)
    path = journal_of(mailing)
    path.write_bytes(b"")
    with pytest.raises(JournalMissing):
        Journal.open(path)
    with Journal.open(path, new_mailing=True) as journal:
        assert sum(journal.counts().values()) == 0
    assert evidence_of_sends(path) != []  # the new journal's own marker
    assert list(path.parent.glob("journal.set-aside-*.sqlite3.id"))


def test_a_dry_run_s_lock_alone_is_no_evidence(mailing: Path) -> None:
    path = journal_of(mailing)
    with MailingLock(path.parent / "lock"):
        pass
    with Journal.open(path) as journal:
        assert sum(journal.counts().values()) == 0


# -- hole 7: damaged journals, full disks, read-only folders ---------------------------


def a_sent_journal(path: Path, total: int = 300) -> None:
    with Journal.open(path) as journal:
        send_some(journal, total=total, sent=total)


def zero_pages(path: Path) -> None:
    path.write_bytes(bytes(4096 * 4))


def garbage(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04 this is a spreadsheet, not a journal" * 200)


def another_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE contacts (email TEXT)")
        db.execute("PRAGMA user_version = 2")
    db.close()


def damaged_pages(path: Path) -> None:
    a_sent_journal(path)
    data = bytearray(path.read_bytes())
    assert len(data) > 4096 * 6
    data[4096 * 3 : 4096 * 5] = b"\xa5" * 8192  # two pages of the table overwritten
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda p: p.write_bytes(b""), "it has no table of messages, so it is not a whole"),
        (zero_pages, "the journal cannot be read"),
        (garbage, "is damaged or is not a dispatch journal"),
        (another_database, "it has no table of messages"),
        (damaged_pages, "damaged"),
    ],
    ids=["0-byte", "zero-paged", "garbage", "no-such-table", "malformed"],
)
def test_status_refuses_a_damaged_journal_saying_where_and_what_to_do(
    tmp_path: Path, damage: Callable[[Path], None], words: str
) -> None:
    path = tmp_path / "journal.sqlite3"
    damage(path)
    with pytest.raises(JournalError) as caught, Journal.open(path, readonly=True) as journal:
        journal.counts()  # the first release reported "sent 300" here
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert words in text
    assert "Keep a copy" in text


def test_a_malformed_journal_is_refused_for_writing_too(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    damaged_pages(path)
    with pytest.raises(JournalError, match="damaged"):
        Journal.open(path)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", size="256k") as disk:
        yield disk


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` but ``leave`` bytes (rounded to pages) with a file to delete later."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    assert free == 0
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_a_full_disk_during_a_run_says_full_never_damaged(small_disk: Path) -> None:
    path = paths.journal_path(small_disk)
    with Journal.open(path) as journal:
        journal.plan([message(n) for n in range(5)])
        filler = fill(small_disk, leave=0)
        with pytest.raises(JournalError) as caught:
            journal.plan([message(n, digest="x" * 2000) for n in range(400)])
        text = str(caught.value)
        assert f"{path}: the disk holding the journal is full" in text
        assert "damaged" not in text
        assert "Free some space" in text
        filler.unlink()
    with Journal.open(path) as journal:  # intact: the failed plan left nothing
        assert journal.counts()["planned"] == 5


def test_opening_a_journal_with_a_few_kilobytes_free_says_full(small_disk: Path) -> None:
    path = paths.journal_path(small_disk)
    path.parent.mkdir()
    fill(small_disk, leave=8192)
    with pytest.raises((JournalError, OutputError)) as caught:
        Journal.open(path)
    text = str(caught.value)
    assert "full" in text
    assert "damaged" not in text


def test_a_full_disk_when_taking_the_lock_is_a_journal_error(small_disk: Path) -> None:
    lock = paths.lock_path(small_disk)
    lock.parent.mkdir()
    fill(small_disk, leave=0)
    with pytest.raises(JournalError) as caught:
        MailingLock(lock).acquire()
    assert f"{lock}: No space left on device while taking the mailing's lock" in str(caught.value)
    assert "the disk is full" in str(caught.value)


def test_a_read_only_mailing_folder_is_an_error_saying_what_to_do(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", size="1m") as disk:
        path = paths.journal_path(disk / "mailing")
        a_sent_journal(path, total=10)
        remount_readonly(disk)

        with pytest.raises((JournalError, OutputError)) as caught:
            Journal.open(path)
        assert "read-only" in str(caught.value)
        with pytest.raises(JournalError) as locked:
            MailingLock(path.parent / "new-lock").acquire()
        assert "read-only" in str(locked.value)
        with Journal.open(path, readonly=True) as journal:  # status still reads it
            assert journal.counts()["sent"] == 10


# -- hole 8: rows that left the mailing -------------------------------------------------


def test_rows_that_left_are_withdrawn_unless_they_were_sent(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        send_some(journal, total=4, sent=2)  # 0 and 1 sent, 2 and 3 planned
        left = journal.withdraw([message(0).key, message(2).key])  # 1 and 3 left
        assert (left["sent"], left["planned"]) == (1, 1)
        counts = journal.counts()
        assert (counts["sent"], counts["planned"]) == (2, 1)  # 3 no longer counted
        rows = {row.key: row for row in journal.rows()}
        assert rows[message(3).key].withdrawn
        assert rows[message(1).key].left_at is not None
        assert not rows[message(1).key].withdrawn  # "sent, no longer in the mailing"

        journal.plan([message(0), message(2), message(3)])  # 3 is back
        assert journal.counts()["planned"] == 2
        assert journal.left()["planned"] == 0


# -- hole 13: personal data world-readable ----------------------------------------------


@pytest.mark.usefixtures("umask_022")
def test_the_journal_its_wal_the_lock_and_their_folder_are_private(mailing: Path) -> None:
    path = journal_of(mailing)
    with MailingLock(path.parent / "lock"), Journal.open(path) as journal:
        journal.plan([message(1)])
        assert mode(path.with_name("journal.sqlite3-wal")) == 0o600
        assert mode(path.with_name("journal.sqlite3-shm")) == 0o600
        assert mode(path.parent / "lock") == 0o600
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.with_name("journal.sqlite3.id")) == 0o600


@pytest.mark.usefixtures("umask_022")
def test_a_journal_made_world_readable_by_an_older_version_is_tightened(mailing: Path) -> None:
    path = journal_of(mailing)
    a_sent_journal(path, total=1)
    path.chmod(0o644)
    path.parent.chmod(0o755)
    with Journal.open(path):
        pass
    assert (mode(path), mode(path.parent)) == (0o600, 0o700)


# -- a link planted where the lock or the journal goes, with or without O_NOFOLLOW ------


@pytest.mark.parametrize("nofollow", [True, False], ids=["O_NOFOLLOW", "no-O_NOFOLLOW"])
@pytest.mark.parametrize("target", ["lock", "journal"])
def test_a_link_planted_at_the_lock_or_the_journal_is_refused_and_its_target_untouched(
    mailing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nofollow: bool, target: str
) -> None:
    from dispatch.journal import disk

    if not nofollow:  # as on Windows: the lstat checks stand in for the flag
        monkeypatch.setattr(disk, "_NOFOLLOW", 0)
        monkeypatch.setattr(disk, "_OPEN", disk._OPEN & ~getattr(os, "O_NOFOLLOW", 0))
    private = tmp_path / "private.txt"
    private.write_text("someone's own file\n", encoding="utf-8")
    private.chmod(0o644)
    planted = paths.lock_path(mailing) if target == "lock" else paths.journal_path(mailing)
    planted.parent.mkdir(mode=0o700)
    planted.symlink_to(private)
    with pytest.raises(JournalError) as caught:
        if target == "lock":
            MailingLock(planted).acquire()
        else:
            Journal.open(planted)
    assert str(planted) in str(caught.value)
    assert private.read_text(encoding="utf-8") == "someone's own file\n"
    assert mode(private) == 0o644
