"""Numbers as every output of a run writes them: the terminal, the preview and messages.

One style, whatever the locale: ``9 783``, thousands apart with a space that never
breaks a line (U+00A0), as French and English typography both accept; never ``9783``
in one place and ``9,783`` in another.
"""

from __future__ import annotations

__all__ = ["number"]


def number(n: int) -> str:
    """``9 783`` (with U+00A0): thousands apart with a space that never breaks a line.

    >>> number(9783) == "9\\u00a0783"
    True
    """
    return f"{n:,}".replace(",", "\u00a0")
