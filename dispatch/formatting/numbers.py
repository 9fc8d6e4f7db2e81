"""Ordinals, numbers, percentages, amounts and lists."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from babel.numbers import format_decimal

from dispatch import languages
from dispatch.formatting.common import _CURRENCY, _digits, _lang, _profile

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
    after = "" if conjunction in _profile(code).attached else space  # Arabic "B وC"
    return f"{separator.join(names[:-1])}{space}{word}{after}{names[-1]}"
