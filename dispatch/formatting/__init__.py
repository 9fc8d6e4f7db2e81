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

from dispatch.formatting.common import LANGUAGES
from dispatch.formatting.dates import date_range, format_date, place_date
from dispatch.formatting.numbers import (
    amount,
    format_number,
    join_list,
    ordinal,
    ordinal_words,
    percent,
)
from dispatch.formatting.times import (
    deadline,
    format_time,
    time_range,
    utc_offset,
    zone_abbreviation,
    zone_label,
)
from dispatch.formatting.times import (
    legacy_zone_hint as legacy_zone_hint,  # mailing.py's hint for a zone name
)

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
