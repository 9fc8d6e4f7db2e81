"""Cells staff get wrong are not passed in silence: a date or a number where a name is
expected, hidden or filtered rows, formulas never calculated, spaces around names.
Each is reported with its sheet, row and column."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dispatch.contacts import load_contacts
from dispatch.errors import InvalidInput
from dispatch.job import Selection, check_mailing
from tests.conftest import HEADERS, WorkbookFactory, person

MakeMailing = Callable[..., Path]


def edited(path: Path, edit: Callable[[object], None]) -> Path:
    """The workbook at ``path`` with ``edit`` applied to its Contacts sheet, saved."""
    book = load_workbook(path)
    edit(book["Contacts"])
    book.save(path)
    return path


def column(name: str) -> str:
    return "ABCDEFGHIJKLMNOP"[HEADERS.index(name)]


def test_a_date_or_a_number_in_a_name_column_is_a_warning_with_where(
    make_workbook: WorkbookFactory,
) -> None:
    def edit(sheet: object) -> None:
        sheet[f"{column('first_name')}2"] = dt.datetime(2021, 5, 1)  # type: ignore[index]
        sheet[f"{column('organisation')}3"] = 1234  # type: ignore[index]

    contacts = load_contacts(edited(make_workbook(), edit))
    shown = [str(w) for w in contacts.warnings]
    assert shown == [
        'contacts.xlsx, sheet Contacts, row 2, column "first_name": "2021-05-01" holds a date '
        "where a name or organisation is expected; the letters print it as it is. Type the "
        "text in the cell (format the column as Text if the spreadsheet keeps changing it), "
        "or leave it empty.",
        'contacts.xlsx, sheet Contacts, row 3, column "organisation": "1234" holds a number '
        "where a name or organisation is expected; the letters print it as it is. Type the "
        "text in the cell (format the column as Text if the spreadsheet keeps changing it), "
        "or leave it empty.",
    ]


@pytest.mark.parametrize("filtered", [False, True], ids=["hidden", "filtered"])
def test_hidden_or_filtered_rows_still_get_a_letter_with_a_warning_naming_them(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, filtered: bool
) -> None:
    def edit(sheet: object) -> None:
        if filtered:
            sheet.auto_filter.ref = "A1:L5"  # type: ignore[attr-defined]
        sheet.row_dimensions[3].hidden = True  # type: ignore[attr-defined]

    workbook = edited(make_workbook(), edit)
    prepared = check_mailing(make_mailing(), Selection(contacts=workbook))
    assert "john.smith@example.org" in {letter.addressee.key for letter in prepared.letters}
    assert [str(w) for w in prepared.warnings] == [
        "contacts.xlsx, sheet Contacts, row 3: 1 row is hidden (hidden, or left out by a "
        "filter): 3; they still get a letter. Unhide them (or clear the filter) to check "
        "them; to leave a row out, write no in its active column."
    ]


@pytest.mark.parametrize("name", ["email", "salutation"])
def test_a_formula_never_calculated_says_to_open_and_save_the_workbook(
    make_workbook: WorkbookFactory, name: str
) -> None:
    def edit(sheet: object) -> None:
        sheet[f"{column(name)}2"] = f"=LOWER({column('last_name')}2)"  # type: ignore[index]

    with pytest.raises(InvalidInput) as refused:
        load_contacts(edited(make_workbook(), edit))
    assert [str(p) for p in refused.value.problems] == [
        f'contacts.xlsx, sheet Contacts, row 2, column "{name}": holds a formula whose value '
        "was never calculated (the workbook was written by a program and never opened in a "
        "spreadsheet). Open and save the workbook in Excel or LibreOffice, and run again."
    ]


def test_spaces_around_a_name_are_not_kept(make_workbook: WorkbookFactory) -> None:
    workbook = make_workbook(
        [person("anne.martin@example.org", first_name="  Anne ", last_name="Martin\u00a0")]
    )
    (anne,) = load_contacts(workbook).addressees
    assert (anne.first_name, anne.last_name, anne.full_name) == ("Anne", "Martin", "Anne Martin")
