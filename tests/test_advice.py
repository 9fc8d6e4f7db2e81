"""What ``check`` warns about in a mailing's words: an English closing that contradicts some
letters' salutations, a zone named by the mailing that is not the zone's name on the date."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dispatch.prepare import prepare
from tests.conftest import MINIMAL_MAILING, ROOT, WorkbookFactory, no_copy, person
from tests.helpers import run

MakeMailing = Callable[..., Path]

NAMED_AND_UNNAMED = [
    person(
        "a@example.org",
        language="en",
        first_name="Ingrid",
        last_name="Solberg",
        salutation="Dear Dr Solberg",
    ),
    person(
        "b@example.org",
        language="en",
        first_name="Daniel",
        last_name="Kowalczyk",
        salutation="Dear Professor Kowalczyk",
    ),
    person("c@example.org", language="en", first_name="Ann", last_name="Lee"),
]


def _with_closing(en: str) -> str:
    closing = f'closing = {{ fr = "Veuillez agréer, Madame, Monsieur.", en = "{en}" }}\n'
    return MINIMAL_MAILING.replace("numbered = true\n", "numbered = true\n" + closing)


def test_a_fixed_english_closing_that_contradicts_salutations_is_a_warning_with_a_count(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(
        make_mailing(no_copy(_with_closing("Yours faithfully,"))),
        contacts_path=make_workbook(NAMED_AND_UNNAMED),
    )
    messages = [str(w) for w in prepared.warnings if "closing.en" in str(w)]
    assert len(messages) == 1
    assert 'says "Yours faithfully" to 2 English letters' in messages[0]
    assert "{{ yours }}" in messages[0]


def test_the_yours_placeholder_agrees_with_each_salutation_and_warns_of_nothing(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(
        make_mailing(no_copy(_with_closing("{{ yours }},"))),
        contacts_path=make_workbook(NAMED_AND_UNNAMED),
    )
    assert [w for w in prepared.warnings if "closing" in str(w)] == []
    closes = {
        letter.addressee.email: letter.text.split("Sir/Madam,")[-1] for letter in prepared.letters
    }
    assert "Yours sincerely," in closes["a@example.org"]
    assert "Yours sincerely," in closes["b@example.org"]
    assert "Yours faithfully," in closes["c@example.org"]


NEW_YORK = """
[event]
name = { fr = "Réunion", en = "Meeting" }
start = 2021-09-20
start_time = 08:30:00
end_time = 11:30:00
timezone = "America/New_York"
zone_label = "LABEL"
"""


def _new_york(label: str) -> str:
    head, _, rest = MINIMAL_MAILING.partition("[event]")
    rest = rest[rest.index("[body.intro]") :]
    return head + NEW_YORK.replace("LABEL", label) + "\n" + rest


def test_a_zone_label_that_is_not_the_zones_name_on_the_date_is_a_warning(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(make_mailing(_new_york("EST")), contacts_path=make_workbook())
    found = [str(w) for w in prepared.warnings if "event.zone_label" in str(w)]
    assert len(found) == 1
    assert "America/New_York is on EDT on 2021-09-20" in found[0]


def test_a_zone_label_right_for_the_date_warns_of_nothing(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(make_mailing(_new_york("EDT")), contacts_path=make_workbook())
    assert [w for w in prepared.warnings if "zone" in str(w)] == []


def test_check_of_bdt_dir_105_warns_about_est_on_an_edt_date() -> None:
    code, stdout, stderr = run(
        "check", ROOT / "mailings" / "bdt-dir-105", "--contacts", ROOT / "contacts.xlsx"
    )
    assert code == 0, stdout + stderr
    text = " ".join((stdout + stderr).split())
    assert "names the time EST, but America/New_York is on EDT on 2021-09-20" in text
