"""Group commit: the changes of a run, committed in order by the journal's own thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dispatch.journal import Change, Journal
from dispatch.journal.writer import JournalWriter
from tests.test_journal import message


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    opened = Journal.open(tmp_path / "journal.sqlite3")
    opened.plan([message(n) for n in range(1, 21)])
    return opened


def test_changes_are_committed_in_the_order_they_were_queued(journal: Journal) -> None:
    writer = JournalWriter(journal)

    async def run() -> None:
        waits = []
        for n in range(1, 21):
            waits.append(writer.write(Change.sending(message(n).key)))
            writer.post(Change.sent_ok(message(n).key, 250, "Ok"))  # after its `sending`
        await asyncio.gather(*waits)

    asyncio.run(run())
    writer.close()
    assert journal.counts()["sent"] == 20
    assert 1 <= writer.commits <= 40


def test_a_refused_change_fails_its_waiter_and_not_the_others(journal: Journal) -> None:
    writer = JournalWriter(journal)
    refused = writer.submit(Change.sent_ok(message(1).key, 250, "Ok"))  # never sending
    fine = writer.submit(Change.sending(message(2).key))
    assert fine.result(timeout=10) is None
    with pytest.raises(RuntimeError, match=r"cannot mark 'invite00001@example\.org' sent"):
        refused.result(timeout=10)
    writer.close()


def test_a_refused_change_nobody_waited_for_is_raised_on_closing(journal: Journal) -> None:
    writer = JournalWriter(journal)
    writer.post(Change.unknown(message(3).key, "lost"))  # planned, not sending: refused
    with pytest.raises(RuntimeError, match=r"cannot mark 'invite00003@example\.org' unknown"):
        writer.close()


def test_a_change_queued_after_closing_is_committed_at_once(journal: Journal) -> None:
    writer = JournalWriter(journal)
    writer.submit(Change.sending(message(4).key)).result(timeout=10)
    writer.close()
    writer.post(Change.released(message(4).key, "interrupted before the content"))
    row = journal.row(message(4).key)
    assert row is not None and row.state == "planned"
