"""Errors that say where and what to do.

Every error dispatch raises on purpose derives from :class:`DispatchError`. Bad input
(workbook, mailing file, templates, annexes) is collected as :class:`Problem` values,
each carrying its location, so that a user can fix everything in one pass; they are
raised together as an :class:`InvalidInput` (exit code 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, time
from pathlib import Path
from typing import Any

from dispatch.safe_text import terminal_safe


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file and, as far as known, sheet, row, column, line, field."""

    file: str | Path | None = None
    sheet: str | None = None
    row: int | None = None  # as Excel numbers it (the header is row 1)
    column: str | None = None  # the column's header as the user wrote it
    line: int | None = None  # in a template or text file
    field: str | None = None  # a dotted path in the mailing file

    def __str__(self) -> str:
        return self.describe()

    def describe(self, rows: str | None = None) -> str:
        """The location as a message starts; ``rows`` in place of its row (a range)."""
        parts: list[str] = []
        if self.file is not None:
            parts.append(Path(self.file).name if isinstance(self.file, Path) else str(self.file))
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet}")
        if rows is not None:
            parts.append(rows)
        elif self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f'column "{self.column}"')
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field is not None:
            parts.append(f"field {self.field}")
        return ", ".join(parts)


_NO_VALUE = object()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where, the value found, what is wrong, what to do."""

    where: Location
    message: str
    hint: str = ""
    value: Any = _NO_VALUE
    warning: bool = False

    def __str__(self) -> str:
        text = str(self.where)
        head = f"{text}: " if text else ""
        shown = "" if self.value is _NO_VALUE else f"{_show(self.value)} "
        body = f"{shown}{self.message}" if shown else self.message
        tail = f" {self.hint}" if self.hint else ""
        return (
            f"{head}{body}.{tail}" if not body.endswith((".", "?", "!")) else f"{head}{body}{tail}"
        )


def _show(value: Any) -> str:
    """A value as a message quotes it: one line, no terminal escapes, at most 80 characters."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (date, time, int, float)):  # datetime is a date
        text = str(value)
    else:
        text = repr(value)
    # A cell may hold line breaks, ESC sequences or bidi overrides: show them as escapes,
    # so one problem stays one line and nothing in a value can drive the terminal.
    text = terminal_safe(text)
    if len(text) > 80:
        text = text[:77] + "…"
    return '""' if text == "" else f'"{text}"'


def quoted(value: Any) -> str:
    """An outside value inside a message: in double quotes, one line, at most 80 characters.

    The quotes show where the value starts and ends, so a space in it stays visible when the
    terminal wraps the line there.

    >>> quoted("jean dupont@example.org")
    '"jean dupont@example.org"'
    """
    return _show(value)


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", " ") if n >= 10_000 else str(n)


def summarise(problems: Iterable[Problem]) -> list[str]:
    """Each problem as a line, with runs of the same problem on consecutive rows as one.

    A column filled down with one wrong value makes the same problem on every row: the
    user needs it once, with the rows it covers, not 100 000 lines (12 MB).

    >>> summarise([Problem(Location(row=5), "empty"), Problem(Location(row=6), "empty")])
    ['row 5 to row 6: empty.']
    """
    lines: list[str] = []
    run: list[Problem] = []

    def flush() -> None:
        if len(run) == 1:
            lines.append(str(run[0]))
        elif run:
            first, last = run[0], run[-1]
            assert first.where.row is not None and last.where.row is not None
            rows = f"row {_thousands(first.where.row)} to row {_thousands(last.where.row)}"
            text = str(replace(first, where=Location()))
            lines.append(f"{first.where.describe(rows)}: {text}")
        run.clear()

    for problem in problems:
        if run and _continues(run[-1], problem):
            run.append(problem)
            continue
        flush()
        run.append(problem)
    flush()
    return lines


def _continues(previous: Problem, problem: Problem) -> bool:
    """``problem`` is ``previous`` again, on the next row."""
    a, b = previous.where, problem.where
    return (
        a.row is not None
        and b.row == a.row + 1
        and replace(a, row=None) == replace(b, row=None)
        and (previous.message, previous.hint, previous.warning)
        == (problem.message, problem.hint, problem.warning)
        and _show_or_none(previous) == _show_or_none(problem)
    )


def _show_or_none(problem: Problem) -> str | None:
    return None if problem.value is _NO_VALUE else _show(problem.value)


class DispatchError(Exception):
    """Base of every error dispatch raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class InvalidInput(DispatchError):
    """One or more problems in what the user gave us; nothing was written or sent."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = [p for p in problems if not p.warning]
        self.warnings = [p for p in problems if p.warning]
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{count} {noun} found; nothing was written or sent."]
        lines += [f"- {line}" for line in summarise(self.problems)]
        super().__init__("\n".join(lines))


class ContactsError(InvalidInput):
    """Problems in the contacts workbook."""


class MailingError(InvalidInput):
    """Problems in the mailing file."""


class TemplateError(InvalidInput):
    """Problems in a letter template (syntax, or a placeholder with no value)."""


class OutputError(DispatchError):
    """The output folder cannot be written (read-only, full disk...)."""


class SendError(DispatchError):
    """Sending went wrong in a way that is not about one recipient."""


class RelayError(SendError, ConnectionError):
    """The relay cannot be reached or refused us (authentication): nothing was sent."""

    exit_code = 3


class LockedError(DispatchError):
    """Another dispatch run holds the mailing's lock."""

    exit_code = 1


class JournalError(SendError):
    """A mailing's journal (the record of what was sent) cannot be opened or read."""
