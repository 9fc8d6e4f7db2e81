"""The mailing file: typed values, and every problem reported with its field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from pathlib import Path

import pytest

from dispatch.errors import MailingError
from dispatch.mailing import load_mailing
from tests.conftest import MINIMAL_MAILING, ROOT

MakeMailing = Callable[..., Path]


def problems_of(path: Path) -> list[str]:
    with pytest.raises(MailingError) as caught:
        load_mailing(path)
    return [str(p) for p in caught.value.problems]


def test_the_minimal_mailing_loads_with_real_dates_and_times(make_mailing: MakeMailing) -> None:
    mailing = load_mailing(make_mailing())
    assert mailing.date == date(2021, 10, 13)
    assert mailing.event is not None
    assert mailing.event.start_time == time(10, 0)
    assert mailing.event.last_day == date(2021, 12, 7)
    assert mailing.reference.get("en") == "TSB Circular 352"
    assert mailing.name == "u4ssc-6"


def test_a_folder_can_be_given_instead_of_the_file(make_mailing: MakeMailing) -> None:
    path = make_mailing()
    assert load_mailing(path.parent).path == path


@pytest.mark.parametrize("name", ["tsb-352", "cmdt-21"])
def test_the_bundled_samples_load(name: str) -> None:
    mailing = load_mailing(ROOT / "mailings" / name)
    assert mailing.languages == ["fr", "en"]


BAD = [
    pytest.param(
        ("date = 2021-10-13", 'date = "13 octobre 2021"'),
        'mailing.toml, field date: "13 octobre 2021" is not valid: Input should be a valid date',
        id="date-as-a-string",
    ),
    pytest.param(
        ("start_time = 10:00:00", 'start_time = "10h"'),
        'mailing.toml, field event.start_time: "10h" is not valid',
        id="time-as-string",
    ),
    pytest.param(
        ('timezone = "Europe/Zurich"', 'timezone = "Europe/Geneva"'),
        'mailing.toml, field event.timezone: "Europe/Geneva" is not valid: '
        "'Europe/Geneva' is not an IANA time zone",
        id="unknown-time-zone",
    ),
    pytest.param(
        ("numbered = true", "numberd = true"),
        'mailing.toml, field numberd: "numberd" is not a field of a mailing file here. '
        'Did you mean "numbered"?',
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        ('[subject]\nfr = "Sixième', '[subject]\nfrr = "Sixième'),
        'mailing.toml, field subject.frr: "frr" is not a field',
        id="unknown-lang-key",
    ),
    pytest.param(
        ('name = "Chaesub Lee"', ""),
        "mailing.toml, field signatories[0].name: is missing. Add it to the mailing file.",
        id="missing-required-field",
    ),
    pytest.param(
        ('email = "tsb@example.org"', 'email = "tsb@example.org\\nBcc: x@example.org"'),
        "mailing.toml, field sender.email:",
        id="header-injection-in-sender",
    ),
    pytest.param(
        ('en = "TSB Circular 352"', ""),
        "mailing.toml, field reference.en: is missing: the mailing is sent in fr, en. "
        "Add reference.en, or remove 'en' from languages.",
        id="missing-translation",
    ),
    pytest.param(
        ("start = 2021-12-07", "start = 2021-12-07\nend = 2021-12-01"),
        "mailing.toml, field event: end is before start",
        id="end-before-start",
    ),
    pytest.param(
        (
            'template = "invitation"',
            'template = "invitation"\n[[annexes]]\n'
            'title = { fr = "Programme", en = "Programme" }\nfile = "programme.pdf"',
        ),
        'mailing.toml, field annexes[0].file: "programme.pdf" does not exist',
        id="missing-annex-file",
    ),
    pytest.param(
        (
            'template = "invitation"',
            'template = "invitation"\n[[annexes]]\n'
            'title = { fr = "P", en = "P" }\nfile = "../../../etc/passwd"',
        ),
        'mailing.toml, field annexes[0].file: "../../../etc/passwd" points outside',
        id="annex-outside-the-folder",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), BAD)
def test_each_bad_field_is_reported_with_its_path(
    make_mailing: MakeMailing,
    edit: tuple[str, str],
    expected: str,
) -> None:
    old, new = edit
    assert old in MINIMAL_MAILING
    text = MINIMAL_MAILING.replace(old, new, 1)
    if "[[annexes]]" in new:  # annexes must come after the tables of the top level
        text = MINIMAL_MAILING + new.split("\n", 1)[1]
    messages = problems_of(make_mailing(text))
    assert any(m.startswith(expected) for m in messages), messages


def test_every_problem_is_reported_at_once(make_mailing: MakeMailing) -> None:
    text = (
        MINIMAL_MAILING.replace("date = 2021-10-13", 'date = "2021-10-13"')
        .replace('timezone = "Europe/Zurich"', 'timezone = "Mars/Olympus"')
        .replace("numbered = true", "numbred = true")
    )
    messages = problems_of(make_mailing(text))
    assert len(messages) == 3


def test_invalid_toml_names_the_line(make_mailing: MakeMailing) -> None:
    (message,) = problems_of(make_mailing('template = "invitation"\ndate = 2021-13-45\n'))
    assert message.startswith("mailing.toml, line 2: is not valid TOML")


def test_a_missing_file_says_what_to_give(tmp_path: Path) -> None:
    (message,) = problems_of(tmp_path / "nowhere")
    assert "does not exist. Give the path of a mailing folder or of its mailing.toml." in message


def test_a_mistyped_mailing_folder_gets_a_did_you_mean(tmp_path: Path) -> None:
    (tmp_path / "tsb-352").mkdir()
    (message,) = problems_of(tmp_path / "tsb-35")
    assert message.endswith(f"Did you mean {tmp_path / 'tsb-352'}?")


@pytest.mark.parametrize("name", ["contacts.xlsx", "contacts.ods", "addressees"])
def test_a_workbook_given_as_the_mailing_is_named_a_workbook(tmp_path: Path, name: str) -> None:
    workbook = tmp_path / name
    workbook.write_bytes(b"PK\x03\x04" + bytes(range(256)))  # a zip, as xlsx and ods are
    (message,) = problems_of(workbook)
    assert message == (
        f"{name}: is a workbook (the addressees), where a mailing is expected. Give the "
        "mailing folder (or its mailing.toml); the workbook goes to --contacts or to the "
        "mailing's contacts key."
    )
    assert "UTF-8" not in message


def test_an_annex_that_exists_is_accepted(make_mailing: MakeMailing) -> None:
    text = (
        MINIMAL_MAILING + '[[annexes]]\ntitle = { fr = "Programme", en = "Programme" }\n'
        'file = "programme.pdf"\n'
    )
    mailing = load_mailing(make_mailing(text, files={"programme.pdf": b"%PDF-1.4"}))
    assert mailing.annex_path(mailing.annexes[0]) == mailing.folder / "programme.pdf"
