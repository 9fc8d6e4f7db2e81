"""Dates and ranges of dates."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache

from babel.dates import get_day_names, get_month_names
from markupsafe import Markup

from dispatch import languages
from dispatch.formatting.common import (
    EN_DASH,
    NBSP,
    _digits,
    _html_join,
    _lang,
    _plain_date,
    _profile,
)

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
