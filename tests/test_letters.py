"""Letters as the secretariat writes them: the closing formula, French agreement with
the addressee, times named as the letter names them, Markdown alike in HTML, text and PDF,
and no ``None`` or ``{{`` in any file of any sample."""

from __future__ import annotations

import email
import io
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pytest
from icalendar import Calendar

from dispatch.ics import build_ics
from dispatch.mailing import load_mailing
from dispatch.pdf import render_pdf
from dispatch.prepare import prepare
from dispatch.render import Letter
from tests.conftest import MINIMAL_MAILING, ROOT, WorkbookFactory, no_copy, person
from tests.helpers import run

MakeMailing = Callable[..., Path]
NBSP, NNBSP = "\u00a0", "\u202f"


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace(NBSP, " ").replace(NNBSP, " "))


SEED_002_CLOSING = """
[closing]
fr = "Veuillez agréer, {{ salutation_in_closing }}, l'expression de ma haute considération."
en = "Accept, {{ salutation_in_closing }}, the assurances of my highest consideration."
"""

PEOPLE = [
    person("directrice@example.org", salutation="Madame la Directrice"),
    person(
        "ministre@example.org",
        civility="M.",
        first_name="Paul",
        salutation="Monsieur le Ministre,",
        organisation="Ministère des Finances",
    ),
    person("office@example.org", civility="", first_name="", last_name="", organisation="Office"),
    person(
        "dr.lee@example.org",
        language="en",
        civility="Dr",
        salutation="Dear Dr Lee,",
        categories="AC",
        organisation="University",
    ),
    person("institution@example.org", language="en", civility="", organisation="Institute"),
    person(
        "ms.grey@example.org",
        language="en",
        civility="Ms",
        salutation="Dear Madam",
        organisation="Grey Ltd",
    ),
]


def letters(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, text: str = MINIMAL_MAILING
) -> dict[str, Letter]:
    prepared = prepare(make_mailing(no_copy(text)), contacts_path=make_workbook(PEOPLE))
    return {x.addressee.email: x for x in prepared.letters}


def test_each_closing_repeats_its_own_addressees_salutation(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    by_address = letters(make_mailing, make_workbook, MINIMAL_MAILING + SEED_002_CLOSING)
    expected = {
        "directrice@example.org": "Veuillez agréer, Madame la Directrice, l’expression de ma "
        "haute considération.",
        "ministre@example.org": "Veuillez agréer, Monsieur le Ministre, l’expression de ma "
        "haute considération.",
        "office@example.org": "Veuillez agréer, Madame, Monsieur, l’expression de ma haute "
        "considération.",
        "dr.lee@example.org": "Accept, Dear Dr Lee, the assurances of my highest consideration.",
    }
    for address, closing in expected.items():
        letter = by_address[address]
        assert closing in plain(letter.text), address
        assert closing in plain(re.sub(r"<[^>]+>", "", letter.html)), address


def test_agree_follows_the_addressees_civility(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    text = MINIMAL_MAILING.replace(
        "seulement.",
        "seulement. Soyez {{ 'assuré' | agree }} de notre soutien, {{ 'Cher' | agree }} "
        "{{ 'collègue' | agree }}, {{ 'beau' | agree('belle') }}.",
    ).replace("only.", "only. Be {{ 'assured' | agree }}.")
    by_address = letters(make_mailing, make_workbook, text)
    feminine = plain(by_address["directrice@example.org"].text)
    masculine = plain(by_address["ministre@example.org"].text)
    institution = plain(by_address["office@example.org"].text)
    assert "Soyez assurée de notre soutien, Chère collègue, belle." in feminine
    assert "Soyez assuré de notre soutien, Cher collègue, beau." in masculine
    assert "Soyez assuré de notre soutien, Cher collègue, beau." in institution
    assert "Be assured." in plain(by_address["ms.grey@example.org"].text)


@pytest.mark.parametrize(
    ("address", "closing"),
    [
        ("institution@example.org", "Yours faithfully,"),  # Dear Sir/Madam,
        ("ms.grey@example.org", "Yours faithfully,"),  # Dear Madam,
        ("dr.lee@example.org", "Yours sincerely,"),  # Dear Dr Lee,
    ],
    ids=["sir-madam", "madam", "named"],
)
def test_english_closes_faithfully_unnamed_and_sincerely_named(
    address: str, closing: str, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    letter = letters(make_mailing, make_workbook)[address]
    (other,) = {"Yours faithfully,", "Yours sincerely,"} - {closing}
    for output in (letter.text, letter.html):
        assert closing in output
        assert other not in output


SEED_002_EVENT = MINIMAL_MAILING.replace(
    'start = 2021-12-07\nstart_time = 10:00:00\nend_time = 15:30:00\ntimezone = "Europe/Zurich"',
    'start = 2021-09-20\nstart_time = 08:30:00\nend_time = 11:30:00\ntimezone = "America/New_York"'
    '\nzone_label = "EST"',
).replace(
    "{{ event.start_time | time_range(event.end_time, zone=event.zone) }}",
    "{{ event.start_time | time_range(event.end_time, zone=event.zone, label=event.zone_label) }}"
    " ({{ event.start_time | time_range(event.end_time, zone=event.zone, "
    "label=event.zone_label, on=event.start, compact=True) }})",
)


def test_times_are_named_by_the_label_while_the_calendar_keeps_the_zone(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    path = make_mailing(no_copy(SEED_002_EVENT))
    by_address = letters(make_mailing, make_workbook, SEED_002_EVENT)
    fr = plain(by_address["directrice@example.org"].text)
    en = plain(by_address["dr.lee@example.org"].text)
    assert "de 8 h 30 à 11 h 30 EST (8 h 30–11 h 30 EST)" in fr
    assert "08:30 to 11:30 EST (08:30–11:30 EST)" in en
    assert "Panama" not in fr + en
    ics = build_ics(load_mailing(path), "fr")
    assert ics is not None
    (vevent,) = Calendar.from_ical(ics).walk("VEVENT")
    start = vevent.decoded("dtstart")
    assert isinstance(start, datetime)
    assert start.tzinfo is not None and str(start.tzinfo) == "America/New_York"
    assert start.utcoffset() == ZoneInfo("America/New_York").utcoffset(datetime(2021, 9, 20, 8, 30))
    assert start.astimezone(ZoneInfo("UTC")).hour == 12  # 8:30 EDT is 12:30 UTC


def test_a_zone_used_in_a_template_filter_is_refused_if_legacy(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    text = MINIMAL_MAILING.replace('zone=event.zone) }}."\nen', "zone='EST') }}.\"\nen")
    code, _, stderr = run("check", str(make_mailing(text)), "--contacts", str(make_workbook()))
    assert code == 2
    assert (
        "time zone 'EST' is an abbreviation, not a place: write timezone = "
        '"America/New_York" and zone_label = "EST"'
    ) in stderr


MARKDOWN = MINIMAL_MAILING.replace(
    "seulement.",
    "seulement. Voir https://www.itu.int/md/T22_SG20_200101_TD_0001 et le "
    "[site](https://www.itu.int/u4ssc) ou le [site](https://www.itu.int/u4ssc) et "
    "[ici](#).\\n\\n1) **Connecter**\\n2) *Autonomiser*\\n\\n5. cinq\\n6. six\\n\\n- puce",
)


def test_markdown_is_the_same_in_html_and_text(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    letter = letters(make_mailing, make_workbook, MARKDOWN)["directrice@example.org"]
    text, html = letter.text, letter.html
    assert "Voir https://www.itu.int/md/T22_SG20_200101_TD_0001 et le site [1] ou le site [1]" in (
        plain(text)
    )
    assert "et ici." in plain(text)
    assert "\n1) Connecter\n2) Autonomiser\n" in text
    assert "\n5. cinq\n6. six\n" in text
    assert "\n• puce" in text
    assert text.endswith("\n\n\nLiens\u00a0:\n[1] https://www.itu.int/u4ssc\n")
    assert (
        '<a href="https://www.itu.int/md/T22_SG20_200101_TD_0001">'
        "https://www.itu.int/md/T22_SG20_200101_TD_0001</a>"
    ) in html
    assert '<li><span class="marker">1)</span>\u00a0<strong>Connecter</strong>' in html
    assert (
        '<ol start="5">\n<li value="5" style="counter-reset: list-item 5; '
        'counter-increment: none">cinq</li>'
    ) in html


def test_list_numbers_as_written_in_the_pdf(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    letter = letters(make_mailing, make_workbook, MARKDOWN)["directrice@example.org"]
    pdf = pypdf.PdfReader(io.BytesIO(render_pdf(letter.html)))
    text = plain(" ".join(page.extract_text() for page in pdf.pages))
    assert "1) Connecter 2) Autonomiser" in text  # the markers are text, as written
    # WeasyPrint's list markers come after the text they number.
    assert "cinq six" in text
    assert re.search(r"six .*\b5\. 6\.", text)
    assert not re.search(r"six .*\b1\. 2\.", text)


def test_the_cmdt21_annex_agenda_keeps_its_numbers_in_the_pdf() -> None:
    prepared = prepare(ROOT / "mailings" / "cmdt-21", contacts_path=ROOT / "contacts.xlsx")
    fr = next(x for x in prepared.letters if x.lang == "fr")
    pdf = pypdf.PdfReader(io.BytesIO(render_pdf(fr.html)))
    text = plain(" ".join(page.extract_text() for page in pdf.pages))
    # WeasyPrint's markers come after the text of their section: 1-4, 5-12, 13-14. The
    # items "a)", "b)" carry their own labels: no bullet besides (it printed "◦ a)").
    assert "1. 2. 3. 4. 5. 6. 7. 8. 9. 10. 11. 12. 13. 14." in text
    assert "◦" not in text


def _decoded_parts(raw: bytes) -> list[str]:
    message = email.message_from_bytes(raw)
    out = [str(message.get(h, "")) for h in ("Subject", "From", "To", "Cc", "Reply-To")]
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and part.get_content_maintype() == "text":
            out.append(payload.decode(part.get_content_charset() or "utf-8"))
        filename = part.get_filename()
        if filename:
            out.append(filename)
    return out


@pytest.mark.heavy
@pytest.mark.parametrize(
    "sample", sorted(p.parent.name for p in (ROOT / "mailings").glob("*/mailing.toml"))
)
def test_no_rendered_file_of_a_sample_holds_none_or_braces(sample: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, stderr = run(
        "render",
        str(ROOT / "mailings" / sample),
        "--contacts",
        str(ROOT / "contacts.xlsx"),
        "--out",
        str(out),
        "--format",
        "html,txt,eml,ics",
    )
    assert code == 0, stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert "None" not in path.name and "{{" not in path.name
        raw = path.read_bytes()
        texts = _decoded_parts(raw) if path.suffix == ".eml" else [raw.decode("utf-8")]
        for text in texts:
            assert not re.search(r"\bNone\b", text), path.name
            assert "{{" not in text and "{%" not in text, path.name


def test_unset_event_in_a_consultation_is_named(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    """A template value the mailing lacks as a whole ([event]) is named, never "None"."""
    text = MINIMAL_MAILING.replace('template = "invitation"', 'template = "consultation"').replace(
        "[event]", "[deadline]\ndate = 2021-12-01\n\n[event]"
    )
    text = re.sub(r"\[event\].*?(?=\n\[body)", "", text, flags=re.S)
    code, _, stderr = run("check", str(make_mailing(text)), "--contacts", str(make_workbook()))
    assert code == 2
    assert "the placeholder event has no value: the mailing file does not set it" in (stderr)
    assert "None" not in stderr
