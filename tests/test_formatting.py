"""Locale-aware values as a formal letter writes them, in French and English.

Expected strings are exact: ``NB`` is U+00A0 NO-BREAK SPACE, ``NN`` U+202F NARROW NO-BREAK
SPACE. Phrases marked "seed" are copied from the real circulars in shared/seeds.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

import dispatch.formatting
from dispatch.formatting import (
    amount,
    date_range,
    deadline,
    format_date,
    format_number,
    format_time,
    join_list,
    ordinal,
    ordinal_words,
    percent,
    place_date,
    time_range,
    utc_offset,
    zone_abbreviation,
    zone_label,
)
from dispatch.typography import typeset

NB, NN = "\u00a0", "\u202f"
GENEVA = "Europe/Zurich"


def case(expected: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(args, kwargs, expected, id=expected.replace(NB, "~").replace(NN, "^"))


# --- language ----------------------------------------------------------------------------

EVERY_FUNCTION: list[tuple[str, Callable[[str], object]]] = [
    ("format_date", lambda lang: format_date(date(2021, 10, 13), lang)),
    ("place_date", lambda lang: place_date("Genève", date(2021, 10, 13), lang)),
    ("date_range", lambda lang: date_range(date(2022, 6, 6), date(2022, 6, 16), lang)),
    ("format_time", lambda lang: format_time(time(10), lang)),
    ("time_range", lambda lang: time_range(time(10), time(11), lang)),
    ("deadline", lambda lang: deadline(date(2023, 9, 12), time(23, 59), lang, zone=GENEVA)),
    ("zone_label", lambda lang: zone_label(GENEVA, lang, on=date(2023, 9, 12))),
    ("ordinal", lambda lang: ordinal(2, lang)),
    ("ordinal_words", lambda lang: ordinal_words(2, lang)),
    ("format_number", lambda lang: format_number(2, lang)),
    ("percent", lambda lang: percent(2, lang)),
    ("amount", lambda lang: amount(2, "CHF", lang)),
    ("join_list", lambda lang: join_list(["A"], lang)),
]


@pytest.mark.parametrize(("name", "call"), EVERY_FUNCTION, ids=[n for n, _ in EVERY_FUNCTION])
@pytest.mark.parametrize("lang", ["de", "FR", "fr_CH", ""])
def test_a_language_other_than_fr_or_en_is_refused(
    name: str, call: Callable[[str], object], lang: str
) -> None:
    with pytest.raises(ValueError, match='use "fr" or "en"'):
        call(lang)


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case("13 octobre 2021", date(2021, 10, 13), "fr"),
        case("le 13 octobre 2021", date(2021, 10, 13), "fr", article=True),
        case("le mardi 7 décembre 2021", date(2021, 12, 7), "fr", weekday=True, article=True),
        case("mardi 7 décembre 2021", date(2021, 12, 7), "fr", weekday=True),
        case("1er juin 2022", date(2022, 6, 1), "fr"),
        case("le 1er juin 2022", date(2022, 6, 1), "fr", article=True),
        case("1er janvier", date(2022, 1, 1), "fr", year=False),
        case("le 12 septembre 2023", date(2023, 9, 12), "fr", article=True),
        case("3 février 2021", date(2021, 2, 3), "fr"),
        case("18 août 2023", date(2023, 8, 18), "fr"),
        case("13 October 2021", date(2021, 10, 13), "en"),
        case("13 October 2021", date(2021, 10, 13), "en", article=True),
        case("1 June 2022", date(2022, 6, 1), "en"),
        case("Tuesday, 7 December 2021", date(2021, 12, 7), "en", weekday=True),
        case("1 January", date(2022, 1, 1), "en", year=False),
        case("Saturday, 1 January", date(2022, 1, 1), "en", weekday=True, year=False),
    ],
)
def test_a_date_is_written_in_full_with_1er_in_french(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert format_date(*args, **kwargs) == expected


def test_a_datetime_is_written_as_its_date() -> None:
    assert format_date(datetime(2021, 10, 13, 9, 30), "fr") == "13 octobre 2021"


def test_1er_is_superscript_in_html_and_the_result_is_markup() -> None:
    result = format_date(date(2022, 6, 1), "fr", article=True, html=True)
    assert result == "le 1<sup>er</sup> juin 2022"
    assert isinstance(result, Markup)


def test_a_date_that_is_not_a_date_is_refused() -> None:
    with pytest.raises(ValueError, match="not a date"):
        format_date("2021-10-13", "fr")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case("Genève, le 13 octobre 2021", "Genève", date(2021, 10, 13), "fr"),  # seed
        case("Genève, le 22 février 2022", "Genève", date(2022, 2, 22), "fr"),  # seed
        case("Genève, le 6 septembre 2021", "Genève", date(2021, 9, 6), "fr"),  # seed
        case("Genève, le 1er juin 2022", "Genève", date(2022, 6, 1), "fr"),
        case("Geneva, 13 October 2021", "Geneva", date(2021, 10, 13), "en"),
        case("Kigali, 1 June 2022", " Kigali ", date(2022, 6, 1), "en"),
    ],
)
def test_the_place_and_date_line_uses_the_place_as_given(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert place_date(*args, **kwargs) == expected


def test_the_place_is_escaped_in_html() -> None:
    result = place_date("<Genève>", date(2022, 6, 1), "fr", html=True)
    assert result == "&lt;Genève&gt;, le 1<sup>er</sup> juin 2022"


def test_an_empty_place_is_refused() -> None:
    with pytest.raises(ValueError, match="place"):
        place_date("  ", date(2022, 6, 1), "fr")


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case("du 6 au 16 juin 2022", date(2022, 6, 6), date(2022, 6, 16), "fr"),  # seed
        case("du 2 au 4 juin 2022", date(2022, 6, 2), date(2022, 6, 4), "fr"),  # seed
        case("du 30 mai au 3 juin 2022", date(2022, 5, 30), date(2022, 6, 3), "fr"),
        case("du 28 décembre 2021 au 2 janvier 2022", date(2021, 12, 28), date(2022, 1, 2), "fr"),
        case("du 1er au 3 juin 2022", date(2022, 6, 1), date(2022, 6, 3), "fr"),
        case("du 31 mai au 1er juin 2022", date(2022, 5, 31), date(2022, 6, 1), "fr"),
        case("le 7 décembre 2021", date(2021, 12, 7), date(2021, 12, 7), "fr"),
        case("6–16 juin 2022", date(2022, 6, 6), date(2022, 6, 16), "fr", compact=True),
        case("1er–3 juin 2022", date(2022, 6, 1), date(2022, 6, 3), "fr", compact=True),
        case(f"30 mai{NB}– 3 juin 2022", date(2022, 5, 30), date(2022, 6, 3), "fr", compact=True),
        case(
            f"28 décembre 2021{NB}– 2 janvier 2022",
            date(2021, 12, 28),
            date(2022, 1, 2),
            "fr",
            compact=True,
        ),
        case("7 décembre 2021", date(2021, 12, 7), date(2021, 12, 7), "fr", compact=True),
        case("from 6 to 16 June 2022", date(2022, 6, 6), date(2022, 6, 16), "en"),
        case("from 30 May to 3 June 2022", date(2022, 5, 30), date(2022, 6, 3), "en"),
        case("from 28 December 2021 to 2 January 2022", date(2021, 12, 28), date(2022, 1, 2), "en"),
        case("7 December 2021", date(2021, 12, 7), date(2021, 12, 7), "en"),
        case("6–16 June 2022", date(2022, 6, 6), date(2022, 6, 16), "en", compact=True),
        case(f"30 May{NB}– 3 June 2022", date(2022, 5, 30), date(2022, 6, 3), "en", compact=True),
    ],
)
def test_a_date_range_reads_as_running_text_or_compact(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert date_range(*args, **kwargs) == expected


def test_a_date_range_in_html_has_1er_in_superscript() -> None:
    result = date_range(date(2022, 6, 1), date(2022, 6, 3), "fr", html=True)
    assert result == "du 1<sup>er</sup> au 3 juin 2022"
    assert isinstance(result, Markup)


def test_a_date_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match=r"ends \(2022-06-01\) before it starts \(2022-06-03\)"):
        date_range(date(2022, 6, 3), date(2022, 6, 1), "fr")


# --- times and zones ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case(f"10{NB}h{NB}00", time(10), "fr"),
        case(f"8{NB}h{NB}30", time(8, 30), "fr"),
        case(f"23{NB}h{NB}59", time(23, 59), "fr"),
        case(f"0{NB}h{NB}05", time(0, 5), "fr"),
        case("10:00", time(10), "en"),
        case("08:30", time(8, 30), "en"),
        case("23:59", time(23, 59, 30), "en"),
    ],
)
def test_a_time_is_on_the_24_hour_clock(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert format_time(*args, **kwargs) == expected


H10, H1530 = f"10{NB}h{NB}00", f"15{NB}h{NB}30"


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case(f"de {H10} à {H1530}", time(10), time(15, 30), "fr"),
        case(  # seed
            f"de {H10} à {H1530} (heure de Genève)", time(10), time(15, 30), "fr", zone=GENEVA
        ),
        case(
            f"de {H10} à {H1530} (heure de Genève, UTC+1)",
            time(10),
            time(15, 30),
            "fr",
            zone=GENEVA,
            on=date(2021, 12, 7),
            offset=True,
        ),
        case(
            f"de {H10} à {H1530} (heure de Kigali)",
            time(10),
            time(15, 30),
            "fr",
            zone="Africa/Kigali",
        ),
        case(
            f"de {H10} à {H1530} (heure de Nairobi)",
            time(10),
            time(15, 30),
            "fr",
            zone="Africa/Nairobi",
        ),
        case(
            f"de {H10} à {H1530} (heure de Kigali)",
            time(10),
            time(15, 30),
            "fr",
            zone="Africa/Maputo",
            zone_place="Kigali",
        ),
        case(  # the seed's "8 h 30-11 h 30 EST" was EDT on 20 September
            f"8{NB}h{NB}30–11{NB}h{NB}30{NB}EDT",
            time(8, 30),
            time(11, 30),
            "fr",
            zone="America/New_York",
            on=date(2021, 9, 20),
            compact=True,
        ),
        case(
            f"8{NB}h{NB}30–11{NB}h{NB}30{NB}EST",
            time(8, 30),
            time(11, 30),
            "fr",
            zone="America/New_York",
            on=date(2022, 1, 20),
            compact=True,
        ),
        case(f"{H10}–{H1530}", time(10), time(15, 30), "fr", compact=True),
        case("10:00 to 15:30", time(10), time(15, 30), "en"),
        case("10:00 to 15:30 (Geneva time)", time(10), time(15, 30), "en", zone=GENEVA),
        case(
            "10:00 to 15:30 (Geneva time, UTC+2)",
            time(10),
            time(15, 30),
            "en",
            zone=GENEVA,
            on=date(2023, 9, 12),
            offset=True,
        ),
        case(
            f"08:30–11:30{NB}EDT",
            time(8, 30),
            time(11, 30),
            "en",
            zone="America/New_York",
            on=date(2021, 9, 20),
            compact=True,
        ),
        case(
            f"10:00–15:30{NB}CET",
            time(10),
            time(15, 30),
            "en",
            zone=GENEVA,
            on=date(2021, 12, 7),
            compact=True,
        ),
        case("22:00 to 02:00", time(22), time(2), "en"),
    ],
)
def test_a_time_range_carries_its_zone(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert time_range(*args, **kwargs) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"zone": GENEVA, "compact": True},
        {"zone": GENEVA, "offset": True},
    ],
    ids=["compact-abbreviation", "offset"],
)
def test_a_time_range_needs_a_date_for_what_depends_on_it(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="depends on the date: give on=<date>"):
        time_range(time(10), time(11), "fr", **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case("heure de Genève (UTC+2)", GENEVA, "fr", on=date(2023, 9, 12)),  # seed
        case("heure de Genève (UTC+1)", GENEVA, "fr", on=date(2021, 12, 7)),
        case("Geneva time (UTC+2)", GENEVA, "en", on=date(2023, 9, 12)),
        case("Geneva time (UTC+1)", GENEVA, "en", on=date(2022, 1, 10)),
        case("heure de New York (UTC-4)", "America/New_York", "fr", on=date(2021, 9, 20)),
        case("New York time (UTC-5)", "America/New_York", "en", on=date(2021, 12, 20)),
        case("heure de Kigali (UTC+2)", "Africa/Kigali", "fr", on=date(2022, 6, 6)),
        case("heure d’Addis-Abeba (UTC+3)", "Africa/Addis_Ababa", "fr", on=date(2022, 6, 6)),
        case("Addis Ababa time (UTC+3)", "Africa/Addis_Ababa", "en", on=date(2022, 6, 6)),
        case("New Delhi time (UTC+5:30)", "Asia/Kolkata", "en", on=date(2022, 6, 6)),
        case("heure de Lima (UTC-5)", "America/Lima", "fr", on=date(2022, 6, 6)),
        case("heure de Londres (UTC)", "Europe/London", "fr", on=date(2022, 1, 6)),
        case("UTC", "UTC", "fr", on=date(2022, 1, 6)),
        case("heure de Genève", GENEVA, "fr", offset=False),
        case("heure de Bâle (UTC+2)", GENEVA, "fr", "Bâle", on=date(2023, 9, 12)),
        case("heure d’Ottawa (UTC-4)", "America/Toronto", "fr", "Ottawa", on=date(2023, 9, 12)),
    ],
)
def test_a_zone_label_names_the_place_and_computes_the_offset_for_the_date(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert zone_label(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2023, 3, 25), "UTC+1"),  # the day before summer time
        (date(2023, 3, 26), "UTC+2"),  # the day it starts
        (date(2023, 10, 28), "UTC+2"),
        (date(2023, 10, 29), "UTC+1"),  # the day it ends
    ],
    ids=["before-summer", "summer-starts", "summer-last-day", "winter-again"],
)
def test_the_offset_follows_summer_time_changes(on: date, expected: str) -> None:
    assert utc_offset(GENEVA, on) == expected


@pytest.mark.parametrize(
    ("zone", "on", "expected"),
    [
        ("America/New_York", date(2021, 9, 20), "EDT"),
        ("America/New_York", date(2021, 1, 20), "EST"),
        (GENEVA, date(2021, 7, 1), "CEST"),
        ("Africa/Kigali", date(2022, 6, 6), "CAT"),
        ("Asia/Dubai", date(2022, 6, 6), "UTC+4"),  # tzdata has no letters for it: "+04"
    ],
    ids=["edt", "est", "cest", "cat", "numeric-abbreviation"],
)
def test_a_zone_abbreviation_is_computed_for_the_date(zone: str, on: date, expected: str) -> None:
    assert zone_abbreviation(zone, on) == expected


def test_an_unknown_zone_is_refused_with_an_example() -> None:
    with pytest.raises(ValueError, match='unknown: use an IANA name such as "Europe/Zurich"'):
        zone_label("Europe/Geneva", "fr", on=date(2023, 9, 12))


def test_a_zone_label_with_its_offset_needs_a_date() -> None:
    with pytest.raises(ValueError, match="give on=<date>"):
        zone_label(GENEVA, "fr")


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case(  # seed: "avant le 12 septembre 2023, à 23h59, heure de Genève (UTC+2)"
            f"le 12 septembre 2023 à 23{NB}h{NB}59, heure de Genève (UTC+2)",
            date(2023, 9, 12),
            time(23, 59),
            "fr",
            zone=GENEVA,
        ),
        case(
            f"le 1er décembre 2023 à 12{NB}h{NB}00, heure de Genève (UTC+1)",
            date(2023, 12, 1),
            time(12),
            "fr",
            zone=GENEVA,
        ),
        case(
            f"le mardi 12 septembre 2023 à 23{NB}h{NB}59, heure de Genève (UTC+2)",
            date(2023, 9, 12),
            time(23, 59),
            "fr",
            zone=GENEVA,
            weekday=True,
        ),
        case(
            "12 September 2023, 23:59 Geneva time (UTC+2)",
            date(2023, 9, 12),
            time(23, 59),
            "en",
            zone=GENEVA,
        ),
        case(
            "1 June 2022, 17:00 Kigali time (UTC+2)",
            date(2022, 6, 1),
            time(17),
            "en",
            zone="Africa/Kigali",
        ),
    ],
)
def test_a_deadline_gives_date_time_place_and_offset(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert deadline(*args, **kwargs) == expected


# --- ordinals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case("1er", 1, "fr"),
        case("1re", 1, "fr", gender="f"),
        case("2e", 2, "fr"),
        case("2e", 2, "fr", gender="f"),
        case("76e", 76, "fr"),  # seed: "76^{ème} session"
        case("101e", 101, "fr"),
        case("1st", 1, "en"),
        case("2nd", 2, "en"),
        case("3rd", 3, "en"),
        case("4th", 4, "en"),
        case("11th", 11, "en"),
        case("12th", 12, "en"),
        case("13th", 13, "en"),
        case("21st", 21, "en"),
        case("76th", 76, "en"),
        case("111th", 111, "en"),
        case("122nd", 122, "en"),
    ],
)
def test_an_ordinal_in_figures(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert ordinal(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case("76<sup>e</sup>", 76, "fr", html=True),
        case("1<sup>er</sup>", 1, "fr", html=True),
        case("1<sup>re</sup>", 1, "fr", gender="f", html=True),
        case("76th", 76, "en", html=True),  # English circulars write it on the line
    ],
)
def test_an_ordinal_in_html_is_markup_with_french_letters_in_superscript(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    result = ordinal(*args, **kwargs)
    assert result == expected
    assert isinstance(result, Markup)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case("sixième", 6, "fr"),  # seed: "Sixième réunion"
        case("premier", 1, "fr"),
        case("première", 1, "fr", gender="f"),
        case("deuxième", 2, "fr"),
        case("vingt et unième", 21, "fr"),
        case("soixante et onzième", 71, "fr"),
        case("quatre-vingtième", 80, "fr"),
        case("quatre-vingt-unième", 81, "fr"),
        case("centième", 100, "fr"),
        case("deux centième", 200, "fr"),
        case("millième", 1000, "fr"),
        case("millionième", 1_000_000, "fr"),
        case("sixth", 6, "en"),
        case("first", 1, "en"),
        case("twenty-first", 21, "en"),
        case("seventy-sixth", 76, "en"),
    ],
)
def test_an_ordinal_in_words(args: tuple[Any, ...], kwargs: dict[str, Any], expected: str) -> None:
    assert ordinal_words(*args, **kwargs) == expected


@pytest.mark.parametrize("function", [ordinal, ordinal_words], ids=["figures", "words"])
@pytest.mark.parametrize(
    ("n", "gender", "message"),
    [
        (0, "m", "ordinals start at 1"),
        (-3, "m", "ordinals start at 1"),
        (2.5, "m", "not a whole number"),
        (True, "m", "not a whole number"),
        (2, "x", 'gender .x. is not "m" or "f"'),
    ],
    ids=["zero", "negative", "fraction", "bool", "gender"],
)
def test_an_ordinal_of_something_else_is_refused(
    function: Callable[..., str], n: Any, gender: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        function(n, "fr", gender=gender)


# --- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case(f"10{NN}000", 10000, "fr"),
        case(f"1{NN}500", 1500, "fr"),
        case("2,5", 2.5, "fr"),
        case("2,50", Decimal("2.5"), "fr", decimals=2),
        case("3", Decimal("2.5"), "fr", decimals=0),  # half up, not Babel's half to even
        case("2,13", 2.125, "fr", decimals=2),
        case(f"1{NN}234,568", 1234.5678, "fr"),
        case("-5", -5, "fr"),
        case("0,3", 0.1 + 0.2, "fr"),
        case("10,000", 10000, "en"),
        case("2.5", 2.5, "en"),
        case("1,234.57", Decimal("1234.567"), "en", decimals=2),
    ],
)
def test_a_number_has_the_language_separators(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert format_number(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case(f"25{NB}%", 25, "fr"),
        case(f"2,5{NB}%", 2.5, "fr"),
        case(f"12,50{NB}%", 12.5, "fr", decimals=2),
        case("25%", 25, "en"),
        case("2.5%", 2.5, "en"),
    ],
)
def test_a_percentage_takes_25_for_25_percent(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert percent(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case(f"1{NN}500{NB}CHF", 1500, "CHF", "fr"),
        case(f"1{NN}500,50{NB}CHF", 1500.5, "CHF", "fr"),
        case(f"250{NB}USD", Decimal("250.00"), "USD", "fr"),
        case(f"CHF{NB}1,500", 1500, "CHF", "en"),
        case(f"CHF{NB}1,500.50", Decimal("1500.5"), "CHF", "en"),
        case(f"EUR{NB}99.9", 99.9, "EUR", "en", decimals=1),
    ],
)
def test_an_amount_carries_its_currency_code(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert amount(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: format_number("12", "fr"), "not a number"),  # type: ignore[arg-type]
        (lambda: format_number(True, "fr"), "not a number"),
        (lambda: format_number(float("nan"), "fr"), "not a finite number"),
        (lambda: format_number(float("inf"), "fr"), "not a finite number"),
        (lambda: format_number(1, "fr", decimals=-1), "decimals must be 0 or more"),
        (lambda: amount(1, "chf", "fr"), "not an ISO 4217 code"),
        (lambda: amount(1, "Fr.", "fr"), "not an ISO 4217 code"),
    ],
    ids=["string", "bool", "nan", "infinity", "negative-decimals", "lowercase-code", "symbol"],
)
def test_a_bad_number_is_refused(call: Callable[[], str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- lists -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        case(
            "États Membres, Membres de Secteur et Associés",
            ["États Membres", "Membres de Secteur", "Associés"],
            "fr",
        ),
        case("A, B et C", ["A", "B", "C"], "fr"),
        case("A et B", ["A", "B"], "fr"),
        case("A", ["A"], "fr"),
        case("", [], "fr"),
        case("A, B ou C", ["A", "B", "C"], "fr", conjunction="or"),
        case("A, B and C", ["A", "B", "C"], "en"),
        case("A and B", ("A", "B"), "en"),
        case("A or B", iter(["A", "B"]), "en", conjunction="or"),
        # Arabic: و is joined to the word it introduces, أو is not
        case("أ، ب وج", ["أ", "ب", "ج"], "ar"),
        case("أ أو ب", ["أ", "ب"], "ar", conjunction="or"),
        case("A、B和C", ["A", "B", "C"], "zh"),
    ],
)
def test_a_list_is_joined_as_a_person_writes_it(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert join_list(*args, **kwargs) == expected


def test_join_list_refuses_a_single_string_and_an_unknown_conjunction() -> None:
    with pytest.raises(ValueError, match="not one string"):
        join_list("ABC", "fr")
    with pytest.raises(ValueError, match='not "and" or "or"'):
        join_list(["A"], "fr", conjunction="but")


# --- properties --------------------------------------------------------------------------

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
times = st.times()
langs = st.sampled_from(["fr", "en"])
zones = st.sampled_from([GENEVA, "America/New_York", "Africa/Kigali", "Asia/Kolkata", "UTC"])


@settings(max_examples=150)
@given(start=dates, days=st.integers(0, 400), lang=langs, compact=st.booleans())
def test_every_formatted_range_is_already_typeset(
    start: date, days: int, lang: str, compact: bool
) -> None:
    end = date.fromordinal(min(start.toordinal() + days, date(2100, 12, 31).toordinal()))
    text = date_range(start, end, lang, compact=compact)
    assert typeset(text, lang) == text
    assert "janv." not in text and "Jan " not in text  # never an abbreviated month


@settings(max_examples=150)
@given(d=dates, t=times, lang=langs, zone=zones)
def test_every_formatted_time_and_deadline_is_already_typeset(
    d: date, t: time, lang: str, zone: str
) -> None:
    for text in (
        deadline(d, t, lang, zone=zone),
        time_range(t, t, lang, zone=zone, on=d, compact=True),
        time_range(t, t, lang, zone=zone, on=d, offset=True),
        place_date("Genève", d, lang),
        format_date(d, lang, weekday=True, article=True),
    ):
        assert typeset(text, lang) == text


@settings(max_examples=150)
@given(
    x=st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    lang=langs,
)
def test_every_formatted_number_is_already_typeset(x: Decimal, lang: str) -> None:
    for text in (format_number(x, lang), percent(x, lang), amount(x, "CHF", lang)):
        assert typeset(text, lang) == text


@settings(max_examples=100)
@given(n=st.integers(1, 10_000), lang=langs, gender=st.sampled_from(["m", "f"]))
def test_every_ordinal_is_already_typeset_and_in_words_has_no_plural_s(
    n: int, lang: str, gender: str
) -> None:
    figures = ordinal(n, lang, gender=gender)
    assert typeset(figures, lang) == figures
    words = ordinal_words(n, lang, gender=gender)
    assert "sième" not in words.replace("troisième", "")


def test_the_docstring_examples_hold() -> None:
    # the package and each of its modules (dates, times, numbers)
    modules = [dispatch.formatting] + [
        importlib.import_module(f"dispatch.formatting.{info.name}")
        for info in pkgutil.iter_modules(dispatch.formatting.__path__)
    ]
    results = [doctest.testmod(module) for module in modules]
    assert sum(result.failed for result in results) == 0
    assert sum(result.attempted for result in results) >= 15


LABELLED = [
    pytest.param(
        lambda: time_range(time(8, 30), time(11, 30), "fr", zone="America/New_York", label="EST"),
        f"de 8{NB}h{NB}30 à 11{NB}h{NB}30{NB}EST",
        id="fr-running",
    ),
    pytest.param(
        lambda: time_range(
            time(8, 30), time(11, 30), "en", zone="America/New_York", label="EST", compact=True
        ),
        f"08:30–11:30{NB}EST",
        id="en-compact",
    ),
    pytest.param(
        lambda: time_range(
            time(8, 30),
            time(11, 30),
            "en",
            zone="America/New_York",
            label="EST",
            offset=True,
            on=date(2021, 9, 20),
        ),
        f"08:30 to 11:30{NB}EST (UTC-4)",
        id="en-offset-computed-for-the-zone",
    ),
    pytest.param(
        lambda: zone_label("America/New_York", "fr", on=date(2021, 9, 20), label="EST"),
        "EST (UTC-4)",
        id="fr-zone-label",
    ),
    pytest.param(
        lambda: deadline(
            date(2021, 9, 20), time(23, 59), "fr", zone="America/New_York", label="EST"
        ),
        f"le 20 septembre 2021 à 23{NB}h{NB}59 EST (UTC-4)",
        id="fr-deadline",
    ),
]


@pytest.mark.parametrize(("call", "expected"), LABELLED)
def test_a_label_names_the_times_as_the_letter_writes_them(
    call: Callable[[], str], expected: str
) -> None:
    assert call() == expected


@pytest.mark.parametrize(
    ("zone", "hint"),
    [
        ("EST", 'write timezone = "America/New_York" and zone_label = "EST"'),
        ("MST", 'write timezone = "America/Denver" and zone_label = "MST"'),
        ("HST", 'write timezone = "Pacific/Honolulu" and zone_label = "HST"'),
        ("CET", 'write timezone = "Europe/Zurich" and zone_label = "CET"'),
        ("PST8PDT", 'write timezone = "America/Los_Angeles" and zone_label = "PST"'),
    ],
)
def test_a_legacy_abbreviation_is_refused_with_a_hint_never_panama(zone: str, hint: str) -> None:
    with pytest.raises(ValueError, match=f"is an abbreviation, not a place: {hint}"):
        time_range(time(8, 30), time(11, 30), "fr", zone=zone)
    with pytest.raises(ValueError, match="abbreviation"):
        zone_label(zone, "en", on=date(2021, 9, 20))


@pytest.mark.parametrize(
    ("zone", "fr", "en"),
    [
        ("Europe/Zurich", "heure de Genève", "Geneva time"),
        ("America/New_York", "heure de New York", "New York time"),
        ("Africa/Addis_Ababa", "heure d’Addis-Abeba", "Addis Ababa time"),
        ("Europe/Brussels", "heure de Bruxelles", "Brussels time"),
        ("Asia/Singapore", "heure de Singapour", "Singapore time"),
        ("Asia/Kolkata", "heure de New Delhi", "New Delhi time"),
    ],
)
def test_zone_places_come_from_cldr_but_for_the_secretariats_own(
    zone: str, fr: str, en: str
) -> None:
    from dispatch.formatting import zone_label

    assert zone_label(zone, "fr", offset=False) == fr
    assert zone_label(zone, "en", offset=False) == en


def test_the_zone_table_holds_only_what_cldr_says_otherwise() -> None:
    from babel.dates import get_timezone, get_timezone_location

    from dispatch import languages

    # the table is now each language file's [times] places
    for lang in languages.codes():
        places = languages.get(lang).formatting.zone_places
        assert len(places) <= 5
        for zone, name in places.items():
            locale = languages.get(lang).locale
            cldr = get_timezone_location(get_timezone(zone), locale=locale, return_city=True)
            assert cldr != name, f"{zone} ({lang}): CLDR says {name} already"
