"""The language registry: a third language is a folder of templates and one entry."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from types import MappingProxyType

import pytest

from dispatch import languages
from dispatch.formatting import date_range, format_date, ordinal
from dispatch.languages import Formatting, Labels, Language, indicator_ordinal
from dispatch.templates import DEFAULT_TEMPLATES
from tests.conftest import WorkbookFactory, person
from tests.helpers import run

MakeMailing = Callable[..., Path]

SPANISH = Language(
    code="es",
    names=MappingProxyType({"es": "español", "en": "Spanish", "fr": "espagnol"}),
    salutation="Muy señores míos:",
    formatting=Formatting(
        weekday_after=", ",
        day_month=" de ",
        month_year=" de ",
        date_article="el ",
        range_running=("del ", " al "),
        time_range="de {first} a {last}",
        zone_time="hora de {place}",
        deadline="{date}, a las {clock} {zone}",
        deadline_labelled="{date}, a las {clock} {zone}",
        amount="{number}\u00a0{currency}",
        conjunctions=MappingProxyType({"and": "y", "or": "o"}),
        ordinal=indicator_ordinal,
    ),
    labels=Labels(reference="Ref.", links_heading="Enlaces:", link="Enlace"),
)

SPANISH_MAILING = """
template = "invitation"
languages = ["es"]
date = 2021-10-13

[reference]
es = "Circular TSB 352"

[place]
es = "Ginebra"

[unit]
es = ["Oficina de Normalización de las Telecomunicaciones"]

[addressees]
to = ["MS"]

[sender]
email = "tsb@example.org"

[subject]
es = "Sexta reunión ({{ event.start | date }})"

[event]
name = { es = "Reunión U4SSC" }
start = 2021-12-07
start_time = 10:00:00
end_time = 15:30:00
timezone = "Europe/Zurich"
virtual = true

[body.intro]
es = "La reunión tendrá lugar {{ event.start | date_range(event.end) }}."

[[signatories]]
name = "Seizo Onoe"
title = { es = ["Director"] }
"""


@pytest.fixture
def spanish() -> Iterator[Language]:
    languages.register(SPANISH)
    yield SPANISH
    languages.unregister("es")


def _spanish_templates(folder: Path) -> Path:
    """templates/en copied to templates/es and translated minimally; the CSS alongside."""
    shutil.copytree(DEFAULT_TEMPLATES, folder)
    shutil.copytree(folder / "en", folder / "es")
    for path in (folder / "es").iterdir():
        text = path.read_text(encoding="utf-8")
        for english, spanish in [
            ('lang="en"', 'lang="es"'),
            ("Yours sincerely,", "Atentamente,"),
            ("Yours faithfully,", "Atentamente,"),
            ('startswith("Dear Sir")', 'startswith("Muy")'),
        ]:
            text = text.replace(english, spanish)
        path.write_text(text, encoding="utf-8")
    shutil.rmtree(folder / "fr")
    shutil.rmtree(folder / "en")
    return folder


def test_a_registered_language_formats_with_its_profile(spanish: Language) -> None:
    assert format_date(date(2021, 12, 7), "es") == "7 de diciembre de 2021"
    assert format_date(date(2021, 12, 7), "es", weekday=True) == "martes, 7 de diciembre de 2021"
    assert date_range(date(2022, 6, 6), date(2022, 6, 16), "es") == "del 6 al 16 de junio de 2022"
    assert ordinal(7, "es", gender="f") == "7.ª"


def test_codes_are_normalised_and_unknown_ones_refused() -> None:
    assert languages.normalise(" FR ") == "fr"
    with pytest.raises(languages.UnknownLanguage, match='use "fr" or "en"'):
        languages.get("es")
    with pytest.raises(ValueError, match="lower case"):
        Language(code="ES", names={}, salutation="")


def test_a_third_language_is_a_template_folder_and_one_registry_entry(
    spanish: Language,
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    templates = _spanish_templates(tmp_path / "my-templates")
    mailing = make_mailing(SPANISH_MAILING)
    workbook = make_workbook([person("ana@example.org", language="es", civility="", salutation="")])
    out = tmp_path / "out"
    code, stdout, stderr = run(
        "render", mailing, "--contacts", workbook, "--templates", templates, "--out", out,
        "--format", "txt,html",
    )  # fmt: skip
    assert code == 0, stdout + stderr
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.suffix in (".txt", ".html")
    ]
    assert len(texts) == 2
    for text in texts:
        assert "el 7 de diciembre de 2021" in text
        assert "Muy señores míos:" in text
        assert "Madame" not in text and "Dear" not in text
        assert "décembre" not in text and "December" not in text
