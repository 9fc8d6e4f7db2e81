"""Terminal text that reads well at 80 columns (words wrapped, never cut), whole tables
in a log, and `status` as a manager reads it: local times, copies refused, addresses
that were corrected."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import helpers
from tests.conftest import WorkbookFactory, no_copy, person
from tests.smtp_server import Sink

MakeMailing = Callable[..., Path]

#: Every command here runs in a terminal 80 columns wide.
run = functools.partial(helpers.run, columns=80)
BORDERS = re.compile(r"[│┃║|┏┓┗┛┡┩┠┨━─═╇╈┳┻╋┼┬┴┌┐└┘├┤╭╮╰╯]")
LONG = "ministere.des.postes.et.des.telecommunications.de.valmont@example.org"


def words(text: str) -> list[str]:
    """The words of ``text``, without table borders and the punctuation around them."""
    return [w.strip("()<>,.:;`'") for w in BORDERS.sub(" ", text).split()]


def assert_words_whole(source: str, shown: str) -> None:
    """Every word of ``source`` is a whole word of ``shown``: none was cut in two."""
    found = set(words(shown))
    cut = [word for word in words(source) if word not in found]
    assert not cut, f"cut or missing: {cut}\n{shown}"


def assert_fits(text: str, columns: int = 80) -> None:
    too_long = [line for line in text.splitlines() if len(line) > columns]
    assert not too_long, too_long


@pytest.fixture
def paris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def people(first: str, *, cc: str = "") -> list[dict[str, str]]:
    return [
        person("anne.martin@example.org", cc=cc),
        person(first, language="en", first_name="John", last_name="Smith"),
        person(LONG, categories="AC", language="en", last_name="Lee"),
    ]


def test_an_error_at_80_columns_wraps_between_words(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    code, _, err = run("check", make_mailing(), "--contacts", make_workbook(), "--category", "x")
    assert code == 2
    assert_fits(err)
    assert_words_whole("has no category X. Check the code given to --category.", err)


def test_a_send_at_80_columns_wraps_words_and_folds_only_long_addresses(
    sink: Sink,
    relay_env: None,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    sink.recorder.faults.refuse_rcpt.add(LONG)
    mailing = make_mailing(no_copy())
    code, out, err = run(
        "send", mailing, "--contacts", make_workbook(people("john@example.org")), "--yes"
    )
    assert code == 1
    assert_fits(out + err)
    reason = "Recipient address rejected: User unknown"
    assert_words_whole(reason, err)
    assert_words_whole("shows each address and the relay's reply.", err)
    # The long address is folded in its column, not cut with an ellipsis.
    assert "…" not in out + err
    assert LONG in "".join(re.findall(r"│ ?(\S+)", err))


def test_in_a_log_tables_are_whole_and_lines_are_not_wrapped(
    sink: Sink,
    relay_env: None,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    sink.recorder.faults.refuse_rcpt.add(LONG)
    code, out, err = run(
        "send",
        make_mailing(no_copy()),
        "--contacts",
        make_workbook(people("john@example.org")),
        "--yes",
        columns=None,
    )
    assert code == 1
    row = next(line for line in err.splitlines() if LONG in line)
    assert "Recipient address rejected: User unknown" in row
    assert len(row) > 80
    assert any(len(line) > 100 for line in (out + err).splitlines())


def test_status_shows_local_times_copies_refused_and_corrected_addresses(
    sink: Sink,
    relay_env: None,
    paris: None,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    typo, fixed = "john.smiht@example.org", "john.smith@example.org"
    sink.recorder.faults.refuse_rcpt.update({typo, "wrong.copy@example.org"})
    mailing = make_mailing(no_copy())
    first = make_workbook(people(typo, cc="wrong.copy@example.org"))
    assert run("send", mailing, "--contacts", first, "--yes")[0] == 1
    second = make_workbook(people(fixed, cc="wrong.copy@example.org"), name="fixed.xlsx")
    code, _, err = run("send", mailing, "--contacts", second, "--yes")
    assert code == 0, err

    code, out, err = run("status", mailing, "--contacts", second)
    assert code == 0, err
    assert_fits(out)
    assert re.search(r"│ \d{4}-\d\d-\d\d +│", out), "the date, whole"
    assert re.search(r"│ \d\d:\d\d:\d\d CET +│", out), "the local time, whole, with its zone"
    first_column = [line.split("│")[1].strip() for line in out.splitlines() if "│" in line]
    assert " ".join(first_column).count(f"{typo} (replaced by {fixed})") == 1
    assert "Sent, but a copy (Cc) was refused" in out
    flat = " ".join(words(out))
    assert "anne.martin@example.org wrong.copy@example.org" in flat
    assert "its letter was planned again for the new address" in flat
