"""Times, time zones, ranges of times and deadlines."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_timezone_location
from babel.numbers import get_minus_sign_symbol, get_plus_sign_symbol

from dispatch import languages
from dispatch.formatting.common import (
    _UTC_ZONES,
    _VOWELS,
    EN_DASH,
    NBSP,
    _digits,
    _html_join,
    _lang,
    _plain_date,
    _profile,
)
from dispatch.formatting.dates import format_date

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
