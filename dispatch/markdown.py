"""Markdown of the mailing file, as HTML and as plain text, from the same tokens.

One markdown-it parser reads a paragraph once; :func:`to_html` and :func:`to_text` write
its tokens. So the text part of an e-mail says what the HTML says: an underscore in a
URL stays an underscore, a list keeps the numbers it was written with.

- Bare URLs (``https://…``, ``www.…``) typed in the mailing file become links (linkify).
- An ordered list keeps its numbers and their punctuation as written: ``1)`` stays
  ``1)``, a list that starts at 5 starts at 5, in the browser and in the PDF (WeasyPrint
  ignores ``<ol start>`` but honours ``<li value>``; the ``)`` is drawn by the
  ``ol.paren`` style, see :data:`LIST_STYLE`).
- In text, a link is its label with a numbered reference, ``site web [1]``, the
  addresses listed at the end of the letter (``Links:`` / ``Liens :``), as e-mail text
  parts do; a bare URL, or a link whose label is its address, stays inline as itself.
"""

from __future__ import annotations

import re
from collections.abc import MutableSequence, Sequence
from functools import cache
from itertools import pairwise

from markdown_it import MarkdownIt
from markdown_it.token import Token

from dispatch import languages

__all__ = ["LINKS_HEADING", "LIST_STYLE", "link_list", "to_html", "to_text"]

#: Headings of the list of links at the end of a text letter.
LINKS_HEADING = {code: languages.get(code).labels.links_heading for code in languages.built_in()}

#: The style that writes ``1)`` markers; ``to_html`` puts it on the lists that need it,
#: inline, so that an e-mail client and WeasyPrint both see it without a style sheet.
LIST_STYLE = "list-style-type: none; padding-left: 0"


@cache
def parser() -> MarkdownIt:
    # Raw HTML passes: the filters emit <sup> for ordinals. Values from the workbook are
    # already escaped (as entities) before the Markdown step, so they cannot inject tags,
    # and linkify sees only the URLs typed in the mailing file itself.
    md = MarkdownIt("commonmark", {"html": True, "linkify": True, "typographer": False})
    md.enable("linkify")
    return md


#: An item that carries its own label: "a) …", "(b) …", "iv. …", "12) …".
_OWN_LABEL = re.compile(r"\(?(?:[a-z]|[ivx]{1,5}|[0-9]{1,3})[.)]\s", re.IGNORECASE)

#: The style of a bullet list whose items carry their own labels: no bullet besides.
LABELLED_STYLE = "list-style-type: none; padding-left: 1.5em"


def _mark_labelled_lists(tokens: Sequence[Token]) -> None:
    """Mark (``meta["labelled"]``) each bullet list whose every item starts with its own
    label (``- a) …``): a bullet before ``a)`` would be a second marker."""
    opens: list[tuple[Token, list[bool]]] = []
    for i, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            opens.append((token, []))
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            opened, items = opens.pop()
            opened.meta["labelled"] = (
                opened.type == "bullet_list_open" and bool(items) and all(items)
            )
        elif token.type == "list_item_open" and opens:
            first = next((t for t in tokens[i + 1 :] if t.type not in ("paragraph_open",)), None)
            labelled = (
                first is not None
                and first.type == "inline"
                and bool(_OWN_LABEL.match(first.content))
            )
            opens[-1][1].append(labelled)


def _item_numbers(tokens: Sequence[Token]) -> None:
    """Give each ordered list item its number as written (``info``), or the next one."""
    counters: list[int] = []
    starts: list[int] = []
    for token in tokens:
        if token.type == "ordered_list_open":
            starts.append(int(str(token.attrGet("start") or 1)))
            counters.append(starts[-1] - 1)
        elif token.type == "ordered_list_close":
            counters.pop()
            starts.pop()
        elif token.type == "bullet_list_open":
            counters.append(-(10**9))  # a marker, not a counter
            starts.append(1)
        elif token.type == "bullet_list_close":
            counters.pop()
            starts.pop()
        elif token.type == "list_item_open" and counters and counters[-1] > -(10**9):
            written = token.info.strip()
            number = int(written) if written.isdigit() else counters[-1] + 1
            # Not the 1, 2, 3… a renderer counts by itself: say the number to the PDF too.
            token.meta["renumbered"] = number != counters[-1] + 1 or starts[-1] != 1
            counters[-1] = number
            token.meta["number"] = number


def to_html(source: str) -> str:
    """Markdown as HTML, ordered lists numbered as written.

    >>> print(to_html("5. five"))
    <ol start="5">
    <li value="5" style="counter-reset: list-item 5; counter-increment: none">five</li>
    </ol>
    """
    md = parser()
    tokens = md.parse(source)
    _item_numbers(tokens)
    _mark_labelled_lists(tokens)
    parens: list[bool] = []
    for token in tokens:
        if token.type == "bullet_list_open" and token.meta.get("labelled"):
            token.attrSet("class", "labelled")
            token.attrSet("style", LABELLED_STYLE)
        if token.type == "ordered_list_open":
            parens.append(token.markup == ")")
            if token.markup == ")":
                token.attrSet("class", "paren")
                token.attrSet("style", LIST_STYLE)
        elif token.type == "ordered_list_close":
            parens.pop()
        elif token.type == "list_item_open" and "number" in token.meta:
            number = token.meta["number"]
            if token.meta.get("renumbered"):
                token.attrSet("value", str(number))
                # WeasyPrint reads <li value> only with presentational hints: the same
                # rule as its own hint, inline, numbers the PDF as the browser does.
                token.attrSet(
                    "style", f"counter-reset: list-item {number}; counter-increment: none"
                )
        elif token.type == "inline":
            _https_for_www(token.children or [])
        if token.type == "inline" and parens and parens[-1] and _first_in_item(tokens, token):
            marker = Token("html_inline", "", 0)
            number = _item_of(tokens, token).meta["number"]
            marker.content = f'<span class="marker">{number})</span>\u00a0'
            token.children = [marker, *(token.children or [])]
    return str(md.renderer.render(tokens, md.options, {})).strip()


def _https_for_www(children: Sequence[Token]) -> None:
    """A typed ``www.…`` address links to ``https://`` (linkify's default is ``http://``)."""
    for child, following in pairwise(children):
        if child.type == "link_open" and child.markup == "linkify":
            href = str(child.attrGet("href") or "")
            if href.startswith("http://") and "://" not in following.content:
                child.attrSet("href", "https://" + href.removeprefix("http://"))


def _item_of(tokens: Sequence[Token], inline: Token) -> Token:
    index = tokens.index(inline)
    depth = 0
    for token in reversed(tokens[:index]):
        if token.type == "list_item_close":
            depth += 1
        elif token.type == "list_item_open":
            if depth == 0:
                return token
            depth -= 1
    raise ValueError("not in a list item")


def _first_in_item(tokens: Sequence[Token], inline: Token) -> bool:
    """Whether ``inline`` is the first text of a list item (where its marker goes)."""
    index = tokens.index(inline)
    for token in reversed(tokens[:index]):
        if token.type == "list_item_open":
            return True
        if token.type not in ("paragraph_open",):
            return False
    return False


def to_text(source: str, links: MutableSequence[str] | None = None) -> str:
    """Markdown as plain text: bullets as ``•``, numbers as written, links referenced.

    Each link's address is added to ``links`` (once) and shown as ``[n]`` after its
    label; without ``links``, the address follows the label in parentheses.

    >>> to_text("See the [site](https://example.org).")
    'See the site (https://example.org).'
    >>> refs: list[str] = []
    >>> to_text("1) the [site](https://example.org), https://x.org/a_b_c", refs), refs
    ('1) the site [1], https://x.org/a_b_c', ['https://example.org'])
    """
    tokens = parser().parse(source)
    _item_numbers(tokens)
    _mark_labelled_lists(tokens)
    writer = _TextWriter(links)
    for token in tokens:
        writer.take(token)
    return writer.text()


class _TextWriter:
    """The lines of :func:`to_text`, written token by token."""

    def __init__(self, links: MutableSequence[str] | None) -> None:
        self.links = links
        self.out: list[str] = []
        self.prefixes: list[str] = []  # the indentation of each open list or quote
        self.markers: list[str] = []  # the marker of each open list ("•", or ")" / ".")
        self.pending = ""  # a list marker waiting for the item's first line
        self.widths: list[int] = []  # the width of the marker of each open list item

    def take(self, token: Token) -> None:
        kind, out = token.type, self.out
        if kind in ("bullet_list_open", "ordered_list_open"):
            if not self.markers and out and out[-1] != "":
                out.append("")  # a blank line before a list, none before a nested one
            labelled = token.meta.get("labelled")
            self.markers.append(
                ("" if labelled else "•") if kind == "bullet_list_open" else token.markup
            )
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.markers.pop()
            if not self.markers:
                out.append("")
        elif kind == "list_item_open":
            self._open_item(token)
        elif kind == "list_item_close":
            if self.pending:  # an empty item
                out.append(_indent(self.prefixes, self.widths[:-1]) + self.pending.rstrip())
                self.pending = ""
            self.widths.pop()
        elif kind == "blockquote_open":
            self.prefixes.append("> ")
        elif kind == "blockquote_close":
            self.prefixes.pop()
        elif kind in ("paragraph_close", "heading_close"):
            if not token.hidden:
                out.append("")
        elif kind in ("inline", "code_block", "fence", "html_block"):
            self._block(token)
        elif kind == "hr":
            out += ["* * *", ""]

    def _open_item(self, token: Token) -> None:
        mark = self.markers[-1]
        if mark in ("•", ""):
            self.pending = "• " if mark else "  "  # an item with its own label: no bullet
        else:
            self.pending = f"{token.meta.get('number', 1)}{mark} "
        self.widths.append(len(self.pending))

    def _block(self, token: Token) -> None:
        kind = token.type
        if kind == "inline":
            body = _inline_text(token.children or [], self.links)
        elif kind == "html_block":
            body = _inline_text(parser().parseInline(token.content)[0].children or [], self.links)
        else:
            body = token.content.rstrip("\n")
        lines = body.split("\n")
        # An item's first line starts with its marker; the rest align under its text.
        widths = self.widths
        first = _indent(self.prefixes, widths[:-1] if self.pending else widths)
        self.out.append(first + self.pending + lines[0])
        self.out += [_indent(self.prefixes, widths) + line for line in lines[1:]]
        self.pending = ""

    def text(self) -> str:
        out = self.out
        while out and out[-1] == "":
            out.pop()
        return "\n".join(_squeeze(out)).strip()


def _indent(prefixes: list[str], widths: list[int]) -> str:
    return "".join(prefixes) + " " * sum(widths)


def _squeeze(lines: list[str]) -> list[str]:
    """No two blank lines in a row."""
    out: list[str] = []
    for line in lines:
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    return out


def _inline_text(children: Sequence[Token], links: MutableSequence[str] | None) -> str:
    parts: list[str] = []
    href: str | None = None
    label: list[str] = []
    auto = False
    for child in children:
        kind = child.type
        if kind == "link_open":
            href = str(child.attrGet("href") or "")
            auto = child.markup in ("linkify", "autolink")
            label = []
            continue
        if kind == "link_close":
            parts.append(_link(href or "", "".join(label), auto, links))
            href = None
            continue
        if kind in ("text", "code_inline"):
            text = child.content
        elif kind in ("softbreak", "hardbreak"):
            text = "\n"
        elif kind == "image":
            text = child.content or ""
        elif kind == "html_inline":
            text = "\n" if child.content.lower().startswith("<br") else ""
        else:
            text = ""
        (label if href is not None else parts).append(text)
    return "".join(parts)


def _link(href: str, label: str, auto: bool, links: MutableSequence[str] | None) -> str:
    shown = href.removeprefix("mailto:")
    if auto or not href or href == "#" or label in (href, shown):
        return label
    if links is None:
        return f"{label} ({shown})"
    if href not in links:
        links.append(href)
    return f"{label} [{links.index(href) + 1}]"


def link_list(links: Sequence[str], lang: str) -> str:
    """The references of a text letter, to put at its end.

    >>> print(link_list(["https://example.org"], "en"))
    Links:
    [1] https://example.org
    """
    if not links:
        return ""
    known = languages.get(lang) if languages.is_known(lang) else languages.default()
    heading = known.labels.links_heading
    return "\n".join([heading, *(f"[{i}] {url}" for i, url in enumerate(links, 1))])
