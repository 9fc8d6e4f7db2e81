"""Line breaking: what a line may not separate (dates, "Rev. 1", acronyms), and the
isolation of left-to-right runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from dispatch import languages
from dispatch.typography.flow import NBSP, Edit, Rule, _Flow, _protected

# ---------------------------------------------------------------------------------------
# Line breaking: what a line may not separate. A day from its month and a month from its
# year ("17 mai 2021", "May 17, 2021"), an abbreviation from its number ("Rev. 1",
# "p. 4"), a time from "a.m." ("8.30 a.m.") get U+00A0; the hyphen of an acronym joined to
# a word in capitals ("CEE-ONU", "ONU-Femmes", "ITU-T") becomes U+2011 NON-BREAKING
# HYPHEN. References such as "CL-22/006" stay as written (their right side is a number).
# typeset() applies all but the dates and the U+2011: dispatch.formatting writes dates with
# ordinary spaces and its output must stay a fixed point of typeset() (a Subject header has
# no use for them either), and a U+2011 changes what a string is (a search of the mailbox
# for "RPM-ARB" would not find it), so typeset() even turns a typed one into "-".
# keep_together, which only the PDF applies (dispatch/pdf.py), include both.

_SP = "[ \t\u00a0\u202f\u2009]+"


def _spaced(text: str) -> str:
    """A piece of a date pattern as a regular expression whose spaces match any space."""
    return _SP.join(re.escape(part) for part in re.split(r"[ \u00a0\u202f]+", text))


@lru_cache(maxsize=32)
def _date_patterns(
    code: str, locale: str, first: str, letter: tuple[str, str] | None
) -> tuple[re.Pattern[str], ...]:
    """The dates of a language as its letters write them, and its "month year": from the
    month names of CLDR (through Babel) and the shape of the language's dates (``letter``:
    its file's day_month and month_year, else CLDR's long date)."""
    from datetime import date

    from babel.dates import format_date as cldr_date
    from babel.dates import get_month_names

    names = {
        str(name)
        for context in ("format", "stand-alone")
        for name in get_month_names("wide", context, locale).values()
    }
    months = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    flags = re.IGNORECASE if all(n[:1].islower() for n in names) else 0
    # the long date of 7 December 2021, cut around its day, month and year
    sample = str(cldr_date(date(2021, 12, 7), "long", locale=locale))
    december = str(get_month_names("wide", "format", locale)[12])
    shape = re.fullmatch(rf"7(.*?){re.escape(december)}(.*?)2021(.*)", sample)
    groups = (*letter, "") if letter else (shape.groups() if shape else None)
    if groups is None or not names or not all(n[:1].isalpha() for n in names):
        return ()  # 2021年12月7日: no space in a date, nothing to keep together
    day_month, month_year, after = (_spaced(g) for g in groups)
    day_month = day_month or _SP
    month_year = month_year or _SP
    days = f"(?:{re.escape(first)}|[0-9]{{1,2}})" if first else "[0-9]{1,2}"
    suffix = f"(?:{after})?" if after.strip() else ""
    year = rf"[0-9]{{4}}{suffix}(?![\w,.:/-]?[0-9])"
    day_first = rf"(?<![\w.,/]){days}{day_month}(?:{months})(?!\w)(?:{month_year}{year})?"
    month_first = rf"(?<![\w-])(?:{months}){_SP}[0-9]{{1,2}}(?![\w:.,/-]?[0-9])(?:,{_SP}{year})?"
    return (
        re.compile(f"{day_first}|{month_first}", flags),
        re.compile(rf"(?<![\w-])(?:{months}){month_year}{year}", flags),
    )


@lru_cache(maxsize=32)
def _unbroken_dates(locale: str) -> re.Pattern[str] | None:
    from datetime import date

    from babel.dates import format_date as cldr_date

    sample = str(cldr_date(date(2021, 12, 7), "long", locale=locale))
    if any(c.isspace() for c in sample) or not all(n in sample for n in ("2021", "12", "7")):
        return None
    pattern = re.escape(sample).replace("2021", "[0-9]{4}").replace("12", "[0-9]{1,2}")
    return re.compile(pattern.replace("7", "[0-9]{1,2}", 1))


def unbroken_dates(lang: str) -> re.Pattern[str] | None:
    """The dates of a language written without spaces (``2021年12月7日``), which the PDF
    keeps on one line; None for a language whose dates have spaces (keep_together)."""
    language = languages.get(lang)
    if language.formatting.dates != "cldr":
        return None
    return _unbroken_dates(language.locale)


def _dates_of(lang: str) -> tuple[re.Pattern[str], ...]:
    language = languages.get(lang)
    profile = language.formatting
    first = profile.first_of_month
    letter = (profile.day_month, profile.month_year) if profile.dates == "letter" else None
    return _date_patterns(language.code, language.locale, first[0] if first else "", letter)


_ABBREVIATION_NUMBER = re.compile(
    rf"(?<![\w.])(?:Rev|Add|Corr|Vol|Doc|Res|Rés|Rec|p|pp|No|art|Art|chap|al)\.(?P<a>{_SP})(?=[0-9])"
)
_EN_TIME = re.compile(rf"[0-9](?P<a>{_SP})(?=(?:a\.m\.|p\.m\.)|(?:am|pm)(?!\w))")
_ACRONYM_HYPHEN = re.compile(r"(?<![\w\u2011-])[A-Z][A-Z0-9]+(?P<h>-)(?=[A-Z])")
#: U+2060 WORD JOINER: no break here. Only the PDF has it, and dispatch/pdf.py turns the
#: word it joins into a span that print.css keeps on one line (the font has no glyph).
WORD_JOINER = "\u2060"
# A range of numbers ("(2021–2022)", "6–15 juin"): no break after its dash.
_RANGE_DASH = re.compile(r"(?<![\w.,])[0-9]{1,4}–(?=[0-9]{1,4}(?![\w]))")
# A short reference with slashes ("BDT/DIR/105", "CL-22/006", "A/70/1"): no break after one.
_REFERENCE = re.compile(r"(?<![\w/.:\u2011-])[A-Z][\w\u2011-]*(?:/[\w\u2011-]+)+(?![\w/])")


def _keep_together(lang: str, *, dates: bool = True, hyphens: bool = True) -> Rule:
    patterns = _dates_of(lang) if dates else ()

    def rule(flow: _Flow) -> Iterator[Edit]:
        text = flow.text
        edits: list[Edit] = []
        for pattern in patterns:
            for m in pattern.finditer(text):
                edits += [
                    (m.start() + g.start(), m.start() + g.end(), NBSP)
                    for g in re.finditer(_SP, m.group())
                ]
        for m in _ABBREVIATION_NUMBER.finditer(text):
            edits.append((m.start("a"), m.end("a"), NBSP))
        for m in _EN_TIME.finditer(text):
            edits.append((m.start("a"), m.end("a"), NBSP))
        if hyphens and "-" in text:
            for m in _ACRONYM_HYPHEN.finditer(text):
                edits.append((m.start("h"), m.end("h"), "\u2011"))
        if hyphens and "–" in text:
            for m in _RANGE_DASH.finditer(text):
                edits.append((m.end() - 1, m.end(), "–" + WORD_JOINER))
        if hyphens and "/" in text:
            for m in _REFERENCE.finditer(text):
                if m.end() - m.start() <= 24:
                    edits += [
                        (m.start() + i, m.start() + i + 1, "/" + WORD_JOINER)
                        for i, char in enumerate(m.group())
                        if char == "/"
                    ]
        seen: set[tuple[int, int]] = set()
        for edit in sorted(edits):
            if (edit[0], edit[1]) not in seen:
                seen.add((edit[0], edit[1]))
                yield edit

    return rule


def _plain_hyphens(flow: _Flow) -> Iterator[Edit]:
    # U+2011 changes what a string is: a search for "CEE-ONU" does not find "CEE\u2011ONU".
    # Typed (pasted from Word), it becomes a hyphen; the PDF puts its own back.
    text = flow.text
    if "\u2011" in text:
        for m in re.finditer("\u2011", text):
            yield m.start(), m.end(), "-"


_LTR_TOKEN = (
    r"(?:https?://[^\s<>«»]*[^\s<>«».,;:!?،؛؟)]"  # a link
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # an e-mail address
    r"|\+?[0-9A-Za-z](?:[0-9A-Za-z./:+\-–]*[0-9A-Za-z])?)"  # Latin words, numbers, references
)
_LTR_RUN = re.compile(rf"(?<![\w+]){_LTR_TOKEN}(?:[ \u00a0]{_LTR_TOKEN})*(?!\w)", re.ASCII)
_ISOLATED = re.compile("(\u2066[^\u2069]*\u2069)")
_NEEDS_ISOLATE = re.compile(r"[A-Za-z+@ \u00a0]")
LRI, PDI = "\u2066", "\u2069"  # LEFT-TO-RIGHT ISOLATE, POP DIRECTIONAL ISOLATE


def isolate_left_to_right(text: str) -> str:
    """Plain text of a right-to-left language with each left-to-right run (a telephone
    number, a link, a Latin name) between U+2066 and U+2069, so that a mail client shows
    ``+41 22 730 6301`` as written and not ``6301 730 22 41+``; idempotent.

    >>> isolate_left_to_right("الهاتف: +41 22 730 6301") == "الهاتف: \u2066+41 22 730 6301\u2069"
    True
    """

    def isolate(m: re.Match[str]) -> str:
        run = m.group()
        return f"{LRI}{run}{PDI}" if _NEEDS_ISOLATE.search(run) else run  # 2021, 10:00: as is

    return "".join(
        piece if piece.startswith(LRI) else _LTR_RUN.sub(isolate, piece)
        for piece in _ISOLATED.split(text)
    )


def text_part(text: str, lang: str) -> str:
    """A letter's text part as it is sent: in a right-to-left language, its left-to-right
    runs isolated (:func:`isolate_left_to_right`); otherwise as it is."""
    return isolate_left_to_right(text) if languages.get(lang).direction == "rtl" else text


def keep_together(text: str, lang: str) -> str:
    """Only the no-break rules of ``lang`` (dates, "Rev. 1", "CEE-ONU"), on plain text.

    >>> keep_together("du 17 au 21 mai 2021 (CEE-ONU)", "fr")
    'du 17 au 21\xa0mai\xa02021 (CEE\u2011ONU)'
    >>> keep_together("on 17 May 2021 at 8.30 a.m. (ITU-T)", "en")
    'on 17\xa0May\xa02021 at 8.30\xa0a.m. (ITU\u2011T)'
    """
    flow = _Flow(text, _protected(text))
    flow.apply((_keep_together(languages.get(lang).code),))
    return flow.text
