"""HTML: :func:`typeset_html` types the text and keeps the markup."""

from __future__ import annotations

import html as _html
import re
from functools import lru_cache

from markupsafe import Markup

from dispatch.typography.flow import _Flow, _protected
from dispatch.typography.passes import _passes

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


_Tokens = tuple[list[int], list[str], list[str], list[int], list[tuple[int, int]], list[int]]


def _tokenize(source: str) -> _Tokens:
    """Per token: its kind, source text, part in the text and start; the guards and tags."""
    kinds: list[int] = []
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
    return kinds, raws, flows, bounds, guards, hard


def typeset_html(html: str | Markup, lang: str) -> Markup:
    """HTML whose text has the micro-typography of ``lang``; markup untouched; idempotent.

    >>> typeset_html('<p><a href="https://x.org/a:b">Objet</a>: "oui"</p>', "fr")
    Markup('<p><a href="https://x.org/a:b">Objet</a>\\xa0: «\\u202foui\\u202f»</p>')
    """
    passes = _passes(lang)
    source = str(html)
    kinds, raws, flows, bounds, guards, hard = _tokenize(source)

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
