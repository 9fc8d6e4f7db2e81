"""The letter's HTML made into e-mail HTML: the HTML part of a message.

The letter's HTML is made for the PDF: its ``<style>`` holds the print stylesheet
(``@page`` rules, WeasyPrint's paged media, comments about the templates), 8 KB of a
13 KB message that no e-mail client uses, and many clients (Gmail in some views, Outlook)
ignore ``<style>`` anyway. :func:`email_html` therefore

1. drops the letter's ``<style>`` and ``<link rel=stylesheet>`` elements, its scripts, the
   letterhead's logo (a ``data:`` image many clients block: the head stays as text) and
   every HTML comment (the HTML is read with :mod:`html.parser`, not with patterns, so a
   ``<!--`` inside an attribute or in the text is not mistaken for a comment);
2. declares the page for phones and dark mode (``viewport``, ``color-scheme: light dark``);
3. applies ``templates/email.css`` as ``style`` attributes, with css-inline (a CSS
   inliner with a real HTML parser and selector engine), keeping only its ``@media``
   rules in a ``<style>`` element;
4. gives the letter the fonts its language file names (``fonts``) when ``email.css``
   does not name them itself (it names those of dispatch's languages, with the fonts
   readers' systems have): a language added by a mailing is shown in its own fonts.

The result is a pure function of its input: the same letter gives the same bytes.

>>> "@page" in email_html('<html><head><style>@page { size: A4 }</style></head>'
...                       '<body><p>Madame,</p></body></html>')
False
"""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser

import css_inline

from dispatch import languages
from dispatch.resources import TEMPLATES

__all__ = ["EMAIL_CSS", "email_html"]

#: The e-mail stylesheet shipped with the default templates (package data: the same
#: file in a checkout and in an installed wheel).
EMAIL_CSS = TEMPLATES / "email.css"

_HEAD = (
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<meta name="color-scheme" content="light dark">'
    '<meta name="supported-color-schemes" content="light dark">'
)


def _is_logo(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    """The letterhead's logo: a ``data:`` image that many clients block (Gmail, Outlook),
    so the e-mail shows the letterhead as text (the organisation's and unit's lines)."""
    return tag == "img" and any(
        k == "class" and "letterhead-logo" in (v or "").split() for k, v in attrs
    )


_TABLE = '<table role="presentation" class="{}" cellpadding="0" cellspacing="0" border="0">'
_VOID = frozenset(
    "area base br col embed hr img input link meta source track wbr".split()  # noqa: SIM905
)


def _classes(attrs: list[tuple[str, str | None]]) -> list[str]:
    return next((v or "" for k, v in attrs if k == "class"), "").split()


def _as_table(tag: str, classes: list[str], parent: str) -> tuple[str, str] | None:
    """The table markup (start, end) that stands for an element laid out by floats in the
    letter: Outlook's Word engine ignores floats, and a client that drops ``<style>`` ran
    "Réf. :" into its value and a paragraph's number into its text.

    ``dl.reference``/``dl.contact``: a label and its value, side by side, a row each;
    ``.numbered``: the paragraph's number beside its text.
    """
    if tag == "dl" and ("reference" in classes or "contact" in classes):
        return _TABLE.format(" ".join(classes)), "</table>"
    if parent == "dl-table" and tag == "dt":
        return '<tr><td class="dt" valign="top">', "</td>"
    if parent == "dl-table" and tag == "dd":
        return '<td class="dd" valign="top">', "</td></tr>"
    if tag == "div" and "numbered" in classes:
        return _TABLE.format("numbered") + "<tr>", "</tr></table>"
    if parent == "numbered" and "num" in classes:
        return '<td class="num" valign="top">', "</td>"
    if parent == "numbered" and "text" in classes:
        return '<td class="text" valign="top">', "</td>"
    return None


class _Strip(HTMLParser):
    """Echoes HTML as written, less comments, style sheets and scripts; adds the meta tags
    and the e-mail stylesheet at the start of ``<head>``; lays out with tables what the
    letter lays out with floats (see :func:`_as_table`)."""

    def __init__(self, head: str) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.head = head
        self.skipping: str | None = None  # inside <style> or <script>: drop their text
        # per open element: its tag, the end tag to write, what its children are in
        self.open: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skipping = tag
            return
        if tag == "link" and any(k == "rel" and "stylesheet" in (v or "") for k, v in attrs):
            return
        if _is_logo(tag, attrs):
            return
        if tag in _VOID:
            self.out.append(self.get_starttag_text() or "")
            return
        classes = _classes(attrs)
        parent = self.open[-1][2] if self.open else ""
        table = _as_table(tag, classes, parent)
        if table is None:
            self.out.append(self.get_starttag_text() or "")
            self.open.append((tag, f"</{tag}>", ""))
        else:
            self.out.append(table[0])
            kind = "dl-table" if tag == "dl" else "numbered" if "numbered" in classes else ""
            self.open.append((tag, table[1], kind))
        if tag == "head" and self.head:
            self.out.append(self.head)
            self.head = ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link" and any(k == "rel" and "stylesheet" in (v or "") for k, v in attrs):
            return
        if _is_logo(tag, attrs):
            return
        self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == self.skipping:
            self.skipping = None
            return
        if not any(name == tag for name, _, _ in self.open):
            self.out.append(f"</{tag}>")  # a stray end tag: as written
            return
        while self.open:  # elements left open inside it end with it, as a browser ends them
            name, end, _ = self.open.pop()
            self.out.append(end)
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.skipping is None:
            self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")

    def handle_comment(self, data: str) -> None:
        pass  # comments are dropped

    def handle_pi(self, data: str) -> None:
        pass  # processing instructions have no place in HTML either

    def unknown_decl(self, data: str) -> None:
        pass  # <![CDATA[…]]>: not HTML


def _stripped(html: str, head: str) -> str:
    parser = _Strip(head)
    parser.feed(html)
    parser.close()
    text = "".join(parser.out)
    if parser.head:  # no <head>: the HTML parser of the inliner puts these into one
        text = parser.head + text
    return text


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    # No network: a letter's HTML names no remote stylesheet, and must not make the
    # inliner fetch one.
    return css_inline.CSSInliner(
        inline_style_tags=True,
        keep_style_tags=False,
        keep_link_tags=False,
        keep_at_rules=True,
        load_remote_stylesheets=False,
    )


def email_html(html: str, css: str | None = None) -> str:
    """``html`` (a letter) as e-mail HTML: no print stylesheet, no comments, ``css``
    (default: ``templates/email.css``) inlined, its ``@media`` rules kept in ``<style>``."""
    if css is None:
        css = _default_css()
    head = f"{_HEAD}<style>{css}{_language_fonts(html, css)}</style>"
    # The inliner keeps the at-rules in a <style> of their own, without the comments.
    inlined: str = _inliner().inline(_stripped(html, head))
    return inlined


_LANG = re.compile(r'<html\b[^>]*\blang="([A-Za-z]+)', re.IGNORECASE)


def _language_fonts(html: str, css: str) -> str:
    """A rule giving the letter the fonts of its language file, after ``css``'s own, if
    ``css`` does not name them all already ("" if it does, or the file names none).

    >>> _language_fonts('<html lang="fr">', 'p { font-family: "Liberation Serif" }')
    ''
    """
    found = _LANG.search(html)
    code = found.group(1).lower() if found else ""
    if not languages.is_known(code):
        return ""
    fonts = languages.get(code).fonts
    if all(f'"{font}"' in css or f"'{font}'" in css for font in fonts):
        return ""
    families = ", ".join(f'"{font}"' for font in fonts)
    return f'\n.letter, .letter[lang="{code}"] {{ font-family: {families}, serif; }}\n'


@lru_cache(maxsize=1)
def _default_css() -> str:
    return EMAIL_CSS.read_text(encoding="utf-8")
