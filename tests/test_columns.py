"""The secretariat's own columns and files (issue 22): any workbook column in a letter,
typed; a conditional paragraph; files for one addressee; never a blank where a value
was meant; and the mailing's own mistakes found by check. On a copy of the TSB 352
sample, its real workbook, real templates and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dispatch.approval_journal import sent_dates
from dispatch.approval_send import with_date
from dispatch.contacts import load_contacts
from dispatch.errors import ContactsError, Location, Problem
from dispatch.job import Selection, check_mailing
from dispatch.journal import Journal
from dispatch.personal import PersonalFile, check_file
from dispatch.render import Letter
from tests.conftest import HEADERS, MINIMAL_MAILING, WorkbookFactory, no_copy, person
from tests.helpers import run
from tests.smtp_server import Sink
from tests.test_preview import letters_js, rows_of

MakeMailing = Callable[..., Path]

#: The Academia (AC) rows of the sample workbook: (row, address, language)
AC = [
    (13, "helene.marchand@example.org", "fr"),
    (14, "daniel.kowalczyk@example.org", "en"),
    (15, "moussa.traore@example.org", "fr"),
    (16, "mei.lin@example.org", "en"),
    (37, "person000003@example.org", "en"),
    (45, "person000011@example.org", "en"),
    (53, "person000019@example.org", "en"),
    (61, "person000027@example.org", "en"),
    (69, "person000035@example.org", "en"),
]
VISAS = {
    "helene.marchand@example.org": "visas/helene.pdf",
    "daniel.kowalczyk@example.org": "visas/daniel.pdf",
}

PARAGRAPHS = r'''
[body.visa]
when = "addressee.visa_required"
fr = "Vous trouverez en annexe une lettre d'appui à votre demande de visa."
en = "A letter in support of your visa application is attached."

[body.registration]
fr = """Votre code d'inscription est {{ addressee.registration_code }} ; \
votre arrivée est prévue le {{ addressee.arrival | date }}."""
en = """Your registration code is {{ addressee.registration_code }}; \
you are expected on {{ addressee.arrival | date }}."""

[[annexes]]
title = { fr = "Badge nominatif", en = "Personal badge" }
file = "badges/{{ addressee.email }}.pdf"
per_addressee = true
'''


@pytest.fixture
def own_columns(sample_copy: Path) -> Path:
    """The TSB 352 sample sent to Academia only, with three columns of the
    secretariat's own, an attachments column, a conditional paragraph and a badge per
    addressee; returns its mailing file."""
    book = load_workbook(sample_copy / "contacts.xlsx")
    sheet = book["Contacts"]
    first = sheet.max_column + 1
    for offset, header in enumerate(
        ("Registration code", "Arrival", "Visa required", "attachments")
    ):
        sheet.cell(row=1, column=first + offset, value=header)
    for row, address, _lang in AC:
        assert sheet.cell(row=row, column=1).value == address
        sheet.cell(row=row, column=first, value=f"U4-{row:04d}")
        sheet.cell(row=row, column=first + 1, value=dt.datetime(2021, 12, 5 if row == 13 else 6))
        visa = "yes" if address in VISAS else "non" if row == 15 else "no"
        sheet.cell(row=row, column=first + 2, value=visa)
        sheet.cell(row=row, column=first + 3, value=VISAS.get(address))
    book.save(sample_copy / "contacts.xlsx")

    folder = sample_copy / "mailings" / "tsb-352"
    text = (folder / "mailing.toml").read_text(encoding="utf-8")
    text = text.replace('to = ["MS", "SMT", "AST", "AC"]', 'to = ["AC"]')
    text = text.replace('cc = ["SGC", "BDT", "BR"]', "cc = []")
    (folder / "mailing.toml").write_text(text + PARAGRAPHS, encoding="utf-8")
    for name in VISAS.values():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(b"%PDF-1.4 visa " + name.encode())
    (folder / "badges").mkdir()
    for _row, address, _lang in AC:
        (folder / "badges" / f"{address}.pdf").write_bytes(b"%PDF-1.4 badge " + address.encode())
    return folder / "mailing.toml"


def letters_by_address(mailing: Path) -> dict[str, Letter]:
    return {letter.addressee.email: letter for letter in check_mailing(mailing).letters}


def test_own_columns_print_typed_in_each_language_with_the_right_paragraph_and_files(
    own_columns: Path,
) -> None:
    code, out, err = run("check", own_columns)
    assert code == 0, err
    assert (
        "Columns of the workbook's own, usable in the letters: addressee.registration_code "
        "(text), addressee.arrival (date), addressee.visa_required (yes/no)." in out
    )
    assert out.count("Columns of the workbook's own") == 1
    assert "Paragraph body.visa (when addressee.visa_required): in 2 of 9 letters." in out

    letters = letters_by_address(own_columns)
    helene, moussa = letters["helene.marchand@example.org"], letters["moussa.traore@example.org"]
    mei, daniel = letters["mei.lin@example.org"], letters["daniel.kowalczyk@example.org"]
    # Typed: the date column prints as a date in the letter's language.
    assert (
        "8  Votre code d’inscription est U4-0013\u202f; votre arrivée est prévue le "
        "5 décembre 2021." in helene.text
    )
    assert "7  Your registration code is U4-0016; you are expected on 6 December 2021." in mei.text
    # The conditional paragraph, and the numbers of the paragraphs after it.
    assert "7  Vous trouverez en annexe une lettre d’appui" in helene.text
    assert "lettre d’appui" not in moussa.text  # "non" in visa_required
    assert "7  Votre code d’inscription est U4-0015" in moussa.text
    assert "7  A letter in support of your visa application is attached." in daniel.text
    assert helene.paragraphs == ("visa",) and moussa.paragraphs == ()
    # Each addressee's own files, listed in their letter in their language.
    assert [f.name for f in helene.files] == [
        "visas/helene.pdf",
        "badges/helene.marchand@example.org.pdf",
    ]
    assert [f.name for f in mei.files] == ["badges/mei.lin@example.org.pdf"]
    assert "Annexe 1\u00a0: Badge nominatif\nAnnexe 2\u00a0: helene.pdf" in helene.text
    assert "helene.pdf" not in moussa.text
    assert "Personal badge" in mei.text


def test_what_reaches_the_relay_is_the_approved_bytes_with_each_addressees_own_files(
    own_columns: Path,
    sink: Sink,
    relay_env: dict[str, str],
) -> None:
    code, _out, err = run("approve", own_columns, "--by", "Jane Doe")
    assert code == 0, err
    approved = sorted((own_columns.parent / "approved").iterdir())[-1]
    manifest = json.loads((approved / "manifest.json").read_text())
    files = manifest["inputs"]["files"]
    assert files["file visas/helene.pdf"]["sha256"] == (
        hashlib.sha256(b"%PDF-1.4 visa visas/helene.pdf").hexdigest()
    )
    assert "file badges/mei.lin@example.org.pdf" in files

    code, _out, err = run("send", own_columns, "--yes")
    assert code == 0, err
    report = own_columns.parent / "report.csv"
    code, _out, err = run("report", own_columns, "--out", report)
    assert code == 0, err
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].endswith("Own files")
    helene_line = next(line for line in lines if "helene.marchand@example.org" in line)
    assert helene_line.endswith("visas/helene.pdf; badges/helene.marchand@example.org.pdf")
    frozen = {m["addressee"]: (approved / m["file"]).read_bytes() for m in manifest["messages"]}
    received = {r.rcpt_tos[0]: r.data for r in sink.recorder.accepted()}
    assert received.keys() == {address for _row, address, _lang in AC}
    with Journal.open(own_columns.parent / ".dispatch" / "journal.sqlite3", readonly=True) as j:
        dates = sent_dates(j)
    for address, data in received.items():
        # the very bytes approved, but the Date: of their sending, which the journal keeps
        assert data == with_date(frozen[address], dates[address][1]), address
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        names = {part.get_filename() for part in parsed.iter_attachments()}
        assert f"{address}.pdf" in names  # the badge: this addressee's, nobody else's
        assert not any(n.endswith("@example.org.pdf") and n != f"{address}.pdf" for n in names)
        assert ("helene.pdf" in names) == (address == "helene.marchand@example.org")
        assert ("daniel.pdf" in names) == (address == "daniel.kowalczyk@example.org")


def test_check_refuses_each_mistake_of_columns_files_and_mailing_and_passes_once_fixed(
    own_columns: Path,
) -> None:
    workbook = own_columns.parent.parent.parent / "contacts.xlsx"
    folder = own_columns.parent
    book = load_workbook(workbook)
    header = [c.value for c in book["Contacts"][1]]
    code_column = header.index("Registration code") + 1
    for row in (14, 16):
        book["Contacts"].cell(row=row, column=code_column).value = None
    book.save(workbook)
    badge = folder / "badges" / "mei.lin@example.org.pdf"
    badge.rename(folder / "badge.bak")
    text = own_columns.read_text(encoding="utf-8")
    empty_annex = '\n[[annexes]]\ntitle = { fr = "Programme", en = "Programme" }\n'
    broken = text.replace("cc = []", 'cc = ["BR"]') + empty_annex
    own_columns.write_text(broken, encoding="utf-8")
    # BR's only addressee leaves: the cc category addresses nobody.
    active_column = header.index("active") + 1
    book = load_workbook(workbook)
    book["Contacts"].cell(row=24, column=active_column, value="no")
    book.save(workbook)

    code, _out, err = run("check", own_columns)
    assert code == 2
    flat = " ".join(err.split())
    assert (
        "mailing.toml, field annexes[1]: has neither file nor content: the letter would list "
        "it, and nothing would be attached or printed." in flat
    )
    own_columns.write_text(text.replace("cc = []", 'cc = ["BR"]'), encoding="utf-8")
    code, _out, err = run("check", own_columns)
    assert code == 2
    flat = " ".join(err.split())
    for row in (14, 16):
        assert (
            f'contacts.xlsx, sheet Contacts, row {row}, column "Registration code": is empty, '
            "and mailing.toml, field body.registration.en prints it as "
            "addressee.registration_code: the letter would show a blank." in flat
        )
    assert (
        "contacts.xlsx, sheet Contacts, row 16: annexes[0].file of mailing.toml names "
        "'badges/mei.lin@example.org.pdf', which does not exist." in flat
    )
    assert (
        'mailing.toml, field addressees.cc[0]: "BR" is a category that no active addressee '
        "of contacts.xlsx has: every letter would list it as copied and no copy would go out."
        in flat
    )

    own_columns.write_text(text, encoding="utf-8")  # no cc, no empty annex
    (folder / "badge.bak").rename(badge)
    book = load_workbook(workbook)
    for row in (14, 16):
        book["Contacts"].cell(row=row, column=code_column, value=f"U4-{row:04d}")
    book.save(workbook)
    code, _out, err = run("check", own_columns)
    assert code == 0, err


def test_an_empty_cell_is_refused_once_per_run_of_rows_unless_the_letter_says_it_is_optional(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    people = [
        person(f"p{i}@example.org", country="" if 2 <= i <= 5 else "Valmont") for i in range(8)
    ]
    workbook = make_workbook(people)
    used = no_copy().replace("Cette réunion", "Votre pays : {{ addressee.country }}. Cette réunion")
    assert used != no_copy()
    code, _out, err = run("check", make_mailing(used), "--contacts", workbook)
    assert code == 2
    assert err.splitlines()[1:] == [
        '- contacts.xlsx, sheet Contacts, row 4 to row 7, column "country": is empty, and '
        "mailing.toml, field body.intro.fr prints it as addressee.country: the letter would "
        "show a blank. Fill the cell, or say in the letter what to print instead ({{ "
        'addressee.country | default("…") }}), or keep it in {% if addressee.country %}…'
        "{% endif %}."
    ]
    for optional in (
        "Votre pays : {{ addressee.country | default('non précisé') }}. Cette réunion",
        "{% if addressee.country %}Votre pays : {{ addressee.country }}. {% endif %}Cette réunion",
    ):
        text = no_copy().replace("Cette réunion", optional)
        code, _out, err = run("check", make_mailing(text), "--contacts", workbook)
        assert code == 0, err


def test_letters_alike_in_the_values_they_read_are_rendered_once(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    people = [
        person(f"p{i}@example.org", country=("Valmont", "Kivala")[i % 2], first_name=f"N{i}")
        for i in range(40)
    ]
    text = no_copy().replace("Cette réunion", "Pour le {{ addressee.country }} : cette réunion")
    prepared = check_mailing(make_mailing(text), Selection(contacts=make_workbook(people)))
    assert len(prepared.letters) == 40
    assert prepared.distinct_letters == 2  # one per country: the names are not read


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            ["2021-12-06", dt.datetime(2021, 12, 7), "next week"],
            'row 4, column "arrival": "next week" holds text where the column holds a date; '
            "the letters print it as it is.",
        ),
        (
            [12, 30, "twelve"],
            'row 4, column "arrival": "twelve" holds text where the column holds a number; '
            "the letters print it as it is.",
        ),
    ],
    ids=["date-column-with-text", "number-column-with-words"],
)
def test_a_typed_column_warns_of_each_cell_of_another_kind(
    cells: list[object], expected: str, make_workbook: WorkbookFactory
) -> None:
    people = [person(f"p{i}@example.org", arrival=cell) for i, cell in enumerate(cells)]
    contacts = load_contacts(make_workbook(people, headers=[*HEADERS, "arrival"]))
    assert [str(w).split("Contacts, ", 1)[1][: len(expected)] for w in contacts.warnings] == [
        expected
    ]


def test_a_yes_no_column_refuses_other_words_and_a_name_two_headers_share_names_both(
    make_workbook: WorkbookFactory,
) -> None:
    people = [
        person("a@example.org", visa_required="oui"),
        person("b@example.org", visa_required="no"),
        person("c@example.org", visa_required="perhaps"),
    ]
    with pytest.raises(ContactsError) as caught:
        load_contacts(make_workbook(people, headers=[*HEADERS, "visa_required"]))
    assert [str(p) for p in caught.value.problems] == [
        'contacts.xlsx, sheet Contacts, row 4, column "visa_required": "perhaps" is neither '
        "yes nor no. Write yes or no (or leave it empty)."
    ]
    twice = [*HEADERS, "Visa required", "visa-required"]
    with pytest.raises(ContactsError) as caught:
        load_contacts(make_workbook([person("a@example.org")], headers=twice))
    assert [str(p) for p in caught.value.problems] == [
        'contacts.xlsx, sheet Contacts, row 1, column "visa-required": is read as '
        'addressee.visa_required, the same name as "Visa required". Rename one of the two '
        "columns and run again."
    ]
    contacts = load_contacts(make_workbook(people[:2], headers=[*HEADERS, "visa_required"]))
    assert [p.extra["visa_required"] for p in contacts.addressees] == [True, False]


def test_a_body_that_announces_an_annex_the_mailing_lacks_is_a_warning(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    announced = "Vous trouverez en annexe le programme. Cette réunion"
    text = MINIMAL_MAILING.replace("Cette réunion", announced)
    code, out, err = run("check", make_mailing(text), "--contacts", make_workbook())
    assert code == 0, err
    assert (
        'mailing.toml, field body.intro.fr: says "en annexe", and the mailing has no annex.'
        in " ".join((out + err).split())
    )


def test_the_preview_shows_each_addressees_own_files_on_their_row(
    own_columns: Path, tmp_path: Path
) -> None:
    out = tmp_path / "preview"
    code, _out, err = run("preview", own_columns, "--out", out, "--no-open", "--format", "html")
    assert code == 0, err
    rows = {row["email"]: row for row in rows_of(letters_js(out))}
    assert rows["helene.marchand@example.org"]["files"] == [
        "visas/helene.pdf",
        "badges/helene.marchand@example.org.pdf",
    ]
    assert rows["mei.lin@example.org"]["files"] == ["badges/mei.lin@example.org.pdf"]


def test_a_mailing_value_written_empty_is_refused_where_a_letter_prints_it(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    text = no_copy().replace("Cette réunion", "Salle {{ values.room }}. Cette réunion")
    code, _out, err = run(
        "check", make_mailing(text + '\n[values]\nroom = ""\n'), "--contacts", make_workbook()
    )
    assert code == 2
    assert "field body.intro.fr: the placeholder values.room has no value" in " ".join(err.split())


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (
            "addressee.visa_requird",
            "mailing.toml, field body.visa.when: the placeholder addressee.visa_requird names "
            "no value. Did you mean addressee.visa_required? Correct the placeholder.",
        ),
        (
            "addressee.visa_required ==",
            'mailing.toml, field body.visa.when: "addressee.visa_required ==" is not a valid '
            "condition: unexpected 'end of template'. Write a condition on the addressee",
        ),
    ],
    ids=["misspelt-column", "syntax-error"],
)
def test_a_wrong_condition_names_its_paragraph(
    when: str, expected: str, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    visa = f'\n[body.visa]\nwhen = "{when}"\nfr = "Visa."\nen = "Visa."\n'
    people = [person("a@example.org", visa_required="yes"), person("b@example.org")]
    workbook = make_workbook(people, headers=[*HEADERS, "visa_required"])
    code, _out, err = run("check", make_mailing(no_copy() + visa), "--contacts", workbook)
    assert code == 2
    assert expected in " ".join(err.split())


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("visas/nobody.pdf", "does not exist"),
        ("../secret.pdf", "is outside the mailing's folder"),
        ("visas/link.pdf", "is a link"),
        ("visas/big.pdf", "is 0.1 MB: the message would be above the limit of 0.1 MB"),
    ],
    ids=["missing", "outside", "link", "too-big"],
)
def test_a_file_for_one_addressee_is_refused_naming_the_row(
    name: str, what: str, tmp_path: Path
) -> None:
    folder = tmp_path / "mailing"
    (folder / "visas").mkdir(parents=True)
    (tmp_path / "secret.pdf").write_bytes(b"%PDF secret")
    (folder / "other.pdf").write_bytes(b"%PDF other")
    (folder / "visas" / "link.pdf").symlink_to(folder / "other.pdf")  # inside, but a link
    (folder / "visas" / "big.pdf").write_bytes(b"x" * 100_000)
    row = Location(file="contacts.xlsx", sheet="Contacts", row=7, column="attachments")
    problem = check_file(folder, name, row, "the attachments column", limit_mb=0.1)
    assert isinstance(problem, Problem)
    assert str(problem).startswith(
        f'contacts.xlsx, sheet Contacts, row 7, column "attachments": the attachments column '
        f"names {name!r}, which {what}"
    )
    good = folder / "visas" / "anne.pdf"
    good.write_bytes(b"%PDF anne")
    found = check_file(folder, "visas/anne.pdf", row, "the attachments column", limit_mb=0.1)
    assert (
        isinstance(found, PersonalFile) and found.sha256 == hashlib.sha256(b"%PDF anne").hexdigest()
    )
