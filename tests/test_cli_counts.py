"""Counts that add up: letters, distinct addressees, copies, and every workbook row that
got no letter with its reason, per language; the category wording in each language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dispatch.job import Selection, check_mailing
from dispatch.prepare import INACTIVE, NOT_ADDRESSED, NOT_CATEGORY
from tests.conftest import WorkbookFactory, person
from tests.helpers import run

MakeMailing = Callable[..., Path]

PEOPLE = [
    person("anne.martin@example.org", categories="MS, SGC", cc="assistant@example.org"),
    person("john.smith@example.org", categories="MS", language="en", last_name="Smith"),
    person("prof.lee@example.org", categories="AC", language="en", last_name="Lee"),
    person("gone@example.org", active="no", last_name="Gone"),
    person("press@example.org", categories="PRESS", language="en", last_name="Press"),
]
CATEGORIES = [
    ["code", "fr", "en"],
    ["MS", "Aux États Membres", "Member States"],
    ["AC", "Aux établissements universitaires", "Academia"],
    ["SGC", "Aux Présidents des commissions d'études", "Study Group Chairmen"],
    ["PRESS", "À la presse", "Press"],
]


def test_every_row_is_a_letter_or_has_a_reason_per_language(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    workbook = make_workbook(PEOPLE, categories=CATEGORIES)
    prepared = check_mailing(make_mailing(), Selection(contacts=workbook, category=("MS", "SGC")))
    tally = prepared.tally()
    assert tally.letters == {"fr": 1, "en": 1}
    assert tally.addressees == 2
    assert tally.left_out == {
        (NOT_CATEGORY, "en"): 1,  # prof.lee, in AC only
        (INACTIVE, "fr"): 1,
        (NOT_ADDRESSED, "en"): 1,  # press: PRESS is not in the mailing
    }
    assert tally.total_letters + sum(tally.left_out.values()) == tally.total_rows == 5
    assert tally.in_several == 1  # anne: MS and SGC
    assert tally.category_rows == 3
    assert tally.copies == {"fr": 1, "en": 0}


def test_check_says_why_rows_got_no_letter_and_who_is_in_several_categories(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    workbook = make_workbook(PEOPLE, categories=CATEGORIES)
    code, out, err = run("check", make_mailing(), "--contacts", workbook)
    assert code == 0, err
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert "With a letter 1 2 3" in lines
    assert "No letter: inactive 1 0 1" in lines
    assert "No letter: not in the categories of this mailing 0 1 1" in lines
    assert "Rows 2 3 5" in lines
    assert "3 letters to 3 distinct addressees." in lines
    assert (
        "1 addressee is in several categories: the category rows add up to 4 for 3 "
        "letters, each letter counted once per category." in lines
    )
    assert (
        "1 Cc address gets a copy of their row's letter as well (the workbook's cc column)."
        in lines
    )
    # Each category in the words of each language of the letters.
    assert "MS fr: Aux États Membres 1 1 2" in lines
    assert "en: Member States" in lines


def test_check_list_excluded_names_each_row_without_a_letter_and_why(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    workbook = make_workbook(PEOPLE, categories=CATEGORIES)
    args = ("check", make_mailing(), "--contacts", workbook, "--category", "MS", "--category")
    code, out, err = run(*args, "SGC", "--list-excluded")
    assert code == 0, err
    assert (
        "3 rows get no letter (contacts.xlsx):\n"
        '- sheet Contacts, row 4, "prof.lee@example.org": left out by --category\n'
        '- sheet Contacts, row 5, "gone@example.org": inactive\n'
        '- sheet Contacts, row 6, "press@example.org": not in the categories of this mailing\n'
    ) in out
    code, out, err = run("check", make_mailing(), "--contacts", workbook)
    assert "rows get no letter" not in out  # only when asked
