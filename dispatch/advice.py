"""Warnings about the words of a mailing that ``check`` shows: nothing here stops a run.

A letter can be valid and still say something wrong: an English closing written in the
mailing (``Yours faithfully,``) that contradicts the salutation of some letters (``Dear Dr
Solberg``), or a time zone named by the mailing (``EST``) that is not the zone's name on
the event's date (New York is on EDT on 20 September).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from dispatch.errors import Location, Problem
from dispatch.mailing import Mailing
from dispatch.render import Letter, salutation_of, yours

__all__ = ["closing_warnings", "letter_warnings", "zone_label_warnings"]

_CLOSES = ("Yours faithfully", "Yours sincerely")
#: The closings above are English words: this advice is about English letters only.
_ENGLISH = "en"  # language-literal: the advice is about the English formulas above


def closing_warnings(mailing: Mailing, letters: Sequence[Letter]) -> list[Problem]:
    """A fixed English closing that contradicts the salutation of some letters, with how many."""
    closing = mailing.closing
    if closing is None or not closing.has(_ENGLISH):
        return []
    source = closing.get(_ENGLISH)
    if not any(close in source for close in _CLOSES):
        return []  # "{{ yours }}," or a formula of its own
    wrong: dict[str, int] = {}
    for letter in letters:
        if letter.lang != _ENGLISH:
            continue
        salutation = salutation_of(mailing, letter.addressee, _ENGLISH)
        right = yours(salutation)
        other = next(c for c in _CLOSES if c != right)
        if other in source and right not in source:
            wrong[other] = wrong.get(other, 0) + 1
    return [
        Problem(
            Location(file=mailing.path, field="closing.en"),
            f'says "{close}" to {count} English letter{"s" if count > 1 else ""} whose '
            f'salutation calls for "{next(c for c in _CLOSES if c != close)}"',
            'Write closing.en = "{{ yours }}," (Yours sincerely to a named person, Yours '
            "faithfully to Dear Sir/Madam), or leave closing out for the template's own.",
            value=source,
        )
        for close, count in wrong.items()
    ]


def _abbreviation(zone: str, day: date, at: time | None) -> str:
    moment = datetime.combine(day, at or time(12), tzinfo=ZoneInfo(zone))
    return moment.tzname() or ""


def _zone_label_problem(
    field: str, mailing: Mailing, zone: str, label: str, day: date, at: time | None
) -> Problem | None:
    actual = _abbreviation(zone, day, at)
    if not label.strip().isupper() or not actual.isalpha() or label.strip() == actual:
        return None
    return Problem(
        Location(file=mailing.path, field=field),
        f"names the time {label.strip()}, but {zone} is on {actual} on {day.isoformat()}: the "
        f"letter would say one hour and the calendar (.ics) another",
        f"Write {actual}, or let the time_range filter name the zone (zone=event.zone, "
        f'on=event.start, compact=true prints "{actual}" on that date); see the README, '
        '"Time zones".',
        value=label,
    )


def zone_label_warnings(mailing: Mailing) -> list[Problem]:
    """A zone the mailing names (``zone_label``, or ``EST`` written in a text after a time)
    that is not the zone's abbreviation on the event's or deadline's date."""
    found: list[Problem] = []
    event = mailing.event
    if event is not None:
        labels = [("event.zone_label", event.zone_label)] if event.zone_label else []
        labels += _written_labels(mailing, event.timezone, event.start)
        for field, label in labels:
            problem = _zone_label_problem(
                field, mailing, event.timezone, label or "", event.start, event.start_time
            )
            if problem is not None:
                found.append(problem)
    deadline = mailing.deadline
    if deadline is not None and deadline.zone_label:
        problem = _zone_label_problem(
            "deadline.zone_label",
            mailing,
            deadline.timezone,
            deadline.zone_label,
            deadline.date,
            deadline.time,
        )
        if problem is not None:
            found.append(problem)
    return found


def _zone_abbreviations(zone: str, year: int) -> set[str]:
    """The abbreviations a zone goes by in a year (``EST`` and ``EDT`` for New York)."""
    names = set()
    for month in range(1, 13):
        name = datetime(year, month, 1, 12, tzinfo=ZoneInfo(zone)).tzname() or ""
        if name.isalpha():
            names.add(name)
    return names


def _written_labels(mailing: Mailing, zone: str, day: date) -> list[tuple[str, str]]:
    """The zone's abbreviations written as words in the mailing's texts (``… 11 h 30 EST``)."""
    names = _zone_abbreviations(zone, day.year)
    if not names:
        return []
    word = re.compile(rf"(?<![\w-])({'|'.join(sorted(names))})(?![\w-])")
    found: list[tuple[str, str]] = []
    texts = [("subject", mailing.subject)]
    texts += [(f"body.{key}", text) for key, text in mailing.body.items()]
    texts += [
        (f"annexes[{i}].content", annex.content)
        for i, annex in enumerate(mailing.annexes)
        if annex.content is not None
    ]
    for field, text in texts:
        for lang in mailing.languages:
            if text.has(lang):
                for m in word.finditer(text.get(lang)):
                    if not any(f == field and label == m.group(1) for f, label in found):
                        found.append((field, m.group(1)))
    return found


def letter_warnings(mailing: Mailing, letters: Sequence[Letter]) -> list[Problem]:
    """Every warning of this module for a mailing and its letters."""
    return zone_label_warnings(mailing) + closing_warnings(mailing, letters)
