"""The filters as templates use them: in a real SandboxedEnvironment, both outputs.

HTML runs with autoescape on, text with it off, both with StrictUndefined, as in
:mod:`dispatch.templates`. ``NB`` is U+00A0, ``NN`` U+202F.
"""

from __future__ import annotations

import doctest
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

import dispatch.filters
from dispatch.filters import FILTERS, install_filters
from dispatch.placeholders import Namespace, UnknownField, UnsetField

NB, NN = "\u00a0", "\u202f"


def environment(output: str) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=output == "html", undefined=jinja2.StrictUndefined)
    install_filters(env)
    return env


def render(source: str, lang: str, output: str, **values: Any) -> str:
    return environment(output).from_string(source).render(lang=lang, output=output, **values)


VALUES: dict[str, Any] = {
    "mailing": {"date": date(2021, 10, 13), "place": "Genève"},
    "start": date(2022, 6, 6),
    "end": date(2022, 6, 16),
    "first": date(2022, 6, 1),
    "meeting": date(2021, 12, 7),
    "due": date(2023, 9, 12),
    "t10": time(10),
    "t1530": time(15, 30),
    "t2359": time(23, 59),
    "zone": "Europe/Zurich",
    "names": ["États Membres", "Membres de Secteur", "Associés"],
}

# (template, lang, text output, html output); html None means "same as text".
CASES: list[tuple[str, str, str, str | None]] = [
    ("{{ mailing.date | date }}", "fr", "13 octobre 2021", None),
    ("{{ mailing.date | date(article=True) }}", "fr", "le 13 octobre 2021", None),
    ("{{ meeting | date(weekday=True, article=True) }}", "fr", "le mardi 7 décembre 2021", None),
    ("{{ first | date(year=False) }}", "fr", "1er juin", "1<sup>er</sup> juin"),
    ("{{ meeting | date(weekday=True) }}", "en", "Tuesday, 7 December 2021", None),
    (
        "{{ mailing.date | place_date(mailing.place) }}",
        "fr",
        "Genève, le 13 octobre 2021",
        None,
    ),
    ("{{ mailing.date | place_date('Geneva') }}", "en", "Geneva, 13 October 2021", None),
    ("{{ start | date_range(end) }}", "fr", "du 6 au 16 juin 2022", None),
    ("{{ start | date_range(end, compact=True) }}", "fr", "6–16 juin 2022", None),
    (
        "{{ first | date_range(end) }}",
        "fr",
        "du 1er au 16 juin 2022",
        "du 1<sup>er</sup> au 16 juin 2022",
    ),
    ("{{ start | date_range(end) }}", "en", "from 6 to 16 June 2022", None),
    ("{{ start | date_range(end, compact=True) }}", "en", "6–16 June 2022", None),
    ("{{ t10 | time }}", "fr", f"10{NB}h{NB}00", None),
    ("{{ t10 | time }}", "en", "10:00", None),
    (
        "le {{ meeting | date }}, {{ t10 | time_range(t1530, zone=zone) }}",  # seed
        "fr",
        f"le 7 décembre 2021, de 10{NB}h{NB}00 à 15{NB}h{NB}30 (heure de Genève)",
        None,
    ),
    (
        "{{ t10 | time_range(t1530, zone=zone) }}",
        "en",
        "10:00 to 15:30 (Geneva time)",
        None,
    ),
    (
        "{{ '08:30' | time_range('11:30', zone='America/New_York', on='2021-09-20',"
        " compact=True) }}",
        "fr",
        f"8{NB}h{NB}30–11{NB}h{NB}30{NB}EDT",
        None,
    ),
    (
        "avant {{ due | deadline(t2359, zone=zone) }}",  # seed
        "fr",
        f"avant le 12 septembre 2023 à 23{NB}h{NB}59, heure de Genève (UTC+2)",
        None,
    ),
    (
        "by {{ due | deadline('23:59', zone=zone) }}",
        "en",
        "by 12 September 2023, 23:59 Geneva time (UTC+2)",
        None,
    ),
    ("{{ zone | zone_label(on=due) }}", "fr", "heure de Genève (UTC+2)", None),
    ("{{ zone | zone_label(on='2023-12-01') }}", "en", "Geneva time (UTC+1)", None),
    ("{{ 76 | ordinal }} session", "fr", "76e session", "76<sup>e</sup> session"),
    ("{{ 1 | ordinal(gender='f') }} réunion", "fr", "1re réunion", "1<sup>re</sup> réunion"),
    ("{{ 76 | ordinal }} session", "en", "76th session", None),
    ("{{ 6 | ordinal_words(gender='f') | capitalize }} réunion", "fr", "Sixième réunion", None),
    ("the {{ 6 | ordinal_words }} meeting", "en", "the sixth meeting", None),
    ("{{ 10000 | number }}", "fr", f"10{NN}000", None),
    ("{{ '2.5' | number }}", "fr", "2,5", None),
    ("{{ 10000 | number }}", "en", "10,000", None),
    ("{{ 25 | percent }}", "fr", f"25{NB}%", None),
    ("{{ 25 | percent }}", "en", "25%", None),
    ("{{ 1500 | amount('CHF') }}", "fr", f"1{NN}500{NB}CHF", None),
    ("{{ 1500 | amount('CHF') }}", "en", f"CHF{NB}1,500", None),
    ("{{ names | join_list }}", "fr", "États Membres, Membres de Secteur et Associés", None),
    ("{{ ['A', 'B', 'C'] | join_list }}", "en", "A, B and C", None),
    ("{{ ['A', 'B'] | join_list('or') }}", "en", "A or B", None),
    ("{{ ['R&D', 'B'] | join_list }}", "en", "R&D and B", "R&amp;D and B"),
    (
        "{{ 'Réf.: la 76^{ème} session, \"Tous unis\"' | typeset }}",
        "fr",
        f"Réf.{NB}: la 76e session, «{NN}Tous unis{NN}»",
        None,
    ),
    ("{{ 'it\\'s \"R&D\" <b>' | typeset }}", "en", "it’s “R&D” <b>", "it’s “R&amp;D” &lt;b&gt;"),
]


@pytest.mark.parametrize("output", ["text", "html"])
@pytest.mark.parametrize(
    ("source", "lang", "text", "html"),
    CASES,
    ids=[f"{lang}:{source}" for source, lang, _, _ in CASES],
)
def test_a_filter_in_a_sandboxed_template(
    source: str, lang: str, text: str, html: str | None, output: str
) -> None:
    expected = text if output == "text" else (html if html is not None else text)
    assert render(source, lang, output, **VALUES) == expected


def test_every_filter_of_the_readme_is_installed() -> None:
    env = environment("html")
    for name in [
        "date",
        "place_date",
        "date_range",
        "time",
        "time_range",
        "deadline",
        "zone_label",
        "ordinal",
        "ordinal_words",
        "number",
        "percent",
        "amount",
        "join_list",
        "typeset",
        "agree",
    ]:
        assert env.filters[name] is FILTERS[name]


def test_html_filters_return_markup_that_autoescape_keeps() -> None:
    env = environment("html")
    template = env.from_string("{{ n | ordinal }}")
    assert template.render(n=2, lang="fr", output="html") == "2<sup>e</sup>"
    assert isinstance(FILTERS["ordinal"], object)


def test_typeset_keeps_markup_and_escapes_plain_strings_in_html() -> None:
    values = {"safe": Markup("<em>Objet</em>:"), "unsafe": "<em>Objet</em>:"}
    source = "{{ safe | typeset }} | {{ unsafe | typeset }}"
    assert render(source, "fr", "html", **values) == (
        f"<em>Objet</em>{NB}: | &lt;em&gt;Objet&lt;/em&gt;{NB}:"
    )


def test_the_output_defaults_to_the_environment_autoescape() -> None:
    env = environment("html")
    assert env.from_string("{{ 2 | ordinal }}").render(lang="fr") == "2<sup>e</sup>"
    env = environment("text")
    assert env.from_string("{{ 2 | ordinal }}").render(lang="fr") == "2e"


@pytest.mark.parametrize(
    ("source", "values", "message"),
    [
        ("{{ 2 | ordinal }}", {"output": "text"}, 'no "lang" variable'),
        ("{{ 2 | ordinal }}", {"lang": "de", "output": "text"}, 'use "fr" or "en"'),
        ("{{ 2 | ordinal }}", {"lang": "fr", "output": "pdf"}, 'not "html" or "text"'),
        ("{{ '13/10/2021' | date }}", {"lang": "fr", "output": "text"}, "write it as 2021-10-13"),
        ("{{ '10h' | time }}", {"lang": "fr", "output": "text"}, "write it as 10:00"),
        ("{{ 'dix' | number }}", {"lang": "fr", "output": "text"}, "write it as 1500 or 2.5"),
        ("{{ 'deux' | ordinal }}", {"lang": "fr", "output": "text"}, "not a whole number"),
        ("{{ 'ABC' | join_list }}", {"lang": "fr", "output": "text"}, "not one string"),
        (
            "{{ '10:00' | time_range('11:00', zone='Mars/Olympus') }}",
            {"lang": "fr", "output": "text"},
            "unknown: use an IANA name",
        ),
    ],
    ids=[
        "no-lang",
        "bad-lang",
        "bad-output",
        "bad-date",
        "bad-time",
        "bad-number",
        "bad-ordinal",
        "string-for-list",
        "bad-zone",
    ],
)
def test_a_bad_value_stops_the_template_with_a_message_that_says_what_to_write(
    source: str, values: dict[str, Any], message: str
) -> None:
    env = SandboxedEnvironment(autoescape=False, undefined=jinja2.StrictUndefined)
    install_filters(env)
    with pytest.raises(ValueError, match=message):
        env.from_string(source).render(**values)


def test_an_undefined_value_is_still_an_undefined_error() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("{{ missing | date }}", "fr", "text")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2021, 10, 13), "13 octobre 2021"),
        (datetime(2021, 10, 13, 9, 0), "13 octobre 2021"),
        ("2021-10-13", "13 octobre 2021"),
        (" 2021-10-13 ", "13 octobre 2021"),
    ],
    ids=["date", "datetime", "iso-string", "iso-string-with-spaces"],
)
def test_dates_come_as_dates_or_iso_strings(value: Any, expected: str) -> None:
    assert render("{{ d | date }}", "fr", "text", d=value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1500, f"1{NN}500"), (Decimal("1500.5"), f"1{NN}500,5"), ("1 500", f"1{NN}500")],
    ids=["int", "decimal", "string-with-space"],
)
def test_numbers_come_as_numbers_or_strings(value: Any, expected: str) -> None:
    assert render("{{ x | number }}", "fr", "text", x=value) == expected


def test_the_docstring_examples_hold() -> None:
    result = doctest.testmod(dispatch.filters)
    assert result.failed == 0
    assert result.attempted >= 2


AGREEMENT = [
    pytest.param("fr", True, "{{ 'assuré' | agree }}", "assurée", id="fr-feminine-participle"),
    pytest.param("fr", False, "{{ 'assuré' | agree }}", "assuré", id="fr-masculine"),
    pytest.param("fr", True, "{{ 'Cher' | agree }}", "Chère", id="fr-cher"),
    pytest.param("fr", True, "{{ 'heureux' | agree }}", "heureuse", id="fr-eux"),
    pytest.param("fr", True, "{{ 'collègue' | agree }}", "collègue", id="fr-epicene"),
    pytest.param("fr", True, "{{ 'beau' | agree('belle') }}", "belle", id="fr-irregular"),
    pytest.param("fr", False, "{{ 'beau' | agree('belle') }}", "beau", id="fr-irregular-m"),
    pytest.param("en", True, "{{ 'assured' | agree }}", "assured", id="en-no-agreement"),
]


@pytest.mark.parametrize(("lang", "feminine", "source", "expected"), AGREEMENT)
def test_agree_follows_the_addressee(lang: str, feminine: bool, source: str, expected: str) -> None:
    addressee = Namespace({"feminine": feminine}, "addressee")
    assert render(source, lang, "text", addressee=addressee) == expected


def test_agree_without_an_addressee_is_masculine() -> None:
    assert render("{{ 'assuré' | agree }}", "fr", "text") == "assuré"


def test_an_unset_field_given_to_a_filter_names_the_field() -> None:
    event = Namespace({"registration_deadline": None, "zone_label": None}, "event")
    with pytest.raises(UnsetField, match=r"^event\.registration_deadline$"):
        render("{{ event.registration_deadline | date }}", "fr", "text", event=event)
    # an optional argument left unset is simply not given
    source = "{{ t | time_range(e, zone='America/New_York', label=event.zone_label) }}"
    out = render(source, "fr", "text", t=time(8, 30), e=time(11, 30), event=event)
    assert out == f"de 8{NB}h{NB}30 à 11{NB}h{NB}30 (heure de New York)"


def test_a_misspelt_field_given_to_a_filter_says_what_was_meant() -> None:
    event = Namespace({"start": date(2021, 9, 20)}, "event")
    with pytest.raises(UnknownField) as caught:
        render("{{ event.strat | date }}", "fr", "text", event=event)
    assert (caught.value.field, caught.value.suggestion) == ("event.strat", "event.start")


def test_unset_fields_are_false_and_take_a_default() -> None:
    event = Namespace({"venue": None}, "event")
    source = "{% if event.venue %}x{% else %}en ligne{% endif %}, {{ event.venue | default('-') }}"
    assert render(source, "fr", "text", event=event) == "en ligne, -"
    assert render("{{ event.venue is defined }}", "fr", "text", event=event) == "False"
