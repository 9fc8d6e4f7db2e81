"""Quotes and apostrophes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dispatch.languages import TypographyRules
from dispatch.typography.flow import (
    _BARE_AFTER_OPENING,
    _CLOSERS,
    _OPENERS,
    NNBSP,
    Edit,
    Rule,
    _Flow,
    _is_word,
    _spaces_after,
    _spaces_before,
)


def _quotes(rules: TypographyRules) -> Rule:
    """Straight double quotes to the language's own, nested quotes to the inner pair.

    With French spacing the rule also puts a narrow no-break space inside every ``« »``,
    typed or made here, in place of the spaces that were there (none at a line's end or
    start).
    """
    return _Quotes(rules)


class _Quotes:
    """The rule :func:`_quotes` makes, with the marks of the language's rules."""

    def __init__(self, rules: TypographyRules) -> None:
        french = rules.spacing == "french"
        opening, closing, inner_opening, inner_closing = rules.quotes
        typed = {opening, closing} | ({inner_opening, inner_closing} if french else set())
        typed -= {"‘", "’", "'"}  # an apostrophe is no quote
        self.marks = re.compile('["' + "".join(sorted(re.escape(m) for m in typed)) + "]")
        self.openers = {opening} | ({inner_opening} if french else set())
        self.french, self.opening, self.closing = french, opening, closing
        self.inner_opening, self.inner_closing = inner_opening, inner_closing

    # A narrow no-break space inside « », in place of the spaces there; none before a line's
    # end, nor before punctuation that another rule spaces. The mark and the spaces are two
    # edits, so that spaces on the far side of a tag do not keep the mark from changing.
    @staticmethod
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

    @staticmethod
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

    def __call__(self, flow: _Flow) -> Iterator[Edit]:
        text = flow.text
        french, opening, closing = self.french, self.opening, self.closing
        if '"' not in text and not (french and (opening in text or closing in text)):
            return
        # A straight quote with no partner stays as typed (no lone «): the pairs are
        # found again without it, until every one left has its partner.
        unpaired: set[int] = set()
        for _ in range(4):
            edits, more = self.marks_of(flow, text, unpaired)
            if not more:
                break
            unpaired |= more
        yield from edits

    def marks_of(self, flow: _Flow, text: str, skip: set[int]) -> tuple[list[Edit], set[int]]:
        french, opening, closing = self.french, self.opening, self.closing
        inner_opening, inner_closing = self.inner_opening, self.inner_closing
        marks, openers = self.marks, self.openers
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
                    edits = self.after_opening(text, i, mark)
                elif french and mark == closing:
                    edits = self.before_closing(text, i, mark, floor, last)
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
                        edits = self.after_opening(text, i, opening)
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
                        edits = self.before_closing(text, i, closing, floor, last)
                    else:
                        edits = [(i, i + 1, closing if depth == 0 else inner_closing)]
            if edits:
                floor, last = edits[-1][1], edits[-1][2]
                out += edits
        unpaired.update(i for i in opened if i >= 0)
        return out, unpaired


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
