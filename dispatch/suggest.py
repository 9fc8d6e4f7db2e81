"""A "did you mean" for a code or name typed slightly wrong (``SMTT`` for ``SMT``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """``" Did you mean SMT?"`` for the closest of ``choices``, or ``""`` if none is close.

    Case is ignored when comparing; the choice is returned as spelled.

    >>> did_you_mean("SMTT", ["SMT", "ANC", "PRESSE"])
    ' Did you mean SMT?'
    """
    close = closest(value, choices)
    return f" Did you mean {close}?" if close else ""


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``value`` (case ignored), as spelled, or None if none is close.

    >>> closest("tsb-35", ["tsb-352", "gala"])
    'tsb-352'
    """
    spelled = {choice.casefold(): choice for choice in choices}
    close = difflib.get_close_matches(value.casefold(), list(spelled), n=1, cutoff=0.6)
    return spelled[close[0]] if close else None
