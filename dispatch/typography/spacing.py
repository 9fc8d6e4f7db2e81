"""The rules of spaces, numbers and punctuation, and those of other scripts from the
language file's ``[typography]``."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dispatch.languages import TypographyRules
from dispatch.typography.flow import (
    _DIGITS,
    _SPACES,
    NBSP,
    NNBSP,
    Edit,
    Rule,
    _digits_before,
    _Flow,
    _is_word,
    _spaces_after,
    _spaces_before,
)

# ---------------------------------------------------------------------------------------
# The rules. Each yields edits in order; the flow drops those that touch a guard or change
# nothing. A rule rewrites the spaces around what it spaces, so that none is ever doubled.


def _fr_ordinal_suffix(number: str, suffix: str) -> str | None:
    """``76ème`` → ``e``, ``1ère`` → ``re``, ``1ier`` → ``er``; None if not an ordinal."""
    word = suffix.lower()
    plural = len(word) > 1 and word.endswith("s")  # "2èmes" → "2es"
    base = word[:-1] if plural else word
    one = number == "1"
    if base in ("e", "è", "ème", "eme", "ième", "ieme"):
        result = "er" if one else "e"
    elif base in ("er", "ier"):
        result = "er"
    elif base in ("re", "ère", "ere", "ière", "iere"):
        result = "re" if one else "e"
    else:
        return None
    return result + "s" if plural else result


def _joins(text: str, i: int) -> bool:
    """Whether text[i] is a point or comma inside a number or code (``1.5``, ``Y.4900``)."""
    return text[i] in ".," and i > 0 and text[i - 1].isalnum()


def _standalone_number(text: str, end: int) -> str | None:
    """The digits that end at ``end`` if they are a number on their own.

    Not ``A4``, ``1.5`` or ``1,5``, nor the minutes of ``23h59`` or ``23 h 59``.
    """
    start = _digits_before(text, end)
    if start == end or (start > 0 and (_is_word(text[start - 1]) or _joins(text, start - 1))):
        return None
    if start > 1 and text[start - 1] in _SPACES and text[start - 2] == "h":
        return None
    return text[start:end]


_SUPERSCRIPT = re.compile(r"\^\{([^{}\s]{1,6})\}(?!\w)")


def _fr_superscripts(flow: _Flow) -> Iterator[Edit]:
    # Word's superscripts come through as "76^{ème}".
    text = flow.text
    if "^{" not in text:
        return
    for m in _SUPERSCRIPT.finditer(text):
        number = _standalone_number(text, m.start())
        suffix = _fr_ordinal_suffix(number, m.group(1)) if number else None
        if suffix is not None:
            yield m.start(), m.end(), suffix


def _after_number(french: bool) -> Rule:
    """What follows a number: its ordinal suffix, ``%``, a unit or a currency code."""

    def rule(flow: _Flow) -> Iterator[Edit]:
        text = flow.text
        for m in _AFTER_DIGIT.finditer(text):
            if m.group("suffix"):
                number = _standalone_number(text, m.start("suffix")) if french else None
                suffix = _fr_ordinal_suffix(number, m.group("suffix")) if number else None
                if suffix is not None:
                    yield m.start("suffix"), m.end(), suffix
            elif m.group("unit") == "%":
                if french:
                    yield m.start("space"), m.end(), f"{NBSP}%"
            elif m.group("space"):
                yield m.start("space"), m.end("space"), NBSP

    return rule


_FR_HOUR = re.compile(r"h(?:[ \t\u00a0\u202f\u2009]?([0-5][0-9]))?(?!\w)")


def _fr_times(flow: _Flow) -> Iterator[Edit]:
    # "23h59", "10 h 00", "10h" → "23 h 59" with no-break spaces. "10:30" is left as it is.
    text = flow.text
    for m in _FR_HOUR.finditer(text):
        start = m.start() - 1 if m.start() > 0 and text[m.start() - 1] in _SPACES else m.start()
        number = _standalone_number(text, start)
        if number is None or len(number) > 2 or int(number) > 24:
            continue
        if start > len(number) and text[start - len(number) - 1] == ":":
            continue
        minutes = m.group(1)
        yield start, m.end(), f"{NBSP}h{NBSP}{minutes}" if minutes else f"{NBSP}h"


def _ellipsis(flow: _Flow) -> Iterator[Edit]:
    text = flow.text
    if "..." in text:
        for m in re.finditer(r"\.\.\.+", text):
            if m.end() - m.start() == 3:
                yield m.start(), m.end(), "…"


def _before_punctuation(flow: _Flow, marks: str) -> Iterator[tuple[int, int, int]]:
    """Each run of ``marks`` that ends a word: (start of the spaces before, run start, end)."""
    text = flow.text
    found = sorted(
        m.start() for mark in marks if mark in text for m in re.finditer(re.escape(mark), text)
    )
    k = 0
    while k < len(found):
        i = j = found[k]
        while k < len(found) and found[k] == j:
            j += 1
            k += 1
        if j < len(text) and (_is_word(text[j]) or text[j] in "/\\=&:"):
            continue  # "10:30", "?id=3", "a;b": not punctuation of a sentence
        start = _spaces_before(text, i)
        if start == 0 or text[start - 1].isspace() or text[start - 1] in "([{:;!?":
            continue
        yield start, i, j


def _fr_colon(flow: _Flow) -> Iterator[Edit]:
    if ":" in flow.text:
        for start, i, j in _before_punctuation(flow, ":"):
            if j - i == 1:
                yield start, j, f"{NBSP}:"


def _fr_semicolon_marks(flow: _Flow) -> Iterator[Edit]:
    text = flow.text
    if ";" in text or "!" in text or "?" in text:
        for start, i, j in _before_punctuation(flow, ";!?"):
            yield start, j, NNBSP + text[i:j]


def _en_no_space_before_marks(flow: _Flow) -> Iterator[Edit]:
    text = flow.text
    if any(mark in text for mark in ":;!?"):
        for start, i, _ in _before_punctuation(flow, ":;!?"):
            if start < i:
                yield start, i, ""


_NUMERO = re.compile(r"[nN][°º]")


def _fr_numero(flow: _Flow) -> Iterator[Edit]:
    text = flow.text
    if "°" not in text and "º" not in text:
        return
    for m in _NUMERO.finditer(text):
        if m.start() > 0 and _is_word(text[m.start() - 1]):
            continue
        end = _spaces_after(text, m.end())
        if end < len(text) and text[end] in _DIGITS:
            yield m.start(), end, m.group() + NBSP


_UNITS = (
    "km²|km/h|km|cm|mm|m²|m|kg|MHz|GHz|kHz|THz|Hz|dBm|dBi|dB|kW|MW|GW|mW|kV|ms|min"
    "|Gbit/s|Mbit/s|kbit/s|bit/s|Tbit/s|Go|Mo|Ko|To|GB|MB|kB|TB|°C|€"
)
_CURRENCIES = (
    "CHF",
    "EUR",
    "USD",
    "GBP",
    "JPY",
    "CNY",
    "CAD",
    "AUD",
    "INR",
    "RUB",
    "BRL",
    "ZAR",
    "XOF",
    "XAF",
    "RWF",
    "KES",
    "NGN",
    "EGP",
    "AED",
    "SAR",
    "MAD",
    "TND",
    "SEK",
    "NOK",
    "DKK",
)
_AFTER_DIGIT = re.compile(
    r"[0-9](?:(?P<suffix>(?:i?[eè]me|i?[eè]re|ier)s?)(?!\w)"
    rf"|(?P<space>[ \t\u00a0\u202f\u2009]*)(?P<unit>%|(?:{_UNITS}|{'|'.join(_CURRENCIES)})(?!\w)))"
)
_CURRENCY_BEFORE = re.compile(rf"(?:{'|'.join(_CURRENCIES)})([ \t\u202f\u2009]+)(?=[0-9])")


def _currency_before(flow: _Flow) -> Iterator[Edit]:
    # "CHF 1,500": the space is no-break.
    text = flow.text
    for m in _CURRENCY_BEFORE.finditer(text):
        if m.start() == 0 or not _is_word(text[m.start() - 1]):
            yield m.start(1), m.end(1), NBSP


_RANGE_HYPHEN = re.compile(r"-(?<=[0-9]-)(?=[0-9])")
_NOT_BEFORE_RANGE = frozenset("+-/–\u2011")
_NOT_AFTER_RANGE = frozenset("-/–\u2011")


def _number_ranges(flow: _Flow) -> Iterator[Edit]:
    # "6-16 juin", "2021-2022" → en dash; not "2021-12-07", "+41-22-730", "22 730-6301".
    text = flow.text
    if "-" not in text:
        return
    for m in _RANGE_HYPHEN.finditer(text):
        i = m.start()
        left = _digits_before(text, i)
        right = i + 1
        while right < len(text) and text[right] in _DIGITS:
            right += 1
        if left > 0:
            before = text[left - 1]
            if _is_word(before) or before in _NOT_BEFORE_RANGE or _joins(text, left - 1):
                continue
            if before in _SPACES and before != NNBSP and left > 1 and text[left - 2] in _DIGITS:
                continue  # a telephone number in groups (thousands are grouped by U+202F)
        if right < len(text):
            after = text[right]
            if _is_word(after) or after in _NOT_AFTER_RANGE:
                continue
            if after in ".," and right + 1 < len(text) and text[right + 1] in _DIGITS:
                continue
        yield i, i + 1, "–"


_GROUP_SPACES = " \u00a0\u202f\u2009"
_FR_NUMBER = re.compile(
    rf"(?<![0-9])(?:[0-9]{{1,3}}(?:[{_GROUP_SPACES}][0-9]{{3}})+|[0-9]{{5,}})(?![0-9])"
    r"(?P<decimals>,[0-9]+)?"
)
_NOT_BEFORE_NUMBER = frozenset("+-–/.,#№°\u2011_")  # a range or a code: as written
_NOT_AFTER_NUMBER = frozenset("/-–\u2011_")
_CAPITAL_WORD = re.compile(r"[A-Z][A-Za-z]*")
_CODE_WORD = re.compile(r"(?:[A-Z]{2,}|[nN][°º]|No\.?|N°|art\.?|Art\.?)\Z")


def _fr_thousands(flow: _Flow) -> Iterator[Edit]:
    """``10000`` → ``10 000``, ``123 456,789`` → ``123 456,789`` (U+202F), five digits up.

    A number of four digits (a year) stays as written, and so does one that is part of
    something else: a telephone number in groups (``+41 22 730 6240``), a reference or a
    code (``70/125``, ``A/70/1``, ``Y.4900``, ``TSB 35200``, ``ISO 31000``), a postal code
    (``75007 Paris``).
    """
    text = flow.text
    n = len(text)
    for m in _FR_NUMBER.finditer(text):
        start, end = m.start(), m.end() - len(m.group("decimals") or "")
        digits = re.sub(f"[{_GROUP_SPACES}]", "", text[start:end])
        if len(digits) < 5 or digits.startswith("0"):
            continue
        if start > 0:
            before = text[start - 1]
            if _is_word(before) or before in _NOT_BEFORE_NUMBER:
                continue
            left = _spaces_before(text, start)
            if left < start and left > 0:
                if text[left - 1] in _DIGITS or text[left - 1] == "+":
                    continue  # one group of a longer series of numbers: a telephone
                code = _CODE_WORD.search(text, max(0, left - 6), left)
                if code and code.group() not in _CURRENCIES:
                    continue
        after = m.end()
        if after < n:
            if _is_word(text[after]) or text[after] in _NOT_AFTER_NUMBER:
                continue
            if text[after] in ".:" and after + 1 < n and text[after + 1] in _DIGITS:
                continue  # 12345.6, 10000:30
            right = _spaces_after(text, after)
            if right > after and right < n:
                if text[right] in _DIGITS:
                    continue  # another group follows: a telephone
                word = _CAPITAL_WORD.match(text, right)
                if word and word.group() not in _CURRENCIES:
                    continue  # "75007 Paris": a postal code
        grouped = f"{int(digits):,}".replace(",", NNBSP)
        yield start, end, grouped


# ---------------------------------------------------------------------------------------
# Rules of other scripts, from the language file's [typography]

_DASH_SPACE = re.compile(r"[ \t\u202f\u2009]+(?=—)")


def _no_break_before_dash(flow: _Flow) -> Iterator[Edit]:
    # Russian "слово — слово": the dash ends its line, never starts the next one.
    text = flow.text
    if "—" in text:
        for m in _DASH_SPACE.finditer(text):
            yield m.start(), m.end(), NBSP


def _script_punctuation(rules: TypographyRules) -> Rule:
    """ASCII marks typed after a letter of the script become the language's own: ``،`` ``؛``
    ``؟`` after Arabic, ``，`` ``。`` ``：`` after Chinese. A mark between digits (``1,5``)
    stays."""
    marks = "".join(re.escape(m) for m in rules.punctuation)
    pattern = re.compile(rf"(?<=[{rules.script}])[{marks}](?![0-9])")

    def rule(flow: _Flow) -> Iterator[Edit]:
        text = flow.text
        for m in pattern.finditer(text):
            if m.group() == "." and text[m.end() : m.end() + 1].isalnum():
                continue  # a dotted name, not the end of a sentence
            yield m.start(), m.end(), rules.punctuation[m.group()]

    return rule


def _no_space_between_letters(rules: TypographyRules) -> Rule:
    """Chinese has no space between its characters, nor after its full-width marks."""
    wide = "".join(re.escape(m) for m in rules.punctuation.values())
    side = f"[{rules.script}{wide}“”‘’]"
    pattern = re.compile(rf"(?<={side})[ \t]+(?={side})")

    def rule(flow: _Flow) -> Iterator[Edit]:
        for m in pattern.finditer(flow.text):
            yield m.start(), m.end(), ""

    return rule


# Passes of rules: the rules of a pass read the same text, so none may depend on another's
