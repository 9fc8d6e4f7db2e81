"""Locale-aware values for formal letters: dates, ranges, times, time zones, numbers, lists.

Babel gives the locale data (month and day names, number symbols); zoneinfo gives UTC
offsets and zone abbreviations; num2words gives ordinals in words. What they lack are the
conventions of a formal letter, written here by hand:

- French: ``1er juin 2022`` (never ``1 juin``), ``le 13 octobre 2021``, ``du 6 au 16 juin
  2022``, ``10 h 00``, ``heure de Genève (UTC+2)``; months are never abbreviated.
- English, as in English-language UN/ITU circulars: ``13 October 2021``, ``Tuesday,
  7 December 2021``, ``from 6 to 16 June 2022``, 24-hour times ``10:00``, lists without
  the Oxford comma (``A, B and C``).

Spaces (tests assert the exact characters):

- U+00A0 NO-BREAK SPACE inside a French time (``10 h 00``), between a number and ``%`` or a
  currency code (``25 %``, ``1 500 CHF``, ``CHF 1,500``), before a zone abbreviation in a
  compact range (``8 h 30–11 h 30 EDT``) and before the en dash of a compact range whose
  sides hold spaces (``30 May – 3 June 2022``), so that a line never starts with the dash.
- U+202F NARROW NO-BREAK SPACE as the French thousands separator (Babel's ``10 000``).
- Ordinary spaces elsewhere (``13 octobre 2021``), as a person types them.

Every function takes ``lang``, a code of :mod:`dispatch.languages` whose profile says how
the language writes (an unknown code raises :class:`ValueError`), and
returns plain text; where HTML differs (the superscript of ``1er``), ``html=True`` returns
:class:`markupsafe.Markup` with the other text escaped. Bad values raise :class:`ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_day_names, get_month_names, get_timezone_location
from babel.numbers import format_decimal, get_minus_sign_symbol, get_plus_sign_symbol
from markupsafe import Markup, escape

from dispatch import languages
from dispatch.languages import Formatting

__all__ = [
    "LANGUAGES",
    "amount",
    "date_range",
    "deadline",
    "format_date",
    "format_number",
    "format_time",
    "join_list",
    "ordinal",
    "ordinal_words",
    "percent",
    "place_date",
    "time_range",
    "utc_offset",
    "zone_abbreviation",
    "zone_label",
]

LANGUAGES = languages.codes()  # the built-in ones; languages.codes() has those registered since

NBSP = "\u00a0"  # NO-BREAK SPACE
NNBSP = "\u202f"  # NARROW NO-BREAK SPACE
EN_DASH = "\u2013"

#: The secretariat's own place names, where Unicode CLDR's (through Babel: the exemplar
#: city of each zone, in each language) are not what its letters say, come from each
#: language file (``[times] places``): Geneva is the seat, in the zone of Zurich (there is
#: no Europe/Geneva), and CLDR says Zurich. Every other zone is named by CLDR:
#: ``Africa/Addis_Ababa`` is ``Addis-Abeba`` / ``Addis Ababa``. ``zone_place=`` overrides both.
_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Zulu", "Zulu", "UCT", "Universal"})
_VOWELS = frozenset("AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŸ")  # "heure d’Addis-Abeba", not "de Addis-Abeba"
_CURRENCY = re.compile(r"[A-Z]{3}")


def _lang(lang: str) -> str:
    return languages.get(lang).code


def _profile(lang: str) -> Formatting:
    return languages.get(lang).formatting


def _plain_date(d: date) -> date:
    # datetime is a date too, but its time part has no place in a letter's date.
    if isinstance(d, datetime):
        return d.date()
    if not isinstance(d, date):
        raise ValueError(f"{d!r} is not a date")
    return d


def _html_join(parts: Iterable[str | Markup], html: bool) -> str:
    if html:
        return Markup("").join(escape(p) for p in parts)
    return "".join(parts)


# ---------------------------------------------------------------------------------------
# Dates


@lru_cache(maxsize=4)
def _months(lang: str) -> dict[int, str]:
    locale = languages.get(lang).locale
    return {k: str(v) for k, v in get_month_names("wide", "format", locale).items()}


@lru_cache(maxsize=4)
def _weekdays(lang: str) -> dict[int, str]:
    locale = languages.get(lang).locale
    return {k: str(v) for k, v in get_day_names("wide", "format", locale).items()}


def _day(day: int, lang: str, html: bool) -> str | Markup:
    first = _profile(lang).first_of_month
    if first is not None and day == 1:
        return Markup(first[1]) if html else first[0]
    return str(day)


_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _digits(text: str, lang: str) -> str:
    """Western digits, or the language's own where its file says so (``digits = "arab"``)."""
    return text.translate(_ARABIC_DIGITS) if _profile(lang).digits == "arab" else text


def _cldr_date(d: date, lang: str, *, weekday: bool, year: bool, day: bool = True) -> str:
    """A date as CLDR writes it in the language: ``7 декабря 2021 г.``, ``2021年12月7日``."""
    from babel.dates import format_date as cldr_format_date
    from babel.dates import format_skeleton

    locale = languages.get(lang).locale
    if not day:
        return _digits(str(format_skeleton("d", datetime.combine(d, time()), locale=locale)), lang)
    if year:
        text = cldr_format_date(d, "full" if weekday else "long", locale=locale)
    else:
        text = format_skeleton(
            "MMMMEEEEd" if weekday else "MMMMd", datetime.combine(d, time()), locale=locale
        )
    return _digits(str(text), lang)


def _date_parts(d: date, lang: str, *, weekday: bool, year: bool, html: bool) -> list[str | Markup]:
    """The date without article: ``mardi 7 décembre 2021`` / ``Tuesday, 7 December 2021``."""
    profile = _profile(lang)
    if profile.dates == "cldr":
        return [_cldr_date(d, lang, weekday=weekday, year=year)]
    parts: list[str | Markup] = []
    if weekday:
        parts.append(_weekdays(lang)[d.weekday()] + profile.weekday_after)
    parts += [_day(d.day, lang, html), profile.day_month, _months(lang)[d.month]]
    if year:
        parts.append(f"{profile.month_year}{d.year}")
    return parts


def format_date(
    d: date,
    lang: str,
    *,
    weekday: bool = False,
    article: bool = False,
    year: bool = True,
    html: bool = False,
) -> str:
    """A date as a letter writes it, months in full, never abbreviated.

    ``article`` adds the French ``le`` (English has none and ignores it); ``weekday`` adds the
    day's name. ``html=True`` returns Markup with ``1<sup>er</sup>``.

    >>> format_date(date(2021, 12, 7), "fr", weekday=True, article=True)
    'le mardi 7 décembre 2021'
    """
    code = _lang(lang)
    d = _plain_date(d)
    parts = _date_parts(d, code, weekday=weekday, year=year, html=html)
    if article and _profile(code).date_article:
        parts.insert(0, _profile(code).date_article)
    return _html_join(parts, html)


def place_date(place: str, d: date, lang: str, *, html: bool = False) -> str:
    """The place-and-date line; the place comes translated from the mailing file.

    >>> place_date("Genève", date(2021, 10, 13), "fr")
    'Genève, le 13 octobre 2021'
    """
    code = _lang(lang)
    place = str(place).strip()
    if not place:
        raise ValueError("the place of the place-and-date line is empty")
    when = format_date(d, code, article=True, html=html)
    before, after = _profile(code).place_date.split("{date}", 1)
    return _html_join([before.format(place=place), when, after.format(place=place)], html)


def date_range(
    start: date, end: date, lang: str, *, compact: bool = False, html: bool = False
) -> str:
    """A date range in running text (default) or compact form (parentheses, subject lines).

    Running: ``du 6 au 16 juin 2022``, ``du 30 mai au 3 juin 2022``, ``from 6 to 16 June
    2022``; compact: ``6–16 juin 2022``, ``30 May – 3 June 2022`` (en dash). A one-day
    range is that day: ``le 7 décembre 2021`` / ``7 December 2021`` (compact: no ``le``).

    >>> date_range(date(2022, 6, 6), date(2022, 6, 16), "fr")
    'du 6 au 16 juin 2022'
    """
    code = _lang(lang)
    start, end = _plain_date(start), _plain_date(end)
    if end < start:
        raise ValueError(
            f"the range ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    if start == end:
        return format_date(start, code, article=not compact, html=html)
    same_year = start.year == end.year
    if _profile(code).dates == "cldr":
        return _cldr_range(start, end, code, compact=compact, html=html)
    if same_year and start.month == end.month:
        first: list[str | Markup] = [_day(start.day, code, html)]
    else:
        first = _date_parts(start, code, weekday=False, year=not same_year, html=html)
    last = _date_parts(end, code, weekday=False, year=True, html=html)
    if compact:
        # "6–16 juin" but "30 mai – 3 juin": a dash between words is spaced, never at a line start.
        dash = EN_DASH if len(first) == 1 else f"{NBSP}{EN_DASH} "
        return _html_join([*first, dash, *last], html)
    before, between = _profile(code).range_running
    return _html_join([before, *first, between, *last], html)


def _cldr_range(start: date, end: date, code: str, *, compact: bool, html: bool) -> str:
    # Months in full, as a letter writes them (CLDR's intervals abbreviate some: "июн."):
    # the side that repeats the other's month and year is reduced to what differs.
    profile = _profile(code)
    same_year = start.year == end.year
    same_month = same_year and start.month == end.month
    if profile.range_big_endian:  # 2022年6月6日至16日
        first = _cldr_date(start, code, weekday=False, year=True)
        last = _cldr_date(end, code, weekday=False, year=not same_year, day=not same_month)
        if same_month:
            last = _digits(str(end.day), code) + last.removeprefix(_digits(str(end.day), code))
    else:  # del 6 al 16 de junio de 2022
        last = _cldr_date(end, code, weekday=False, year=True)
        first = (
            _digits(str(start.day), code)
            if same_month
            else _cldr_date(start, code, weekday=False, year=not same_year)
        )
    if compact:
        dash = EN_DASH if same_month else f"{NBSP}{EN_DASH} "
        return _html_join([first, dash, last], html)
    before, between = profile.range_running
    return _html_join([before, first, between, last], html)


# ---------------------------------------------------------------------------------------
# Times and time zones


def format_time(t: time, lang: str) -> str:
    """A 24-hour time: ``10 h 00`` (no-break spaces) in French, ``10:00`` in English.

    French hours have no leading zero (``8 h 30``); English ones do (``08:30``), as the
    24-hour clock is written. Seconds and time zone of ``t`` are ignored.

    >>> format_time(time(23, 59), "fr")
    '23\\xa0h\\xa059'
    """
    code = _lang(lang)
    if not isinstance(t, time):
        raise ValueError(f"{t!r} is not a time")
    return _digits(_profile(code).time.format(hour=t.hour, minute=t.minute), code)


#: Legacy abbreviations, and the POSIX-style zones named after them: what to write instead.
#: zoneinfo knows ``EST`` as a fixed UTC-5 with no place (Babel calls it "Panama"), and
#: not ``PST`` at all: a letter that writes "EST" wants New York's zone and "EST" as label.
LEGACY_ZONES: dict[str, tuple[str, str]] = {
    "EST": ("America/New_York", "EST"),
    "EDT": ("America/New_York", "EDT"),
    "EST5EDT": ("America/New_York", "EST"),
    "CST": ("America/Chicago", "CST"),
    "CDT": ("America/Chicago", "CDT"),
    "CST6CDT": ("America/Chicago", "CST"),
    "MST": ("America/Denver", "MST"),
    "MDT": ("America/Denver", "MDT"),
    "MST7MDT": ("America/Denver", "MST"),
    "PST": ("America/Los_Angeles", "PST"),
    "PDT": ("America/Los_Angeles", "PDT"),
    "PST8PDT": ("America/Los_Angeles", "PST"),
    "HST": ("Pacific/Honolulu", "HST"),
    "AKST": ("America/Anchorage", "AKST"),
    "CET": ("Europe/Zurich", "CET"),
    "CEST": ("Europe/Zurich", "CEST"),
    "MET": ("Europe/Zurich", "CET"),
    "EET": ("Europe/Athens", "EET"),
    "EEST": ("Europe/Athens", "EEST"),
    "WET": ("Europe/Lisbon", "WET"),
    "BST": ("Europe/London", "BST"),
    "IST": ("Asia/Kolkata", "IST"),
    "JST": ("Asia/Tokyo", "JST"),
}


def legacy_zone_hint(zone: str) -> str | None:
    """What to write instead of a legacy abbreviation given as a zone, or None.

    >>> legacy_zone_hint("EST")
    'write timezone = "America/New_York" and zone_label = "EST"'
    """
    found = LEGACY_ZONES.get(zone.strip().upper())
    if found is None:
        return None
    return f'write timezone = "{found[0]}" and zone_label = "{found[1]}"'


@lru_cache(maxsize=64)
def _zone(zone: str) -> ZoneInfo:
    hint = legacy_zone_hint(zone)
    if hint is not None:
        raise ValueError(
            f"time zone {zone!r} is an abbreviation, not a place: {hint} "
            "(the letter then shows the label, the calendar the right offset for the date)"
        )
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'time zone {zone!r} is unknown: use an IANA name such as "Europe/Zurich"'
        ) from None


def _offset_at(zone: str, on: date) -> timedelta:
    # Noon avoids the hour of a summer-time change, which is never at midday.
    moment = datetime.combine(_plain_date(on), time(12), tzinfo=_zone(zone))
    offset = moment.utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset


def utc_offset(zone: str, on: date, lang: str | None = None) -> str:
    """The UTC offset of an IANA zone on a date, summer time included: ``UTC+2``.

    ``UTC`` for offset zero, ``UTC+5:30`` for half hours, Babel's minus sign (``UTC-4``).

    >>> utc_offset("Europe/Zurich", date(2023, 9, 12))
    'UTC+2'
    """
    code = _lang(lang) if lang is not None else languages.default().code
    minutes = int(_offset_at(zone, on).total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    locale = languages.get(code).locale
    sign = get_plus_sign_symbol(locale) if minutes > 0 else get_minus_sign_symbol(locale)
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_abbreviation(zone: str, on: date) -> str:
    """The zone's abbreviation on a date, computed (``EDT`` in September, ``EST`` in January).

    Zones whose abbreviation is only a number (``+04``) get their offset: ``UTC+4``.

    >>> zone_abbreviation("America/New_York", date(2021, 9, 20))
    'EDT'
    """
    moment = datetime.combine(_plain_date(on), time(12), tzinfo=_zone(zone))
    name = moment.tzname() or ""
    if not name or name[0] in "+-" or name.isdigit():
        return utc_offset(zone, on)
    return name


def _zone_place(zone: str, lang: str, zone_place: str | None) -> str:
    if zone_place is not None and zone_place.strip():
        return zone_place.strip()
    _zone(zone)  # an unknown zone is an error even when a place is in the table
    known = _profile(lang).zone_places.get(zone)
    if known is not None:
        return known
    locale = languages.get(lang).locale
    return str(get_timezone_location(_zone(zone), locale=locale, return_city=True))


def zone_label(
    zone: str,
    lang: str,
    zone_place: str | None = None,
    *,
    on: date | None = None,
    offset: bool = True,
    label: str | None = None,
) -> str:
    """The time of a place, with its UTC offset on date ``on``, computed, never typed.

    The place comes from ``zone_place`` (the mailing file), else the language file's
    ``[times] places``
    (the secretariat's own names), else CLDR's city for the zone, through Babel.
    ``offset=False`` leaves the offset out (``on`` not needed).
    ``label`` names the time as the letter writes it instead (``EST``; the offset is
    still computed for the zone): ``EST (UTC−4)``.

    >>> zone_label("Europe/Zurich", "fr", on=date(2023, 9, 12))
    'heure de Genève (UTC+2)'
    """
    code = _lang(lang)
    if label is not None and label.strip():
        label = label.strip()
        _zone(zone)
    elif zone in _UTC_ZONES and zone_place is None:
        label = "UTC"
    else:
        place = _zone_place(zone, code, zone_place)
        profile = _profile(code)
        elided = profile.zone_time_elided is not None and place[:1] in _VOWELS
        pattern = profile.zone_time_elided if elided else profile.zone_time
        label = (pattern or profile.zone_time).format(place=place)
    if not offset:
        return label
    if on is None:
        raise ValueError(f"the UTC offset of {zone} depends on the date: give on=<date>")
    shown = utc_offset(zone, on, code)
    return label if shown == label else f"{label} ({shown})"


def time_range(
    start: time,
    end: time,
    lang: str,
    *,
    zone: str | None = None,
    zone_place: str | None = None,
    on: date | None = None,
    compact: bool = False,
    offset: bool = False,
    label: str | None = None,
) -> str:
    """A time range, in running text or compact, with its zone if given.

    Running: ``de 10 h 00 à 15 h 30 (heure de Genève)`` / ``10:00 to 15:30 (Geneva time)``;
    ``offset=True`` (needs ``on``) adds ``, UTC+1`` inside the parentheses. Compact:
    ``8 h 30–11 h 30 EDT`` / ``08:30–11:30 EDT``, the abbreviation computed for the date
    ``on`` (required with a zone). An end before the start is a range over midnight.
    ``label`` names the times as the letter writes them (``EST``), in both forms:
    ``de 8 h 30 à 11 h 30 EST``, ``8 h 30–11 h 30 EST``.

    >>> time_range(time(10), time(15, 30), "fr", zone="Europe/Zurich")
    'de 10\\xa0h\\xa000 à 15\\xa0h\\xa030 (heure de Genève)'
    """
    code = _lang(lang)
    first, last = format_time(start, code), format_time(end, code)
    named = label.strip() if label is not None and label.strip() else None
    if named is not None and zone is not None:
        _zone(zone)  # an unknown or legacy zone is an error, with a label too
    if compact:
        text = f"{first}{EN_DASH}{last}"
        if named is not None:
            return f"{text}{NBSP}{named}"
        if zone is None:
            return text
        if on is None:
            raise ValueError(f"the abbreviation of {zone} depends on the date: give on=<date>")
        return f"{text}{NBSP}{zone_abbreviation(zone, on)}"
    text = _profile(code).time_range.format(first=first, last=last)
    if named is not None:
        if offset and zone is not None:
            if on is None:
                raise ValueError(f"the UTC offset of {zone} depends on the date: give on=<date>")
            return f"{text}{NBSP}{named} ({utc_offset(zone, on, code)})"
        return f"{text}{NBSP}{named}"
    if zone is None:
        return text
    label = zone_label(zone, code, zone_place, offset=False)
    if offset:
        if on is None:
            raise ValueError(f"the UTC offset of {zone} depends on the date: give on=<date>")
        shown = utc_offset(zone, on, code)
        label = label if shown == label else f"{label}, {shown}"
    return _profile(code).time_range_zone.format(range=text, zone=label)


def deadline(
    d: date,
    t: time,
    lang: str,
    *,
    zone: str,
    zone_place: str | None = None,
    weekday: bool = False,
    html: bool = False,
    label: str | None = None,
) -> str:
    """A deadline: date, time and the zone's time with its offset on that date.

    French follows the seeds (``avant le 12 septembre 2023 à 23 h 59, heure de Genève
    (UTC+2)``); English puts the date first, as after "by" in ITU circulars (``by
    12 September 2023, 23:59 Geneva time (UTC+2)``).

    >>> deadline(date(2023, 9, 12), time(23, 59), "en", zone="Europe/Zurich")
    '12 September 2023, 23:59 Geneva time (UTC+2)'
    """
    code = _lang(lang)
    d = _plain_date(d)
    when = format_date(d, code, weekday=weekday, article=True, html=html)
    clock = format_time(t, code)
    shown = zone_label(zone, code, zone_place, on=d, label=label)
    profile = _profile(code)
    labelled = label is not None and bool(label.strip())
    pattern = profile.deadline_labelled if labelled else profile.deadline
    # the date may be Markup (1<sup>er</sup>): the pattern's other parts are escaped around it
    before, after = pattern.split("{date}", 1)
    return _html_join([before, when, after.format(clock=clock, zone=shown)], html)


# ---------------------------------------------------------------------------------------
# Ordinals


def _positive(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"{n!r} is not a whole number")
    if n < 1:
        raise ValueError(f"{n} has no ordinal: ordinals start at 1")
    return n


def _gender(gender: str) -> Literal["m", "f"]:
    if gender == "m":
        return "m"
    if gender == "f":
        return "f"
    raise ValueError(f'gender {gender!r} is not "m" or "f"')


def ordinal(n: int, lang: str, *, gender: str = "m", html: bool = False) -> str:
    """An ordinal in figures: ``1er``, ``1re`` (feminine), ``2e``, ``76e``; ``1st``, ``76th``.

    French ``html=True`` gives Markup ``76<sup>e</sup>``; English circulars write ``76th``
    on the line, so English ``html=True`` gives the same text as Markup.

    >>> ordinal(76, "fr")
    '76e'
    """
    profile = _profile(lang)
    n, g = _positive(n), _gender(gender)
    return profile.ordinal(n, g, html)


def ordinal_words(n: int, lang: str, *, gender: str = "m") -> str:
    """An ordinal in words: ``sixième``, ``premier``/``première``, ``vingt et unième``; ``sixth``.

    >>> ordinal_words(21, "fr")
    'vingt et unième'
    """
    profile = _profile(lang)
    n, g = _positive(n), _gender(gender)
    return profile.ordinal_words(n, g)


# ---------------------------------------------------------------------------------------
# Numbers


Number = int | float | Decimal


def _number(x: Number) -> Decimal | int | float:
    if isinstance(x, bool) or not isinstance(x, int | float | Decimal):
        raise ValueError(f"{x!r} is not a number")
    if isinstance(x, float | Decimal) and not (x == x and abs(x) != float("inf")):
        raise ValueError(f"{x!r} is not a finite number")
    return x


def format_number(x: Number, lang: str, *, decimals: int | None = None) -> str:
    """A number with the language's separators: ``10 000`` (U+202F), ``2,5``; ``10,000``, ``2.5``.

    ``decimals`` fixes the number of decimals; by default up to three are shown, trailing
    zeros dropped. Rounding is half up, as people round (``2.5`` → ``3``), not Babel's half
    to even. Years are not numbers: write them as they are (``2 021`` is wrong).

    >>> format_number(10000, "en")
    '10,000'
    """
    code = _lang(lang)
    value = Decimal(str(_number(x)))
    if decimals is not None and decimals < 0:
        raise ValueError(f"decimals must be 0 or more, not {decimals}")
    places = 3 if decimals is None else decimals
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    locale = languages.get(code).locale
    numbering = _profile(code).digits  # CLDR's symbols with its digits: ٢٫٥ for "arab"
    if decimals is None:
        text = format_decimal(value, locale=locale, numbering_system=numbering)
    else:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        text = format_decimal(value, format=pattern, locale=locale, numbering_system=numbering)
    return _digits(str(text), code)  # Babel gives the symbols, not the digits


def percent(x: Number, lang: str, *, decimals: int | None = None) -> str:
    """A percentage of ``x`` (25 means 25 %, not 0.25): ``25 %`` (no-break space) / ``25%``.

    >>> percent(25, "en")
    '25%'
    """
    code = _lang(lang)
    number = format_number(x, code, decimals=decimals)
    return _profile(code).percent.format(number=number)


def amount(x: Number, currency: str, lang: str, *, decimals: int | None = None) -> str:
    """An amount with its ISO currency code: ``1 500 CHF`` / ``CHF 1,500`` (UN usage).

    Whole amounts have no decimals; others get two, unless ``decimals`` says otherwise.

    >>> amount(1500, "CHF", "fr")
    '1\\u202f500\\xa0CHF'
    """
    code = _lang(lang)
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise ValueError(f"currency {currency!r} is not an ISO 4217 code such as CHF or USD")
    value = _number(x)
    if decimals is None:
        decimals = 0 if value == int(value) else 2
    number = format_number(value, code, decimals=decimals)
    return _profile(code).amount.format(number=number, currency=currency)


# ---------------------------------------------------------------------------------------
# Lists


def join_list(items: Iterable[str], lang: str, *, conjunction: str = "and") -> str:
    """Items joined as a person writes them: ``A, B et C``; ``A, B and C`` (no Oxford comma).

    ``conjunction="or"`` gives ``A, B ou C`` / ``A, B or C``. No item gives "".

    >>> join_list(["États Membres", "Membres de Secteur", "Associés"], "fr")
    'États Membres, Membres de Secteur et Associés'
    """
    code = _lang(lang)
    word = _profile(code).conjunctions.get(conjunction)
    if word is None:
        raise ValueError(f'conjunction {conjunction!r} is not "and" or "or"')
    if isinstance(items, str):
        raise ValueError("join_list takes a list of items, not one string")
    names = [str(item) for item in items]
    if len(names) <= 1:
        return "".join(names)
    separator = _profile(code).list_separator
    space = "" if separator.strip() == separator else " "  # Chinese "A、B和C": no spaces
    return f"{separator.join(names[:-1])}{space}{word}{space}{names[-1]}"
