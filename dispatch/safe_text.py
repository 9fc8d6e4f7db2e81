"""Text that came from outside, made safe to show on a terminal.

A bounce's diagnostic, a workbook cell, a server's reply, a file name, a name given
with ``--by``: any of them may hold control characters, and a terminal obeys them.
ESC starts sequences that set the window title (``ESC ] 0 ; … BEL``), write the
clipboard (OSC 52), clear the screen (``ESC [ 2 J``) or hide what follows; the C1
controls (U+0080 to U+009F: U+009B is CSI in one character) do the same on the
terminals that read them; a carriage return writes over the start of the line; bidi
overrides show text in another order than it is; a lone surrogate (a byte that was not
UTF-8, kept by ``surrogateescape``) cannot even be written out.

:func:`terminal_safe` shows each of these characters as its escape (``\\x1b``,
``\\x9b``, ``\\u202e``), as git and less show them, so the text is shown whole and
nothing in it acts on the terminal. It is pure text work: the command line escapes
Rich markup on top of it (or prints the result as plain text).

>>> terminal_safe("Jane\\x1b]0;pwned\\x07 Doe")
'Jane\\\\x1b]0;pwned\\\\x07 Doe'
>>> terminal_safe("line one\\r\\nline two", lines=True)
'line one\\nline two'
>>> terminal_safe("line one\\nline two")
'line one\\\\nline two'
"""

from __future__ import annotations

__all__ = ["terminal_safe"]


def _escaped(code: int) -> str:
    return chr(code).encode("unicode_escape").decode("ascii")


_CONTROLS = [
    *range(0x00, 0x20),  # C0: ESC, BEL, BS, CR, LF, TAB, ...
    0x7F,  # DEL
    *range(0x80, 0xA0),  # C1: CSI (U+009B), OSC (U+009D), NEL (U+0085), ...
    0x2028,  # line and paragraph separators: a line break in some terminals
    0x2029,
    *range(0x202A, 0x202F),  # bidi embeddings and overrides
    *range(0x2066, 0x206A),  # bidi isolates
    *range(0xD800, 0xE000),  # lone surrogates: bytes that were not UTF-8 (surrogateescape)
]
#: One line: every control character as its escape.
_ONE_LINE = {code: _escaped(code) for code in _CONTROLS}
#: Several lines: line breaks and tabs are kept, the rest as for one line.
_LINES = {code: shown for code, shown in _ONE_LINE.items() if chr(code) not in "\n\t"}


def terminal_safe(value: object, *, lines: bool = False) -> str:
    """``value`` as text with every control character shown as its escape.

    With ``lines``, line breaks (``\\n``, and ``\\r\\n`` as ``\\n``) and tabs are kept,
    for a text of several lines; otherwise they are escaped too, so that a value
    shown on one line stays on one line.
    """
    text = value if isinstance(value, str) else str(value)
    if lines:
        return text.replace("\r\n", "\n").translate(_LINES)
    return text.translate(_ONE_LINE)
