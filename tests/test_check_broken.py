"""`dispatch check` never passes a broken letter: a table of broken mailings, each with
the exact message the user reads and exit code 2, through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_MAILING, WorkbookFactory, no_copy, person
from tests.helpers import run

MakeMailing = Callable[..., Path]


def paragraph(fr: str, en: str = "only.") -> str:
    """The mailing with the end of its "languages" paragraph replaced."""
    return MINIMAL_MAILING.replace("seulement.", fr).replace("only.", en)


UNSET_HINT = (
    "Set {file} in the mailing file, or take the placeholder out of this text "
    "(or keep it in {{% if {field} %}}…{{% endif %}})."
)


def unset(where: str, field: str, file: str | None = None) -> str:
    return (
        f"- mailing.toml, field {where}: the placeholder {field} has no value: the mailing "
        f"file does not set it. " + UNSET_HINT.format(file=file or field, field=field)
    )


BROKEN = [
    pytest.param(
        paragraph("seulement, à {{ event.venue }}.", "only, at {{ event.venue }}."),
        [unset("body.languages.fr", "event.venue"), unset("body.languages.en", "event.venue")],
        id="venue-of-a-virtual-meeting",
    ),
    pytest.param(
        paragraph("seulement ({{ event.fee }})."),
        [unset("body.languages.fr", "event.fee")],
        id="fee-unset",
    ),
    pytest.param(
        paragraph("seulement, à {{ event.city }}."),
        [unset("body.languages.fr", "event.city")],
        id="city-unset",
    ),
    pytest.param(
        paragraph("seulement ({{ event.zone_place }})."),
        [unset("body.languages.fr", "event.zone_place", "event.timezone_place")],
        id="zone-place-named-as-in-the-file",
    ),
    pytest.param(
        paragraph("seulement ({{ contact.name }}).").replace(
            'name = { fr = "M. Jean Exemple", en = "Mr Jean Exemple" }\n', ""
        ),
        [unset("body.languages.fr", "contact.name")],
        id="contact-name-unset",
    ),
    pytest.param(
        paragraph("seulement, avant le {{ event.registration_deadline | date }}."),
        [unset("body.languages.fr", "event.registration_deadline")],
        id="date-filter-on-an-unset-date",
    ),
    pytest.param(
        MINIMAL_MAILING.replace(
            "({{ event.start | date }})", "({{ event.start | date }}, {{ event.venue }})"
        ),
        [unset("subject.fr", "event.venue"), unset("subject.en", "event.venue")],
        id="unset-in-the-subject",
    ),
    pytest.param(
        paragraph("seulement, à {{ event.venu }}."),
        [
            "- mailing.toml, field body.languages.fr: the placeholder event.venu names no "
            "value. Did you mean event.venue? Correct the placeholder."
        ],
        id="misspelt-field",
    ),
    pytest.param(
        paragraph("seulement ({{ values.refrence }}).").replace(
            "[body.intro]", '[values]\nreference = "CL-22/006"\n\n[body.intro]'
        ),
        [
            "- mailing.toml, field body.languages.fr: the placeholder values.refrence names "
            "no value. Did you mean values.reference? Correct the placeholder."
        ],
        id="misspelt-free-value",
    ),
    pytest.param(
        paragraph("seulement. {{ salutaton }}"),
        [
            "- mailing.toml, field body.languages.fr: the placeholder salutaton names no "
            "value. Did you mean salutation? Correct the placeholder."
        ],
        id="misspelt-name",
    ),
    pytest.param(
        MINIMAL_MAILING
        + "\n[closing]\n"
        + "fr = \"Veuillez agréer, {{ salutation_closing }}, l'expression de ma haute "
        + 'considération."\nen = "Yours faithfully,"\n',
        [
            "- mailing.toml, field closing.fr: the placeholder salutation_closing names no "
            "value. Did you mean salutation_in_closing? Correct the placeholder."
        ],
        id="closing-with-an-unknown-placeholder",
    ),
    pytest.param(
        MINIMAL_MAILING + '\n[closing]\nfr = "Veuillez agréer, à {{ event.venue }}."\n'
        'en = "Yours faithfully,"\n',
        [unset("closing.fr", "event.venue")],
        id="closing-with-an-unset-placeholder",
    ),
    pytest.param(
        MINIMAL_MAILING.replace(
            'email = "tsb@example.org"',
            'email = "@not an address"\nreply_to = "x@y"\ncc = ["ok@example.org", "bad"]',
        ),
        [
            '- mailing.toml, field sender.email: "@not an address" is not an e-mail address '
            "(There must be something before the @-sign). Correct it and run again.",
            '- mailing.toml, field sender.reply_to: "x@y" is not an e-mail address (The part '
            "after the @-sign is not valid. It should have a period). Correct it and run again.",
            '- mailing.toml, field sender.cc[1]: "bad" is not an e-mail address (An email '
            "address must have an @-sign). Correct it and run again.",
        ],
        id="bad-sender-addresses",
    ),
    pytest.param(
        MINIMAL_MAILING.replace('timezone = "Europe/Zurich"', 'timezone = "EST"'),
        [
            '- mailing.toml, field event.timezone: "EST" is an abbreviation, not a time zone: '
            'write timezone = "America/New_York" and zone_label = "EST". Correct it and run '
            "again."
        ],
        id="legacy-zone-EST",
    ),
    pytest.param(
        MINIMAL_MAILING.replace('timezone = "Europe/Zurich"', 'timezone = "MST"'),
        [
            '- mailing.toml, field event.timezone: "MST" is an abbreviation, not a time zone: '
            'write timezone = "America/Denver" and zone_label = "MST". Correct it and run '
            "again."
        ],
        id="legacy-zone-MST",
    ),
    pytest.param(
        MINIMAL_MAILING.replace('to = ["MS", "AC"]', 'to = ["MS", "AC", "SGC"]').replace(
            'cc = ["SGC"]', "cc = []"
        ),
        [
            '- mailing.toml, field addressees.to[2]: "SGC" is a category that no active '
            "addressee of contacts.xlsx has: the mailing would send it no letter. Add its "
            "addressees to the Contacts sheet (or mark them active), or remove it from "
            "addressees.to."
        ],
        id="empty-category",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_a_broken_mailing_is_refused_with_the_exact_message(
    text: str,
    expected: list[str],
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    workbook = make_workbook(
        [
            person("anne.martin@example.org"),
            person("prof.lee@example.org", categories="AC", language="en"),
            person("chair@example.org", categories="SGC", active="no"),
        ]
    )
    code, out, err = run("check", make_mailing(no_copy(text)), "--contacts", workbook)
    noun = "problem" if len(expected) == 1 else "problems"
    assert err.splitlines() == [
        f"{len(expected)} {noun} found; nothing was written or sent.",
        *expected,
    ]
    assert code == 2
    assert "None" not in err + out and "Traceback" not in err + out


def test_a_mailing_that_gives_no_letter_is_refused(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    workbook = make_workbook([person("anne.martin@example.org", categories="SGC", active="no")])
    text = MINIMAL_MAILING.replace('to = ["MS", "AC"]', 'to = ["SGC"]').replace(
        'cc = ["SGC"]', "cc = []"
    )
    code, _, err = run("check", make_mailing(text), "--contacts", workbook)
    assert code == 2
    assert err.splitlines()[1:] == [
        '- mailing.toml, field addressees.to[0]: "SGC" is a category that no active '
        "addressee of contacts.xlsx has: the mailing would send it no letter. Add its "
        "addressees to the Contacts sheet (or mark them active), or remove it from "
        "addressees.to."
    ]


def test_every_problem_of_the_mailing_file_at_once_without_a_contacts_line(
    tmp_path: Path, make_mailing: MakeMailing, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = MINIMAL_MAILING.replace('email = "tsb@example.org"', 'email = "tsb"').replace(
        'timezone = "Europe/Zurich"', 'timezone = "HST"'
    )
    path = make_mailing(text)
    monkeypatch.chdir(tmp_path)  # no contacts.xlsx here, and the mailing names none
    code, _, err = run("check", path)
    assert code == 2
    assert err.splitlines() == [
        "2 problems found; nothing was written or sent.",
        '- mailing.toml, field event.timezone: "HST" is an abbreviation, not a time zone: '
        'write timezone = "Pacific/Honolulu" and zone_label = "HST". Correct it and run again.',
        '- mailing.toml, field sender.email: "tsb" is not an e-mail address (An email address '
        "must have an @-sign). Correct it and run again.",
    ]


def test_the_workbook_the_broken_mailing_names_is_still_checked(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    workbook = make_workbook([person("jean.dupont@exemple")], name="people.xlsx")
    text = MINIMAL_MAILING.replace('email = "tsb@example.org"', 'email = "tsb"')
    path = make_mailing(f'contacts = "{workbook}"\n' + text)
    code, _, err = run("check", path)
    assert code == 2
    assert "2 problems found" in err
    assert 'people.xlsx, sheet Contacts, row 2, column "email"' in err
