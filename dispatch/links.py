"""Bare web addresses of a letter's HTML made into links, in the PDF and the e-mail alike.

Markdown links the addresses typed in a paragraph, but an address a placeholder puts there
(``{{ event.links.meeting }}``) is text by design (a value never becomes markup), and a
template may print one too: the letter then showed addresses a reader could not click.
:func:`link_bare_urls` links every ``https://…``, ``http://…`` and ``www.…`` address of
the body's text that is not already in a link; a ``www.`` address links to ``https://``.
The link's words are its address, so nothing a reader does not see is added.

>>> link_bare_urls("<body><p>See www.wsis.org/forum.</p></body>")
'<body><p>See <a href="https://www.wsis.org/forum">www.wsis.org/forum</a>.</p></body>'
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable

__all__ = ["link_bare_urls", "url_target"]

_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|title|textarea)\b[^>]*>.*?(?:</\1\s*>|\Z)|<[^>]*>?",
    re.DOTALL | re.IGNORECASE,
)
_A_OPEN = re.compile(r"<a\b", re.IGNORECASE)
_A_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)
_BODY = re.compile(r"<body\b", re.IGNORECASE)
# An address: its scheme or "www.", then up to a space, a quote or a tag; never ending on
# the punctuation of the sentence around it.
_URL = re.compile(
    r"(?<![\w@/.-])(?:https?://|www\.)[^\s<>\"'«»“”]*[^\s<>\"'«»“”.,;:!?)\]}’]", re.IGNORECASE
)


def url_target(url: str) -> str:
    """Where an address goes: itself, or ``https://`` + it for ``www.…``."""
    return url if "://" in url else f"https://{url}"


def link_bare_urls(html: str, unlinked: Iterable[str] = ()) -> str:
    """``html`` with each bare address of its body's text made a link to itself.

    ``unlinked``: texts whose addresses stay text, the workbook's values (a cell is
    never markup: an organisation named ``[click here](https://evil.example)`` is shown,
    not linked).
    """
    start = _BODY.search(html)
    if start is None or ("://" not in html and "www." not in html.lower()):
        return html
    untouchable = [t for v in unlinked if v for t in (v, _html.escape(v, quote=False))]

    def _link(m: re.Match[str]) -> str:
        url = m.group()
        if any(url in text for text in untouchable):
            return url
        return f'<a href="{url_target(url)}">{url}</a>'

    out = [html[: start.start()]]
    pos = start.start()
    depth = 0  # inside <a>
    for m in _TOKEN.finditer(html, pos):
        if m.start() > pos:
            text = html[pos : m.start()]
            out.append(text if depth else _URL.sub(_link, text))
        token = m.group()
        if _A_OPEN.match(token):
            depth += 1
        elif _A_CLOSE.match(token):
            depth = max(0, depth - 1)
        out.append(token)
        pos = m.end()
    text = html[pos:]
    out.append(text if depth else _URL.sub(_link, text))
    return "".join(out)
