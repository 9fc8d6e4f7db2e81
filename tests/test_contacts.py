"""The contacts workbook: what loads, and what each kind of bad input reports, where."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from dispatch.contacts import load_contacts, select
from dispatch.errors import ContactsError
from tests.conftest import HEADERS, WorkbookFactory, person


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ContactsError) as caught:
        load_contacts(path)
    return [str(p) for p in caught.value.problems]


def test_a_good_workbook_loads_typed_and_normalised(make_workbook: WorkbookFactory) -> None:
    path = make_workbook(
        [
            person(
                "  Anne.Martin@Example.org ",
                categories="ms; ac",
                language="FR",
                first_name="  Zoe\u0301 ",
                cc="a@example.org; b@example.org",
            ),
        ]
    )
    contacts = load_contacts(path)
    (anne,) = contacts.addressees
    assert anne.email == "Anne.Martin@Example.org"
    assert anne.key == "anne.martin@example.org"
    assert anne.categories == ("MS", "AC")
    assert anne.language == "fr"
    assert anne.first_name == "Zoé"  # trimmed and NFC: one code point, not e + accent
    assert len(anne.first_name) == 3
    assert anne.cc == ("a@example.org", "b@example.org")
    assert anne.row == 2
    assert list(contacts.categories) == ["MS", "AC", "SGC"]
    assert contacts.categories["MS"].line("fr") == "Aux États Membres de l'UIT"


def test_blank_rows_are_skipped_and_row_numbers_stay_excel_numbers(
    make_workbook: WorkbookFactory,
) -> None:
    path = make_workbook(
        raw_rows=[
            [""] * len(HEADERS),
            ["x@example.org", "", "", "", "", "", "", "MS", "fr", "", "", "yes"],
        ],
        people=[],
    )
    (only,) = load_contacts(path).addressees
    assert only.row == 3


def test_inactive_addressees_are_not_selected(make_workbook: WorkbookFactory) -> None:
    path = make_workbook([person("a@example.org"), person("b@example.org", active="no")])
    chosen = select(load_contacts(path), categories=["MS"])
    assert [p.email for p in chosen] == ["a@example.org"]


def test_an_addressee_in_several_categories_is_selected_once(
    make_workbook: WorkbookFactory,
) -> None:
    path = make_workbook([person("a@example.org", categories="MS;AC")])
    assert len(select(load_contacts(path), categories=["MS", "AC"])) == 1


def test_headers_are_matched_whatever_their_case_and_spaces(
    make_workbook: WorkbookFactory,
) -> None:
    headers = [f" {h.upper().replace('_', ' ')} " for h in HEADERS]
    path = make_workbook(
        headers=headers,
        people=[],
        raw_rows=[["x@example.org", "", "", "", "", "", "", "MS", "fr", "", "", ""]],
    )
    assert load_contacts(path).addressees[0].email == "x@example.org"


BAD_WORKBOOKS = [
    pytest.param(
        [person("jean.dupont@exemple")],
        'contacts.xlsx, sheet Contacts, row 2, column "email": "jean.dupont@exemple" is not '
        "an e-mail address",
        id="invalid-email",
    ),
    pytest.param(
        [person("a@example.org"), person("b@example.org"), person("A@example.org")],
        'contacts.xlsx, sheet Contacts, row 4, column "email": "A@example.org" is also the '
        "address of row 2",
        id="duplicate-email-names-both-rows",
    ),
    pytest.param(
        [person("a@example.org", categories="MS;XX")],
        'contacts.xlsx, sheet Contacts, row 2, column "categories": "MS;XX" names the '
        "category XX, which is not in the Categories sheet",
        id="unknown-category",
    ),
    pytest.param(
        [person("a@example.org", language="de")],
        'contacts.xlsx, sheet Contacts, row 2, column "language": "de" is not a language '
        "dispatch writes in. Write one of fr, en, es, ru, zh, ar (or the language's name) and "
        "run again.",
        id="unknown-language",
    ),
    pytest.param(
        [person("a@example.org", language="")],
        'contacts.xlsx, sheet Contacts, row 2, column "language": is empty.',
        id="empty-required-cell",
    ),
    pytest.param(
        [person("a@example.org", cc="boss@example.org; nobody")],
        'contacts.xlsx, sheet Contacts, row 2, column "cc": "boss@example.org; nobody" holds '
        '"nobody", which is not an e-mail address',
        id="invalid-cc",
    ),
    # Quoted, so a space stays visible where the terminal wraps the line.
    pytest.param(
        [person("jean dupont@example.org")],
        'contacts.xlsx, sheet Contacts, row 2, column "email": "jean dupont@example.org" is not '
        "an e-mail address",
        id="address-with-a-space-is-quoted",
    ),
    pytest.param(
        [person("a@example.org", cc="boss@example.org; jean dupont@example.org")],
        'contacts.xlsx, sheet Contacts, row 2, column "cc": "boss@example.org; jean '
        'dupont@example.org" holds "jean dupont@example.org", which is not an e-mail address',
        id="cc-address-with-a-space-is-quoted",
    ),
    pytest.param(
        [person("a@example.org", active="maybe")],
        'contacts.xlsx, sheet Contacts, row 2, column "active": "maybe" is neither yes nor no',
        id="active-not-yes-no",
    ),
    pytest.param(
        [person("a@example.org", last_name="Smith\nBcc: victim@example.org")],
        'contacts.xlsx, sheet Contacts, row 2, column "last_name": "Smith\\nBcc: '
        'victim@example.org" contains a line break',
        id="header-injection-attempt",
    ),
]


@pytest.mark.parametrize(("people", "expected"), BAD_WORKBOOKS)
def test_each_bad_cell_is_reported_with_its_location(
    make_workbook: WorkbookFactory,
    people: list[dict[str, str]],
    expected: str,
) -> None:
    messages = problems_of(make_workbook(people))
    assert any(m.startswith(expected) for m in messages), messages


def test_every_problem_is_reported_at_once(make_workbook: WorkbookFactory) -> None:
    messages = problems_of(
        make_workbook(
            [
                person("bad@", language="xx"),
                person("ok@example.org", categories="ZZ"),
                person("ok@example.org"),
            ]
        )
    )
    assert len(messages) == 4
    assert [m.split(":")[0] for m in messages] == [
        'contacts.xlsx, sheet Contacts, row 2, column "email"',
        'contacts.xlsx, sheet Contacts, row 2, column "language"',
        'contacts.xlsx, sheet Contacts, row 3, column "categories"',
        'contacts.xlsx, sheet Contacts, row 4, column "email"',
    ]


def test_a_missing_column_names_the_headers_found(make_workbook: WorkbookFactory) -> None:
    headers = [h for h in HEADERS if h != "language"]
    (message,) = problems_of(make_workbook(headers=headers))
    assert message.startswith(
        'contacts.xlsx, sheet Contacts, row 1: has no column "language" (the code or name of a '
        "language dispatch writes in); "
        'the headers found are "email", "civility"'
    )
    assert message.endswith('Add a column "language" in row 1 and run again.')


def test_a_missing_sheet_names_the_sheets_found(tmp_path: Path) -> None:
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "Feuil1"
    sheet.append(HEADERS)
    path = tmp_path / "contacts.xlsx"
    wb.save(path)
    messages = problems_of(path)
    assert messages == [
        'contacts.xlsx, sheet Contacts: is missing. Add a sheet named "Contacts" '
        '(sheets found: "Feuil1").',
        'contacts.xlsx, sheet Categories: is missing. Add a sheet named "Categories" '
        '(sheets found: "Feuil1").',
    ]


def test_a_category_without_its_english_line_is_reported(
    make_workbook: WorkbookFactory,
) -> None:
    # An empty cell is an error only for a language some addressee of the category reads
    # (issue 23): here one addressee of MS reads English.
    messages = problems_of(
        make_workbook(
            [person("a@example.org", language="en", categories="MS")],
            categories=[["code", "fr", "en"], ["MS", "Aux États", ""]],
        )
    )
    assert messages == [
        'contacts.xlsx, sheet Categories, row 2, column "en": category MS has no addressee line '
        'in English (en), which 1 addressee of it reads. Add a column "en" to the Categories '
        "sheet if there is none, write the line in its cell, and run again."
    ]


def test_a_category_needs_no_line_in_a_language_nobody_of_it_reads(
    make_workbook: WorkbookFactory,
) -> None:
    path = make_workbook(
        [person("a@example.org", language="fr", categories="MS")],
        categories=[["code", "fr"], ["MS", "Aux États"]],
    )
    assert load_contacts(path).categories["MS"].lines == {"fr": "Aux États"}


@pytest.mark.parametrize(
    ("written", "code"), [("Arabic", "ar"), ("árabe", "ar"), ("ARABE", "ar"), ("中文", "zh")]
)
def test_a_language_may_be_written_by_its_name(
    make_workbook: WorkbookFactory, written: str, code: str
) -> None:
    categories = [["code", "fr", "ar", "zh"], ["MS", "Aux États", "إلى الدول الأعضاء", "致成员国"]]
    path = make_workbook(
        [person("a@example.org", language=written, categories="MS")], categories=categories
    )
    assert load_contacts(path).addressees[0].language == code


def test_a_misspelt_language_gets_a_did_you_mean(make_workbook: WorkbookFactory) -> None:
    (message,) = problems_of(make_workbook([person("a@example.org", language="Arabik")]))
    assert 'Did you mean "ar"?' in message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param(
            "contacts.xls", b"\xd0\xcf\x11\xe0 old excel", "the file is damaged", id="xls"
        ),
        pytest.param(
            "contacts.xlsx",
            b"email,language\n",
            "is not a readable .xlsx workbook",
            id="renamed-text",
        ),
        pytest.param(
            "contacts.xlsx", b"PK\x03\x04 broken zip", "is not a readable .xlsx", id="corrupt"
        ),
    ],
)
def test_a_file_that_is_not_a_workbook_says_what_to_do(
    tmp_path: Path,
    name: str,
    content: bytes,
    expected: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    (message,) = problems_of(path)
    assert expected in message, message
    assert message.startswith(name)


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    (message,) = problems_of(tmp_path / "nope.xlsx")
    assert message == (
        "nope.xlsx: does not exist. Give the path of the contacts workbook with --contacts."
    )


def test_csv_export_with_categories_beside_it_loads(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text(
        "email;language;categories\nanne@example.org;fr;MS\n", encoding="utf-8-sig"
    )
    (tmp_path / "contacts.categories.csv").write_text(
        "code;fr;en\nMS;Aux États Membres;Member States\n", encoding="latin-1"
    )
    contacts = load_contacts(tmp_path / "contacts.csv")
    assert contacts.addressees[0].email == "anne@example.org"
    assert contacts.categories["MS"].line("fr") == "Aux États Membres"


def test_ods_export_loads(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "contacts.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame([{"email": "a@example.org", "language": "en", "categories": "MS"}]).to_excel(
            writer, sheet_name="Contacts", index=False
        )
        pd.DataFrame([{"code": "MS", "fr": "Aux États", "en": "Member States"}]).to_excel(
            writer, sheet_name="Categories", index=False
        )
    assert load_contacts(path).addressees[0].language == "en"


def test_excel_lock_file_gives_a_warning(make_workbook: WorkbookFactory) -> None:
    path = make_workbook()
    (path.parent / "~$contacts.xlsx").write_bytes(b"lock")
    contacts = load_contacts(path)
    (warning,) = contacts.warnings
    assert "may be open in Excel" in str(warning)


def test_numbers_typed_in_cells_are_read_as_text(make_workbook: WorkbookFactory) -> None:
    path = make_workbook([person("a@example.org", organisation=1234, first_name=True)])
    (anne,) = load_contacts(path).addressees
    assert anne.organisation == "1234"


DATA = Path(__file__).parent / "data"


def test_an_excel_97_2003_xls_workbook_loads_with_its_numbers_and_dates(tmp_path: Path) -> None:
    contacts = load_contacts(DATA / "contacts.xls")
    zoe, jean = contacts.addressees
    assert (zoe.row, zoe.first_name, zoe.organisation) == (2, "Zoé", "1234")
    assert (jean.row, jean.country, jean.language) == (4, "2021-12-07", "en")
    assert contacts.categories["AC"].line("en") == "ITU Academia"


def test_integers_stay_integers_and_dates_read_as_dates(make_workbook: WorkbookFactory) -> None:
    import datetime as dt

    path = make_workbook(
        [person("a@example.org", organisation=41227305111, country=dt.datetime(2021, 12, 7))]
    )
    (anne,) = load_contacts(path).addressees
    assert (anne.organisation, anne.country) == ("41227305111", "2021-12-07")


def test_an_excel_error_in_the_categories_sheet_is_reported_by_its_cell(
    make_workbook: WorkbookFactory,
) -> None:
    messages = problems_of(
        make_workbook(categories=[["code", "fr", "en"], ["MS", "#DIV/0!", "Member States"]])
    )
    assert messages[0] == (
        'contacts.xlsx, sheet Categories, row 2, column "fr": holds the Excel error #DIV/0! '
        "instead of a value. Correct the formula, or type the value, and run again."
    )


def test_a_utf8_csv_with_one_stray_windows_byte_names_its_row_and_column(tmp_path: Path) -> None:
    """Decoding the whole file as Windows Latin-1 would garble every other accent of it
    (« ZoÃ© » in a To header): the one cell pasted from an old file is named instead."""
    (tmp_path / "contacts.csv").write_bytes(
        "email;first_name;organisation;categories;language\n"
        "zoe@example.org;Zoé;Ministère;MS;fr\n".encode()
        + b"jean@example.org;J\xe9r\xf4me;Poste;MS;fr\n"
    )
    (tmp_path / "contacts.categories.csv").write_text(
        "code;fr;en\nMS;Aux États;Member States\n", encoding="utf-8"
    )
    (message,) = problems_of(tmp_path / "contacts.csv")
    assert message.startswith(
        'contacts.csv, sheet Contacts, row 3, column "first_name": holds the byte 0xE9, which '
        "is not UTF-8 like the rest of the file (in Windows Latin-1 it is 'é': the cell may "
        "read 'Jérôme')"
    ), message


def test_a_csv_cell_too_long_is_blamed_on_its_own_column(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text(
        "email;first_name;organisation;categories;language\n"
        f"zoe@example.org;Zoé;{'x' * 140_000};MS;fr\n",
        encoding="utf-8",
    )
    (message,) = problems_of(tmp_path / "contacts.csv")
    assert message.startswith(
        'contacts.csv, sheet Contacts, row 2, column "organisation": cannot be read as CSV '
        "(field larger than field limit (131072))"
    ), message
    assert "at most 131 072 characters" in message
