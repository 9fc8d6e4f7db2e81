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

from dispatch.typography.markup import typeset_html
from dispatch.typography.passes import typeset
from dispatch.typography.together import (
    isolate_left_to_right,
    keep_together,
    text_part,
    unbroken_dates,
)

__all__ = [
    "isolate_left_to_right",
    "keep_together",
    "text_part",
    "typeset",
    "typeset_html",
    "unbroken_dates",
]
