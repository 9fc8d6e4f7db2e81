"""What every kind of value shares: the language's profile, the spaces, HTML joins."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from markupsafe import Markup, escape

from dispatch import languages
from dispatch.languages import Formatting

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


_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _digits(text: str, lang: str) -> str:
    """Western digits, or the language's own where its file says so (``digits = "arab"``)."""
    return text.translate(_ARABIC_DIGITS) if _profile(lang).digits == "arab" else text
