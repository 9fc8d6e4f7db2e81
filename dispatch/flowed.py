"""Plain text as ``format=flowed`` (RFC 3676, ``DelSp=no``): short lines that reflow.

A letter's text has long paragraphs; an e-mail's text/plain lines should be at most 78
characters (RFC 5322), and a phone should still be able to rejoin them. With
``format=flowed`` a line that ends with a space is *soft*: the reader joins it to the
next one. A line that does not is *hard*: a break the letter wrote.

:func:`flow` wraps each line of the letter at spaces, never elsewhere: a URL, an e-mail
address or a word joined by no-break spaces (``8 h 30``, ``CEE-ONU``) is never cut, and a
word longer than the line stays whole on a line of its own. A line that would start with
a space, ``From `` or ``>`` is *space-stuffed* (one space in front), so that no reader
takes it for a quotation or an mbox separator. :func:`unflow` reads such text back.

>>> flow("Réf. : TSB 352\\n\\nMadame, Monsieur,", width=10)
'Réf. : \\nTSB 352\\n\\nMadame, \\nMonsieur,'
>>> unflow(_)
'Réf. : TSB 352\\n\\nMadame, Monsieur,'
"""

from __future__ import annotations

import re

__all__ = ["WIDTH", "flow", "unflow"]

#: RFC 5322 2.1.1: lines SHOULD be at most 78 characters, without the CRLF.
WIDTH = 78

# A word and the spaces after it: the units a line is made of. Only U+0020 separates
# words; no-break spaces (U+00A0, U+202F) belong to the word, so they never break.
_TOKEN = re.compile(r" *[^ ]+ *| +")


def _needs_stuffing(line: str) -> bool:
    return line.startswith((" ", "From ", ">"))


def _wrap(line: str, width: int) -> list[str]:
    """One hard line as soft lines: every one but the last ends with a space."""
    tokens = _TOKEN.findall(line)
    lines: list[str] = []
    current = ""
    for token in tokens:
        if current and len(current) + len(token) > width - _needs_stuffing(current):
            lines.append(current)
            current = token
        else:
            current += token
    lines.append(current)
    return lines


def flow(text: str, width: int = WIDTH) -> str:
    """``text`` as format=flowed lines (``\\n``-separated) of at most ``width`` characters.

    Each line of ``text`` is a hard break and stays one; the spaces at its end are
    dropped (RFC 3676 4.2: a hard line must not end with a space). A line is longer than
    ``width`` only when a single word is.
    """
    out: list[str] = []
    for hard in text.split("\n"):
        hard = hard.rstrip(" ")
        for line in _wrap(hard, width) if hard else [""]:
            out.append(" " + line if _needs_stuffing(line) else line)
    return "\n".join(out)


def _quote_depth(line: str) -> tuple[int, str]:
    depth = len(line) - len(line.lstrip(">"))
    return depth, line[depth:]


def unflow(text: str) -> str:
    """The paragraphs of format=flowed ``text`` (``DelSp=no``), soft breaks joined.

    Quoted lines (``>``) are joined only to lines of the same depth, as RFC 3676 4.5
    says; the ``-- `` signature separator is a hard line although it ends in a space.
    """
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for raw in text.split("\n"):
        raw = raw.removesuffix("\r")
        depth, line = _quote_depth(raw)
        line = line.removeprefix(" ")  # space-stuffing (4.4), after any quote marks
        if pending is not None and depth != pending_depth:
            out.append(">" * pending_depth + pending)  # a quote depth change ends it
            pending = None
        joined = line if pending is None else pending + line
        if line.endswith(" ") and line != "-- ":
            pending, pending_depth = joined, depth
        else:
            out.append(">" * depth + joined)
            pending = None
    if pending is not None:
        out.append(">" * pending_depth + pending)
    return "\n".join(out)
