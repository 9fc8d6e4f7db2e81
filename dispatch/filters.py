"""The formatting and typography filters of letter templates, for Jinja2.

:func:`install_filters` registers every filter of :mod:`dispatch.formatting` and
:mod:`dispatch.typography` in an environment. A filter reads the letter's language from
the template variable ``lang`` (a code of :mod:`dispatch.languages`) and the kind of output
from ``output`` ("html" or "text"; when it is not set, the environment's autoescape
decides). In HTML, ordinals and dates with ``1er`` come as Markup with ``<sup>``;
everything else is plain text that autoescape escapes as usual.

Values from the mailing file may come as strings: dates as ``2021-10-13``, times as
``10:00``, numbers as ``1500`` or ``2.5``; filters accept both forms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import jinja2
from jinja2.runtime import Context
from markupsafe import Markup, escape

from dispatch import formatting as fmt
from dispatch import languages
from dispatch.placeholders import Unset
from dispatch.typography import typeset, typeset_html

__all__ = ["FILTERS", "install_filters"]


def _lang(context: Context) -> str:
    lang = context.get("lang")
    if not isinstance(lang, str):
        raise ValueError('the template has no "lang" variable (a language code) for its filters')
    return lang


def _html(context: Context) -> bool:
    output = context.get("output")
    if output is None:
        return bool(context.eval_ctx.autoescape)
    if output not in ("html", "text"):
        raise ValueError(f'the template variable "output" is {output!r}, not "html" or "text"')
    return bool(output == "html")


def _defined(value: Any) -> Any:
    """The value, unless it is Undefined: then Jinja's own error ("'x' is undefined")."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return value


def _date(value: Any) -> date:
    _defined(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date: write it as 2021-10-13")


def _optional_date(value: Any) -> date | None:
    return None if value is None or isinstance(value, Unset) else _date(value)


def _optional_str(value: Any) -> str | None:
    """An optional argument: a field left unset counts as not given; a misspelt one fails."""
    return None if value is None or isinstance(value, Unset) else str(_defined(value))


def _time(value: Any) -> time:
    _defined(value)
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a time: write it as 10:00 (24-hour clock)")


def _number(value: Any) -> int | float | Decimal:
    _defined(value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return Decimal(value.strip().replace("\u202f", "").replace(" ", ""))
        except InvalidOperation:
            pass
    raise ValueError(f"{value!r} is not a number: write it as 1500 or 2.5")


def _int(value: Any) -> int:
    _defined(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"{value!r} is not a whole number")


@jinja2.pass_context
def date_filter(
    context: Context, value: Any, weekday: bool = False, article: bool = False, year: bool = True
) -> str:
    """``{{ d | date(article=True) }}`` → ``le 13 octobre 2021`` / ``13 October 2021``."""
    return fmt.format_date(
        _date(value),
        _lang(context),
        weekday=weekday,
        article=article,
        year=year,
        html=_html(context),
    )


@jinja2.pass_context
def place_date_filter(context: Context, value: Any, place: str) -> str:
    """``{{ mailing.date | place_date(place) }}`` → ``Genève, le 13 octobre 2021``."""
    return fmt.place_date(str(_defined(place)), _date(value), _lang(context), html=_html(context))


@jinja2.pass_context
def date_range_filter(context: Context, start: Any, end: Any, compact: bool = False) -> str:
    """``{{ start | date_range(end) }}`` → ``du 6 au 16 juin 2022`` / ``from 6 to 16 June 2022``."""
    return fmt.date_range(
        _date(start), _date(end), _lang(context), compact=compact, html=_html(context)
    )


@jinja2.pass_context
def time_filter(context: Context, value: Any) -> str:
    """``{{ t | time }}`` → ``10 h 00`` / ``10:00``."""
    return fmt.format_time(_time(value), _lang(context))


@jinja2.pass_context
def time_range_filter(
    context: Context,
    start: Any,
    end: Any,
    zone: str | None = None,
    zone_place: str | None = None,
    on: Any = None,
    compact: bool = False,
    offset: bool = False,
    label: str | None = None,
) -> str:
    """``{{ start | time_range(end, zone="Europe/Zurich") }}`` → ``de 10 h 00 à 15 h 30 (heure de
    Genève)`` / ``10:00 to 15:30 (Geneva time)``; with ``label=event.zone_label`` the
    times are named as the letter writes them: ``de 8 h 30 à 11 h 30 EST``."""
    return fmt.time_range(
        _time(start),
        _time(end),
        _lang(context),
        zone=_optional_str(zone),
        zone_place=_optional_str(zone_place),
        on=_optional_date(on),
        compact=compact,
        offset=offset,
        label=_optional_str(label),
    )


@jinja2.pass_context
def deadline_filter(
    context: Context,
    value: Any,
    at: Any,
    zone: str,
    zone_place: str | None = None,
    weekday: bool = False,
    label: str | None = None,
) -> str:
    """``{{ d | deadline(t, zone="Europe/Zurich") }}`` → ``le 12 septembre 2023 à 23 h 59,
    heure de Genève (UTC+2)`` / ``12 September 2023, 23:59 Geneva time (UTC+2)``."""
    return fmt.deadline(
        _date(value),
        _time(at),
        _lang(context),
        zone=str(_defined(zone)),
        zone_place=_optional_str(zone_place),
        weekday=weekday,
        html=_html(context),
        label=_optional_str(label),
    )


@jinja2.pass_context
def zone_label_filter(
    context: Context,
    zone: str,
    zone_place: str | None = None,
    on: Any = None,
    offset: bool = True,
    label: str | None = None,
) -> str:
    """``{{ "Europe/Zurich" | zone_label(on=d) }}`` → ``heure de Genève (UTC+2)``."""
    return fmt.zone_label(
        str(_defined(zone)),
        _lang(context),
        _optional_str(zone_place),
        on=_optional_date(on),
        offset=offset,
        label=_optional_str(label),
    )


@jinja2.pass_context
def ordinal_filter(context: Context, value: Any, gender: str = "m") -> str:
    """``{{ 76 | ordinal }}`` → ``76e`` (``76<sup>e</sup>`` in HTML) / ``76th``."""
    return fmt.ordinal(_int(value), _lang(context), gender=gender, html=_html(context))


@jinja2.pass_context
def ordinal_words_filter(context: Context, value: Any, gender: str = "m") -> str:
    """``{{ 6 | ordinal_words(gender="f") }}`` → ``sixième`` / ``sixth``."""
    return fmt.ordinal_words(_int(value), _lang(context), gender=gender)


@jinja2.pass_context
def number_filter(context: Context, value: Any, decimals: int | None = None) -> str:
    """``{{ 10000 | number }}`` → ``10 000`` / ``10,000``."""
    return fmt.format_number(_number(value), _lang(context), decimals=decimals)


@jinja2.pass_context
def percent_filter(context: Context, value: Any, decimals: int | None = None) -> str:
    """``{{ 25 | percent }}`` → ``25 %`` / ``25%``."""
    return fmt.percent(_number(value), _lang(context), decimals=decimals)


@jinja2.pass_context
def amount_filter(context: Context, value: Any, currency: str, decimals: int | None = None) -> str:
    """``{{ 1500 | amount("CHF") }}`` → ``1 500 CHF`` / ``CHF 1,500``."""
    return fmt.amount(_number(value), str(_defined(currency)), _lang(context), decimals=decimals)


@jinja2.pass_context
def join_list_filter(context: Context, items: Iterable[Any], conjunction: str = "and") -> str:
    """``{{ ["A", "B", "C"] | join_list }}`` → ``A, B et C`` / ``A, B and C``."""
    if isinstance(_defined(items), str):
        raise ValueError("join_list takes a list of items, not one string")
    if _html(context):
        # Items may be Markup already: escape each once, then the joined text is safe.
        return Markup(
            fmt.join_list([str(escape(i)) for i in items], _lang(context), conjunction=conjunction)
        )
    return fmt.join_list([str(i) for i in items], _lang(context), conjunction=conjunction)


@jinja2.pass_context
def typeset_filter(context: Context, value: Any) -> str:
    """``{{ text | typeset }}``: the language's micro-typography (``Réf. :``, ``« … »``)."""
    lang = _lang(context)
    if _html(context):
        return typeset_html(escape(value), lang)
    return typeset(str(_defined(value)), lang)


_FEMININE_ENDINGS = (  # French word endings, not language codes
    ("er", "ère"),
    ("el", "elle"),
    ("eux", "euse"),
    ("if", "ive"),
    ("en", "enne"),  # language-literal: the ending -en, not a language
)


def feminine(word: str) -> str:
    """The feminine of a French adjective or participle, as letters need them.

    >>> [feminine(w) for w in ("assuré", "Cher", "heureux", "attentive", "informé")]
    ['assurée', 'Chère', 'heureuse', 'attentive', 'informée']
    """
    if not word or word.endswith("e"):
        return word
    lower = word.lower()
    for masculine, ending in _FEMININE_ENDINGS:
        if lower.endswith(masculine):
            return word[: -len(masculine)] + (ending.upper() if word.isupper() else ending)
    return word + ("E" if word.isupper() else "e")


@jinja2.pass_context
def agree_filter(context: Context, word: Any, feminine_form: str | None = None) -> str:
    """``{{ "assuré" | agree }}``: the word agreed with the addressee's civility.

    A French letter to an addressee whose civility is feminine (Mme, Madame, Mlle, Ms,
    Mrs…) or whose own salutation begins "Madame …" gets the feminine: ``Soyez
    {{ "assuré" | agree }}`` → ``Soyez assurée``, ``{{ "Cher" | agree }}`` → ``Chère``;
    everyone else, and a letter to an institution ("Madame, Monsieur,"), the masculine.
    An irregular word gives its feminine: ``{{ "beau" | agree("belle") }}``. In a language
    whose file names no ``agree`` rule (English...), words are returned as written.
    """
    text = str(_defined(word))
    person = context.get("addressee")
    if (
        languages.get(_lang(context)).agree is None
        or getattr(person, "feminine", False) is not True
    ):
        return text
    return str(_defined(feminine_form)) if feminine_form is not None else feminine(text)


FILTERS: dict[str, Callable[..., str]] = {
    "agree": agree_filter,
    "date": date_filter,
    "place_date": place_date_filter,
    "date_range": date_range_filter,
    "time": time_filter,
    "time_range": time_range_filter,
    "deadline": deadline_filter,
    "zone_label": zone_label_filter,
    "ordinal": ordinal_filter,
    "ordinal_words": ordinal_words_filter,
    "number": number_filter,
    "percent": percent_filter,
    "amount": amount_filter,
    "join_list": join_list_filter,
    "typeset": typeset_filter,
}


def install_filters(env: jinja2.Environment) -> None:
    """Register every formatting and typography filter in ``env`` (sandboxed or not).

    >>> env = jinja2.Environment(); install_filters(env)
    >>> env.from_string("{{ 76 | ordinal }}").render(lang="fr", output="text")
    '76e'
    """
    env.filters.update(FILTERS)
