"""The text being typeset (its characters, the spans no rule may touch) and the helpers
the rules share."""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator

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
