"""Micro-typography of letter text, French and English: spaces, quotes, apostrophes, dashes.

:func:`typeset` works on plain text, :func:`typeset_html` on HTML, where only the text
changes: tags, attributes, comments, entity references that keep their character and the
content of ``<script>``, ``<style>``, ``<pre>``, ``<code>``, ``<kbd>``, ``<samp>`` and
``<textarea>`` pass through as they are. In both, URLs (``https://…``, ``www.…``), e-mail
addresses and character references are left alone. Both are idempotent:
``typeset(typeset(x, lang), lang) == typeset(x, lang)``.

French (the conventions of the Imprimerie nationale, as in French UN/ITU circulars):

- U+00A0 NO-BREAK SPACE before ``:`` (``Réf. : Circulaire``), inside times (``23 h 59``),
  after ``n°`` and between a number and ``%``, a unit or a currency code (``25 %``,
  ``10 km``, ``1 500 CHF``);
- U+202F NARROW NO-BREAK SPACE before ``;`` ``!`` ``?`` and inside ``« »``;
- straight double quotes become ``« … »``, nested ``“ … ”`` (one with no partner stays
  as typed: ``12"``, never a lone ``«``); ``'`` becomes ``’``;
- ``...`` becomes ``…``; ``76ème``, ``76eme``, ``76^{ème}`` become ``76e`` (``1ère`` →
  ``1re``); ``23h59`` becomes ``23 h 59``;
- an en dash between two numbers of a range: ``6–16 juin``, ``2021–2022``;
- numbers of five digits or more grouped by thousands with U+202F (``10 000``,
  ``123 456,789``, ``10 000 €``), a space typed inside one made no-break; years and other
  four-digit numbers, references (``70/125``), codes (``ISO 31000``, ``TSB 352``),
  telephone numbers (``+41 22 730 6240``) and postal codes stay as written.

English: curly quotes ``“ … ”`` (nested ``‘ … ’``; ``'"Alfred"…'`` opens ``‘“``) and
apostrophe ``’`` (also for an
elided decade or year: ``the ’90s``, ``’21``), ``…``, no space
before ``:`` ``;`` ``!`` ``?``, an en dash in number ranges, a no-break space between a
number and a unit or currency code.

A space this module writes replaces the spaces that were there (ordinary, no-break, thin),
so it is never doubled. Nothing is inserted inside ``10:30``, ``https://…``,
``u4ssc@itu.int`` or ``CL-22/006``. Across inline tags (``"<strong>Connecter</strong>"``,
``<b>Objet</b>:``) the text is read as one, so quotes and colons are still right.
"""

from __future__ import annotations

import heapq
import html as _html
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from functools import lru_cache

from markupsafe import Markup

from dispatch import languages
from dispatch.languages import TypographyRules

__all__ = [
    "isolate_left_to_right",
    "keep_together",
    "text_part",
    "typeset",
    "typeset_html",
    "unbroken_dates",
]

NBSP = "\u00a0"
NNBSP = "\u202f"
_SPACES = frozenset(" \t\u00a0\u202f\u2009")  # horizontal spaces a rule may replace
_DIGITS = frozenset("0123456789")  # not "²" or "٣": str.isdigit() is too wide
_OPENERS = frozenset("([{«“‘—–-/\u2011")  # after these, a quote opens
_CLOSERS = frozenset(".,;:!?)]}»”’'…")  # before these, a quote closes
_BARE_AFTER_OPENING = _CLOSERS | frozenset('"“‘«')  # «“x”» : no space between the marks

Edit = tuple[int, int, str]  # replace text[start:end] by the string
Rule = Callable[["_Flow"], Iterator[Edit]]


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _spaces_before(text: str, i: int) -> int:
    """The start of the run of horizontal spaces that ends at ``i``."""
    while i > 0 and text[i - 1] in _SPACES:
        i -= 1
    return i


def _spaces_after(text: str, i: int) -> int:
    """The end of the run of horizontal spaces that starts at ``i``."""
    n = len(text)
    while i < n and text[i] in _SPACES:
        i += 1
    return i


def _digits_before(text: str, i: int) -> int:
    """The start of the run of digits that ends at ``i``."""
    while i > 0 and text[i - 1] in _DIGITS:
        i -= 1
    return i


# ---------------------------------------------------------------------------------------
# The text being typeset: its characters, the spans no rule may touch (URLs, tags...) and,
# for HTML, where each token starts so that the result can be cut back into tokens.


class _Flow:
    __slots__ = ("bounds", "guard_ends", "guard_starts", "hard", "text")

    def __init__(
        self,
        text: str,
        guards: list[tuple[int, int]],
        hard: list[int] | None = None,
        bounds: list[int] | None = None,
    ) -> None:
        self.text = text
        merged: list[list[int]] = []
        for start, end in sorted(guards):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.guard_starts = [g[0] for g in merged]
        self.guard_ends = [g[1] for g in merged]
        self.hard = hard or []  # positions of inline tags: no edit may straddle one
        self.bounds = bounds or []  # where each HTML token starts (and the end)

    def allowed(self, start: int, end: int) -> bool:
        """Whether text[start:end] may be replaced: it overlaps no guard, straddles no tag."""
        ends = self.guard_ends
        if ends:
            i = bisect_right(ends, start)
            if i < len(ends) and self.guard_starts[i] < end:
                return False
        hard = self.hard
        if hard:
            i = bisect_right(hard, start)
            if i < len(hard) and hard[i] < end:
                return False
        return True

    def apply(self, rules: tuple[Rule, ...], *, final: bool = False) -> None:
        """Apply the edits of one pass of rules, which all read the text as it was before it.

        After the ``final`` pass only the token bounds are still needed: guards and tags stay.
        """
        text = self.text
        edits: list[Edit] = []
        last = 0
        stream = rules[0](self) if len(rules) == 1 else heapq.merge(*(rule(self) for rule in rules))
        for start, end, new in stream:
            # An edit that overlaps an earlier one of the pass is dropped: the first wins.
            if start < last or start >= end or not self.allowed(start, end):
                continue
            if text[start:end] == new:
                continue
            edits.append((start, end, new))
            last = end
        if not edits:
            return
        pieces: list[str] = []
        pos = 0
        for start, end, new in edits:
            pieces += (text[pos:start], new)
            pos = end
        pieces.append(text[pos:])
        self.text = "".join(pieces)
        if self.bounds:
            self.bounds = _remap(self.bounds, edits)
        if final:
            return
        if self.guard_starts:
            self.guard_starts = _remap(self.guard_starts, edits)
            self.guard_ends = _remap(self.guard_ends, edits)
        if self.hard:
            self.hard = _remap(self.hard, edits)


def _remap(positions: list[int], edits: list[Edit]) -> list[int]:
    """Where sorted positions go after the edits (non-empty, sorted, not overlapping).

    A position at an edit's start stays before the new text, one at its end goes after it;
    one inside an edit (between an entity and the text beside it) goes after the new text,
    so that the whole replacement lands in the first token it touched.
    """
    out: list[int] = []
    k, count, delta = 0, len(edits), 0
    for p in positions:
        while k < count and edits[k][1] <= p:
            start, end, new = edits[k]
            delta += len(new) - (end - start)
            k += 1
        if k < count and edits[k][0] < p:
            start, end, new = edits[k]
            out.append(start + delta + len(new))
        else:
            out.append(p + delta)
    return out


# ---------------------------------------------------------------------------------------
# What no rule touches: URLs, e-mail addresses, character references.

_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*\Z")
_URL_REST = re.compile(r"[^\s<>\"«»“”]*[^\s<>\"«»“”.,;:!?)\]}'’]")
_EMAIL_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+")
_CHARREF = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);")


def _protected(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if "://" in text:
        for m in re.finditer("://", text):
            scheme = _URL_SCHEME.search(text, max(0, m.start() - 12), m.start())
            rest = _URL_REST.match(text, m.end())
            if scheme and rest:
                spans.append((scheme.start(), rest.end()))
    if "www." in text:
        for m in re.finditer(r"www\.", text):
            if m.start() == 0 or not _is_word(text[m.start() - 1]):
                rest = _URL_REST.match(text, m.end())
                if rest:
                    spans.append((m.start(), rest.end()))
    if "@" in text:
        for m in re.finditer("@", text):
            start = m.start()
            while start > 0 and (_is_word(text[start - 1]) or text[start - 1] in ".+-"):
                start -= 1
            domain = _EMAIL_DOMAIN.match(text, m.end())
            if start < m.start() and domain:
                spans.append((start, domain.end()))
    if "&" in text:
        spans += [m.span() for m in _CHARREF.finditer(text)]
    return spans


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


def _quotes(rules: TypographyRules) -> Rule:
    """Straight double quotes to the language's own, nested quotes to the inner pair.

    With French spacing the rule also puts a narrow no-break space inside every ``« »``,
    typed or made here, in place of the spaces that were there (none at a line's end or
    start).
    """
    french = rules.spacing == "french"
    opening, closing, inner_opening, inner_closing = rules.quotes
    typed = {opening, closing} | ({inner_opening, inner_closing} if french else set())
    typed -= {"‘", "’", "'"}  # an apostrophe is no quote
    marks = re.compile('["' + "".join(sorted(re.escape(m) for m in typed)) + "]")
    openers = {opening} | ({inner_opening} if french else set())

    # A narrow no-break space inside « », in place of the spaces there; none before a line's
    # end, nor before punctuation that another rule spaces. The mark and the spaces are two
    # edits, so that spaces on the far side of a tag do not keep the mark from changing.
    def after_opening(text: str, i: int, mark: str) -> list[Edit]:
        end = _spaces_after(text, i + 1)
        dotted_word = end + 1 < len(text) and text[end] == "." and _is_word(text[end + 1])
        if (
            end == len(text)
            or text[end].isspace()
            or (
                text[end] in _BARE_AFTER_OPENING and not dotted_word  # « .docx »: a word
            )
        ):
            return [(i, i + 1, mark)]
        if end == i + 1:
            return [(i, i + 1, mark + NNBSP)]
        return [(i, i + 1, mark), (i + 1, end, NNBSP)]

    def before_closing(text: str, i: int, mark: str, floor: int, last: str) -> list[Edit]:
        # ``floor`` and ``last``: where this rule's previous edit ends and what it wrote, the
        # text just before the spaces when the two touch ('""' has nothing in between).
        start = max(_spaces_before(text, i), floor)
        touching = start == floor and bool(last)
        before = last[-1] if touching else (text[start - 1] if start > 0 else "\n")
        if before.isspace() and not touching:
            return [(i, i + 1, mark)]  # spaces at a line's start are the line's business
        if before.isspace() or before in _OPENERS:
            return [(start, i, ""), (i, i + 1, mark)] if start < i else [(i, i + 1, mark)]
        if start < i:
            return [(start, i, NNBSP), (i, i + 1, mark)]
        return [(i, i + 1, NNBSP + mark)]

    def rule(flow: _Flow) -> Iterator[Edit]:
        text = flow.text
        if '"' not in text and not (french and (opening in text or closing in text)):
            return
        # A straight quote with no partner stays as typed (no lone «): the pairs are
        # found again without it, until every one left has its partner.
        unpaired: set[int] = set()
        for _ in range(4):
            edits, more = marks_of(flow, text, unpaired)
            if not more:
                break
            unpaired |= more
        yield from edits

    def marks_of(flow: _Flow, text: str, skip: set[int]) -> tuple[list[Edit], set[int]]:
        out: list[Edit] = []
        opened: list[int] = []  # where each straight quote still open is (-1: a typed mark)
        unpaired: set[int] = set()
        depth = 0
        floor, last = 0, ""  # where the last edit of this rule ends, and what it wrote
        for m in marks.finditer(text):
            i = m.start()
            if i in skip:
                continue
            mark = m.group()
            edits: list[Edit] = []
            if mark != '"':
                if mark in openers:
                    opened.append(-1)
                elif opened:
                    opened.pop()
                depth = depth + 1 if mark in openers else max(0, depth - 1)
                if french and mark == opening:
                    edits = after_opening(text, i, mark)
                elif french and mark == closing:
                    edits = before_closing(text, i, mark, floor, last)
            elif flow.allowed(i, i + 1):
                before = text[i - 1] if i > 0 else " "
                after = text[i + 1] if i + 1 < len(text) else " "
                # after an apostrophe too, straight or curly: '"Alfred"' is a quote in a quote (and
                # stays one once the apostrophe is curly: typeset is idempotent)
                opens_here = before.isspace() or before in _OPENERS or before in "'’"
                closes_here = after.isspace() or after in _CLOSERS
                # Clear from the neighbours ("x" y), else from what is open ("x"y" → closes).
                is_opening = opens_here if opens_here != closes_here else depth == 0
                if is_opening:
                    if depth == 0 and french:
                        edits = after_opening(text, i, opening)
                    else:
                        edits = [(i, i + 1, opening if depth == 0 else inner_opening)]
                    depth += 1
                    opened.append(i)
                elif not opened:
                    unpaired.add(i)  # closes what was never opened: as typed
                    continue
                else:
                    opened.pop()
                    depth = max(0, depth - 1)
                    if depth == 0 and french:
                        edits = before_closing(text, i, closing, floor, last)
                    else:
                        edits = [(i, i + 1, closing if depth == 0 else inner_closing)]
            if edits:
                floor, last = edits[-1][1], edits[-1][2]
                out += edits
        unpaired.update(i for i in opened if i >= 0)
        return out, unpaired

    return rule


def _fr_apostrophes(flow: _Flow) -> Iterator[Edit]:
    text = flow.text
    if "'" in text:
        for m in re.finditer("'", text):
            yield m.start(), m.end(), "’"


_ELIDED_YEAR = re.compile(r"'[0-9]{2}(?:s(?!\w)|(?![0-9\w]))")


def _en_apostrophes(flow: _Flow) -> Iterator[Edit]:
    # "don't", "States'" → ’; an opening single quote ('word) → ‘; but the elision of a
    # decade or year is an apostrophe: "the ’90s", "summer ’21".
    text = flow.text
    if "'" not in text:
        return
    for m in re.finditer("'", text):
        i = m.start()
        before = text[i - 1] if i > 0 else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        opening = (
            (before.isspace() or before in _OPENERS)
            and (_is_word(after) or after in '“"')  # '"Alfred"…' opens ‘“
            and not _ELIDED_YEAR.match(text, i)
        )
        yield i, i + 1, "‘" if opening else "’"


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
# Line breaking: what a line may not separate. A day from its month and a month from its
# year ("17 mai 2021", "May 17, 2021"), an abbreviation from its number ("Rev. 1",
# "p. 4"), a time from "a.m." ("8.30 a.m.") get U+00A0; the hyphen of an acronym joined to
# a word in capitals ("CEE-ONU", "ONU-Femmes", "ITU-T") becomes U+2011 NON-BREAKING
# HYPHEN. References such as "CL-22/006" stay as written (their right side is a number).
# typeset() applies all but the dates and the U+2011: formatting.py writes dates with
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
# work; a pass reads the text the passes before it made. "23h59" must become "23 h 59"
# before a range is looked for ("8h30-11h30"); an English apostrophe needs the quotes done.
def _build_passes(code: str, rules: TypographyRules) -> tuple[tuple[Rule, ...], ...]:
    apostrophes = _en_apostrophes if rules.elided_years else _fr_apostrophes
    passes: list[tuple[Rule, ...]]
    if rules.spacing == "french":
        passes = [
            (_fr_superscripts, _after_number(True), _fr_times, _fr_thousands),
            (
                _quotes(rules),
                apostrophes,
                _ellipsis,
                _fr_colon,
                _fr_semicolon_marks,
                _fr_numero,
                _currency_before,
                _number_ranges,
            ),
            (_keep_together(code, dates=False, hyphens=False), _plain_hyphens),
        ]
    else:
        passes = [
            (
                _quotes(rules),
                _ellipsis,
                _en_no_space_before_marks,
                _after_number(False),
                _currency_before,
                _number_ranges,
            ),
            (apostrophes, _keep_together(code, dates=False, hyphens=False), _plain_hyphens),
        ]
    script: list[Rule] = []
    if rules.no_break_before_dash:
        script.append(_no_break_before_dash)
    if rules.punctuation and rules.script:
        script.append(_script_punctuation(rules))
    if script:
        passes.append(tuple(script))
    if rules.no_space_between_letters and rules.script:
        passes.append((_no_space_between_letters(rules),))
    return tuple(passes)


_BUILT: dict[str, tuple[languages.Language, tuple[tuple[Rule, ...], ...]]] = {}


def _passes(lang: str) -> tuple[tuple[Rule, ...], ...]:
    # the language's typography (its language file's [typography]) makes its passes
    if not languages.is_known(lang):
        known = " or ".join(f'"{c}"' for c in languages.codes())
        raise ValueError(f"language {lang!r} is not supported: use {known}")
    language = languages.get(lang)
    built = _BUILT.get(lang)
    if built is None or built[0] is not language:
        built = (language, _build_passes(language.code, language.typography))
        _BUILT[lang] = built
    return built[1]


def typeset(text: str, lang: str) -> str:
    """Plain text with the micro-typography of ``lang``; idempotent.

    >>> typeset('Réf.: la 76^{ème} session, à 23h59 "au plus tard"', "fr")
    'Réf.\\xa0: la 76e session, à 23\\xa0h\\xa059 «\\u202fau plus tard\\u202f»'
    """
    passes = _passes(lang)
    text = str(text)
    flow = _Flow(text, _protected(text))
    for rules in passes:
        flow.apply(rules)
    return flow.text


# ---------------------------------------------------------------------------------------
# HTML: a tokenizer, not a parser. Only text and character references take part in the
# text; tags are kept byte for byte.

_HTML_TOKEN = re.compile(
    r"""
      <!--.*?(?:-->|\Z)                                   # comment
    | <!\[CDATA\[.*?(?:\]\]>|\Z)
    | <[!?][^>]*>?                                        # doctype, processing instruction
    | <(script|style|textarea)\b(?:[^>"']|"[^"]*"|'[^']*')*>.*?(?:</\1\s*>|\Z)
    | </?[A-Za-z][^\s/>]*(?:[^>"']|"[^"]*"|'[^']*')*>     # tag
    | &(?:[A-Za-z][A-Za-z0-9]*|\#[0-9]+|\#[xX][0-9A-Fa-f]+);
    """,
    re.DOTALL | re.IGNORECASE | re.VERBOSE,
)
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
_BLOCK_TAGS = frozenset(
    re.split(
        r"\s+",
        "address article aside base blockquote body br caption col colgroup dd details dialog "
        "div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 head header hr html "
        "li link main meta nav noscript ol option p pre section select summary table tbody td "
        "template tfoot th thead title tr ul",
    )
)
_SKIPPED_TAGS = frozenset({"pre", "code", "kbd", "samp"})
_RAW_TEXT_TAGS = frozenset({"script", "style", "textarea"})
_OBJECT = "\ufffc"  # stands for skipped content: a word, as far as the rules can tell

_TEXT, _ENTITY, _FIXED = 0, 1, 2  # kinds of token: text, character reference, kept as is


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@lru_cache(maxsize=4096)
def _classify(token: str) -> tuple[int, str, int]:
    """A tag's or reference's kind, its part in the text and how it moves the skip depth.

    A block tag is a line break as far as the rules can tell ("\\n"), an inline tag nothing
    (the text reads through ``<strong>``), an unknown reference a word (the object mark).
    """
    if token[0] == "&":
        char = _html.unescape(token)
        return (_FIXED, _OBJECT, 0) if char == token else (_ENTITY, char, 0)
    name_match = _TAG_NAME.match(token)
    name = name_match.group(1).lower() if name_match else ""
    skip = (-1 if token[1] == "/" else 1) if name in _SKIPPED_TAGS else 0
    if name in _BLOCK_TAGS or name in _RAW_TEXT_TAGS or token[1] in "!?":
        return _FIXED, "\n", skip
    return _FIXED, "", skip


def typeset_html(html: str | Markup, lang: str) -> Markup:
    """HTML whose text has the micro-typography of ``lang``; markup untouched; idempotent.

    >>> typeset_html('<p><a href="https://x.org/a:b">Objet</a>: "oui"</p>', "fr")
    Markup('<p><a href="https://x.org/a:b">Objet</a>\\xa0: «\\u202foui\\u202f»</p>')
    """
    passes = _passes(lang)
    source = str(html)
    kinds: list[int] = []  # per token: its kind, source text, part in the text and start
    raws: list[str] = []
    flows: list[str] = []
    bounds: list[int] = []
    guards: list[tuple[int, int]] = []  # tags that break a line, skipped content
    hard: list[int] = []  # inline tags and comments
    add_kind, add_raw, add_flow, add_bound = kinds.append, raws.append, flows.append, bounds.append
    position = 0
    skipping = 0  # depth inside <pre>, <code>...
    pos = 0
    size = len(source)
    for m in _HTML_TOKEN.finditer(source + "<!---->"):  # the empty comment ends the last text
        start, end = m.span()
        if start > pos:
            raw = source[pos:start]
            add_bound(position)
            add_raw(raw)
            if skipping:
                add_kind(_FIXED)
                add_flow(_OBJECT)
                guards.append((position, position + 1))
                position += 1
            else:
                add_kind(_TEXT)
                add_flow(raw)
                position += len(raw)
        pos = end
        if end > size:  # the end mark, or an unclosed comment or <script> that ate it
            if start < size:
                add_bound(position)
                add_raw(source[start:])
                add_kind(_FIXED)
                add_flow("")
                hard.append(position)
            break
        token = m.group()
        kind, part, skip = _classify(token)
        if skip:
            skipping = max(0, skipping + skip)
            if skipping and kind == _ENTITY:
                kind, part = _FIXED, _OBJECT
        elif skipping and kind == _ENTITY:
            kind, part = _FIXED, _OBJECT
        add_bound(position)
        add_raw(token)
        add_kind(kind)
        add_flow(part)
        if kind == _FIXED:
            if part:
                guards.append((position, position + len(part)))
            else:
                hard.append(position)
        position += len(part)
    add_bound(position)

    text = "".join(flows)
    flow = _Flow(text, guards + _protected(text), hard, bounds)
    for number, rules in enumerate(passes, 1):
        flow.apply(rules, final=number == len(passes))

    if flow.text == text:
        return Markup(source)
    out = raws[:]  # tags as they were; a text or reference that changed, escaped
    new_bounds, new_text = flow.bounds, flow.text
    for k, kind in enumerate(kinds):
        if kind != _FIXED:
            new = new_text[new_bounds[k] : new_bounds[k + 1]]
            if new != flows[k]:
                out[k] = _escape_text(new)
    return Markup("".join(out))
