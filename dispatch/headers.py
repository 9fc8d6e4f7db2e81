"""Header lines folded to the standards: RFC 5322 line lengths, RFC 2047 encoded words.

Why not the :mod:`email` package's own folder: Python 3.11's folder drops the space
after a word ending in a narrow no-break space when it folds an encoded subject (cpython
gh-144156: "durables » (réunion" arrived as "durables »(réunion"). Letting it fold only
past 998 characters avoided the bug but gave one encoded word of 188 characters (RFC 2047
allows 75) and a 32 796-byte ``To:`` line for a long name (RFC 5322 allows 998).

So the values a letter puts in headers (its subject and the display names of From, To
and Cc) are folded here, with rules simple enough to check:

- a value that is plain, printable ASCII is written as it is and folded at its spaces;
- any other value becomes a run of RFC 2047 encoded words, UTF-8, ``Q`` or ``B``
  (whichever is shorter for that value), each of at most 75 characters and each holding
  whole characters: a word is never cut inside a character, and the reader joins the
  words back without the folding whitespace between them (RFC 2047 6.2);
- every line is at most 78 characters, unless an address alone is longer; never more
  than 998.

>>> fold("Subject", "Réunion U4SSC")
'Subject: =?utf-8?q?R=C3=A9union_U4SSC?=\\r\\n'
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

__all__ = ["LINE", "WORD", "encoded_words", "fold", "fold_addresses"]

#: RFC 5322 2.1.1: at most 78 characters a line, without the CRLF (998 is the hard limit).
LINE = 78
#: RFC 2047 2: an encoded word is at most 75 characters.
WORD = 75

_PREFIX = "=?utf-8?"
# Q in a phrase (RFC 2047 5(3)) allows only these as themselves; stricter than in
# unstructured text, so one encoder serves both. "_" stands for a space.
_Q_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
# RFC 5322 atext: a display name made only of these (and single spaces) needs no quotes.
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


def _q(char: str) -> str:
    if char in _Q_SAFE:
        return char
    if char == " ":
        return "_"
    return "".join(f"={byte:02X}" for byte in char.encode("utf-8"))


def _b_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


def encoded_words(value: str, first: int = WORD, rest: int = WORD) -> list[str]:
    """``value`` as RFC 2047 encoded words: the first at most ``first`` characters long,
    the others at most ``rest`` (never more than 75); each holds whole characters.

    >>> encoded_words("Zoé")
    ['=?utf-8?q?Zo=C3=A9?=']
    """
    q = [_q(c) for c in value]
    utf8 = [c.encode("utf-8") for c in value]
    use_q = sum(map(len, q)) <= _b_length(sum(map(len, utf8)))
    overhead = len(_PREFIX) + len("q??=")
    limit = min(first, WORD)
    words: list[str] = []
    start = 0
    size = 0  # the encoded length of value[start:i]: Q characters, or UTF-8 bytes for B
    for i in range(len(value)):
        cost = len(q[i]) if use_q else len(utf8[i])
        grown = size + cost if use_q else _b_length(size + cost)
        if i > start and overhead + grown > limit:
            words.append(_word(use_q, q, utf8, start, i))
            limit = min(rest, WORD)
            start, size = i, 0
        size += cost
    if start < len(value) or not words:
        words.append(_word(use_q, q, utf8, start, len(value)))
    return words


def _word(use_q: bool, q: list[str], utf8: list[bytes], start: int, end: int) -> str:
    if use_q:
        return f"{_PREFIX}q?{''.join(q[start:end])}?="
    payload = base64.b64encode(b"".join(utf8[start:end])).decode("ascii")
    return f"{_PREFIX}b?{payload}?="


def _join(name: str, tokens: Sequence[str]) -> str:
    """``Name:`` and the tokens, one space apart; a line breaks (CRLF before the space)
    before a token that would take it past 78 characters."""
    lines: list[str] = []
    line = f"{name}:"
    for i, token in enumerate(tokens):
        if i > 0 and len(line) + 1 + len(token) > LINE:
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def _plain_unstructured(name: str, value: str) -> list[str] | None:
    """The words of ``value`` if it can be written as it is and folded at single spaces."""
    if not _PRINTABLE.fullmatch(value) or "=?" in value or value != value.strip(" "):
        return None
    words = value.split(" ")
    if "" in words:  # two spaces in a row: a fold there would be read back as one
        return None
    if len(name) + 2 + len(words[0]) > LINE or any(len(w) + 1 > LINE for w in words):
        return None
    return words


@lru_cache(maxsize=1024)
def fold(name: str, value: str) -> str:
    """``Name: value`` for an unstructured header (Subject), folded, CRLF-terminated."""
    if not value:
        return f"{name}:\r\n"
    words = _plain_unstructured(name, value)
    if words is None:
        words = encoded_words(value, first=LINE - len(name) - 2, rest=LINE - 1)
    return _join(name, words)


def _display_name(display: str, first: int) -> list[str]:
    """The tokens of a display name: atoms, a quoted string, or atoms and encoded words.

    The words of the name that are plain atoms stay as they are; each run of the others
    (with the spaces inside it) becomes encoded words. A space between an atom and an
    encoded word is read back as a space by every reader, while the space between two
    adjacent encoded words is dropped (RFC 2047 6.2) by mail clients but kept by
    Python 3.11's parser (cpython gh-128110): so encoded words follow one another only
    when one run of the name needs more than one.
    """
    if not display:
        return []
    words = display.split(" ")

    def plain(word: str) -> bool:
        return bool(_ATOM.fullmatch(word)) and "=?" not in word and len(word) <= first

    if all(plain(w) for w in words) and len(words[0]) <= first:
        return words
    if _PRINTABLE.fullmatch(display) and "=?" not in display:
        quoted = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if len(quoted) <= first:
            return [quoted]
    tokens: list[str] = []
    run: list[str] = []
    for word in [*words, None]:
        if word is not None and not plain(word):
            run.append(word)
            continue
        if run:
            limit = first if not tokens else LINE - 1
            tokens += encoded_words(" ".join(run), first=limit, rest=LINE - 1)
            run = []
        if word is not None:
            tokens.append(word)
    return tokens


def fold_addresses(name: str, mailboxes: Iterable[tuple[str, str]]) -> str:
    """``Name: Display <address>, …`` (From, To, Cc), folded, CRLF-terminated.

    ``mailboxes`` are (display name, address) pairs; an empty display name gives the bare
    address. The address is kept whole: a line is longer than 78 only when an address is.
    """
    tokens: list[str] = []
    for display, address in mailboxes:
        if tokens:
            tokens[-1] += ","
        first = LINE - len(name) - 2 if not tokens else LINE - 1
        words = _display_name(display, first)
        tokens += words
        tokens.append(f"<{address}>" if words else address)
    return _join(name, tokens)
