"""The letterhead, set once: a shared file named by the mailing, validated with located
errors, overridden part by part, rendered in the letter and (as text) in the e-mail."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch.email_html import email_html
from dispatch.errors import MailingError
from dispatch.letterhead import letterhead_values
from dispatch.mailing import load_mailing
from tests.conftest import MINIMAL_MAILING

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
SHARED = """
logo = "logo.svg"
phone = "+41 22 555 01 00"
email = "secretariat@example.org"

[organisation]
fr = ["Union internationale des télécommunications"]
en = ["International Telecommunication Union"]

[address]
fr = "Place des Nations, 1211 Genève 20, Suisse"
en = "Place des Nations, 1211 Geneva 20, Switzerland"
"""


def with_letterhead(table: str) -> str:
    return MINIMAL_MAILING + "\n[letterhead]\n" + table.strip() + "\n"


@pytest.fixture
def shared(make_mailing: Callable[..., Path]) -> Callable[..., Path]:
    """A mailing whose folder's parent holds letterhead.toml (and the logo)."""

    def make(table: str = 'file = "../letterhead.toml"', letterhead: str = SHARED) -> Path:
        path: Path = make_mailing(with_letterhead(table))
        (path.parent.parent / "letterhead.toml").write_text(letterhead, encoding="utf-8")
        (path.parent.parent / "logo.svg").write_bytes(LOGO)
        return path

    return make


def test_the_shared_file_gives_every_part_and_the_logo_as_a_data_url(
    shared: Callable[..., Path],
) -> None:
    mailing = load_mailing(shared())
    values = letterhead_values(mailing.head, "fr")
    assert values["organisation"] == ["Union internationale des télécommunications"]
    assert values["address"] == "Place des Nations, 1211 Genève 20, Suisse"
    assert values["phone"] == "+41 22 555 01 00"
    assert values["logo"] == "data:image/svg+xml;base64," + base64.b64encode(LOGO).decode()
    assert values["footer"] is True


def test_a_mailing_overrides_one_part_and_one_language_and_keeps_the_rest(
    shared: Callable[..., Path],
) -> None:
    mailing = load_mailing(
        shared('file = "../letterhead.toml"\nphone = "+41 22 555 02 00"\naddress.en = "Geneva"')
    )
    assert letterhead_values(mailing.head, "en")["phone"] == "+41 22 555 02 00"
    assert letterhead_values(mailing.head, "en")["address"] == "Geneva"
    assert letterhead_values(mailing.head, "fr")["address"].startswith("Place des Nations")


def test_a_mailing_without_a_letterhead_has_an_empty_one(
    make_mailing: Callable[..., Path],
) -> None:
    mailing = load_mailing(make_mailing())
    assert mailing.head is None
    assert letterhead_values(mailing.head, "fr")["organisation"] == []


@pytest.mark.parametrize(
    ("table", "letterhead", "where", "says"),
    [
        ('file = "../nowhere.toml"', SHARED, "nowhere.toml", "does not exist"),
        (
            'file = "../letterhead.toml"',
            "fax = 1\n" + SHARED,
            "letterhead.toml, field fax",
            "is not a field",
        ),
        (
            'file = "../letterhead.toml"',
            "phone = 41\n",
            "letterhead.toml, field phone",
            "is not valid",
        ),
        (
            'file = "../letterhead.toml"',
            SHARED.replace("logo.svg", "logo.gif"),
            "letterhead.toml, field logo",
            "is not an SVG, PNG or JPEG",
        ),
        (
            'file = "../letterhead.toml"',
            SHARED.replace("logo.svg", "missing.svg"),
            "letterhead.toml, field logo",
            "does not exist",
        ),
        (
            'fil = "../letterhead.toml"',
            SHARED,
            "mailing.toml, field letterhead.fil",
            "is not a field",
        ),
    ],
    ids=["missing file", "unknown key", "wrong type", "logo kind", "missing logo", "mailing typo"],
)
def test_a_broken_letterhead_is_reported_with_its_file_and_key(
    shared: Callable[..., Path], table: str, letterhead: str, where: str, says: str
) -> None:
    with pytest.raises(MailingError) as caught:
        load_mailing(shared(table, letterhead))
    text = str(caught.value)
    assert where in text
    assert says in text


def test_the_email_shows_the_letterhead_as_text_without_the_logo() -> None:
    html = (
        '<html><body><header class="letterhead">'
        '<img class="letterhead-logo" src="data:image/svg+xml;base64,PHN2Zy8+" alt="Logo">'
        '<div class="organisation-line">Union internationale des télécommunications</div>'
        "</header></body></html>"
    )
    out = email_html(html)
    assert "Union internationale des télécommunications" in out
    assert "data:image" not in out
    assert "<img" not in out
