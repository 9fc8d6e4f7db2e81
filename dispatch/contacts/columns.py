"""The secretariat's own columns: any column of the Contacts sheet beyond the known ones.

A column ``Registration code`` is ``addressee.registration_code`` in a letter (its header
normalised as every header is: case, spaces and hyphens). Its cells are typed as the
workbook holds them, the column's kind being what most of its cells hold:

* ``date``: a date cell (or ``2021-12-07`` typed as text, as a CSV export holds it) is a
  date for the ``date`` filter; text there is a slip, warned of per cell;
* ``number``: a number for ``number`` and ``amount``; words there are warned of;
* ``yes/no``: yes/no, true/false, oui/non, 1/0 (or a TRUE/FALSE cell) are True/False, for
  ``when = "addressee.visa_required"``; anything else is an error, as in ``active``;
* ``text``: anything else.

An empty cell is None: a letter that prints it without saying what to print instead is
refused by ``check`` (see :mod:`dispatch.render`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dispatch.contacts.model import CONTACT_COLUMNS, Column
from dispatch.contacts.reading import CellError, Row, Uncalculated, cell_text, column_letter
from dispatch.errors import Location, Problem

__all__ = [
    "COMPUTED",
    "FALSE_WORDS",
    "TRUE_WORDS",
    "find_columns",
    "header_key",
    "typed_columns",
    "values_of",
]

#: addressee values dispatch works out itself: no column may take their names
COMPUTED = ("feminine", "full_name")
TRUE_WORDS = frozenset({"yes", "true", "oui", "1", "vrai"})
FALSE_WORDS = frozenset({"no", "false", "non", "0", "faux"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NOT_A_NAME = re.compile(r"\W+")
_UNQUOTABLE = re.compile(r'["\r\n]')
_NAMES = {"date": "a date", "number": "a number", "yes/no": "yes or no", "text": "text"}


def header_key(value: Any) -> str:
    """A header as a placeholder names it: ``Registration code`` → ``registration_code``.

    >>> header_key(" Registration code "), header_key("Visa-Required")
    ('registration_code', 'visa_required')
    """
    return re.sub(r"[\s\-]+", "_", cell_text(value).lower())


def find_columns(
    header: list[Any], path: Path, sheet: str, problems: list[Problem]
) -> list[Column]:
    """The header row's columns that are not known ones; a name two headers share, or that
    dispatch gives a value of its own, is a problem naming both."""
    found: list[Column] = []
    taken: dict[str, str] = {}  # normalised name → the first header that has it
    for i, cell in enumerate(header):
        shown = cell_text(cell)
        name = header_key(cell)
        if name in CONTACT_COLUMNS:
            taken.setdefault(name, shown)
            continue
        # a placeholder's name: "Visa required?" is visa_required
        name = _NOT_A_NAME.sub("_", name).strip("_")
        if not name:
            continue
        if name in COMPUTED or name in taken:
            other = f"dispatch's own addressee.{name}" if name in COMPUTED else f'"{taken[name]}"'
            # a header that cannot be quoted on one line is named by its letter
            where = column_letter(i + 1) if _UNQUOTABLE.search(shown) else shown
            problems.append(
                Problem(
                    Location(file=path, sheet=sheet, row=1, column=where),
                    f"is read as addressee.{name}, the same name as {other}",
                    "Rename one of the two columns and run again.",
                )
            )
            continue
        taken[name] = shown
        found.append(Column(name=name, header=shown, index=i))
    return found


def _kind(cell: Any) -> str | None:
    """What one cell holds, or None when it is empty (or an error, reported elsewhere)."""
    kind = type(cell)
    if kind is str:  # most cells: text, one lookup and one match
        text = cell.strip() if cell.isascii() else cell_text(cell)
        return _text_kind(text) if text else None
    if cell is None or isinstance(cell, CellError | Uncalculated):
        return None
    if kind is bool:
        return "yes/no"
    if isinstance(cell, dt.date | dt.time):
        return "date"
    if isinstance(cell, int | float):
        if isinstance(cell, float) and math.isnan(cell):
            return None
        return "1/0" if cell in (0, 1) else "number"
    text = cell_text(cell)
    return _text_kind(text) if text else None


def _text_kind(text: str) -> str:
    lowered = text.lower()
    if lowered in TRUE_WORDS or lowered in FALSE_WORDS:
        return "yes/no" if lowered not in ("1", "0") else "1/0"
    if len(text) == 10 and _ISO_DATE.fullmatch(text):
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            return "text"
        return "date"
    return "text"


def typed_columns(columns: Iterable[Column], data: list[Row]) -> list[Column]:
    """Each column with its kind: what more than half of its filled cells hold, else text.

    A yes/no column may hold 1 and 0 as well.
    """
    out = []
    for column in columns:
        i = column.index
        kinds: Counter[str | None] = Counter(_kind(cells[i]) for _, cells in data if i < len(cells))
        kinds.pop(None, None)
        ones = kinds.pop("1/0", 0)  # yes and no among yes and no, else numbers
        kinds["yes/no" if kinds["yes/no"] else "number"] += ones
        filled = sum(kinds.values())
        kind = "text"
        if filled:
            best, count = kinds.most_common(1)[0]
            best = best or "text"
            if best != "text" and count * 2 > filled:
                kind = best
        out.append(Column(column.name, column.header, column.index, kind))
    return out


def values_of(
    cells: list[Any],
    columns: Iterable[Column],
    texts: dict[str, str],
    at: Callable[[str], Location],
    problems: list[Problem],
    warnings: list[Problem] | None,
) -> dict[str, Any]:
    """One row's values of the extra columns, typed as their column; None where empty.

    ``texts`` are the row's cells as text (cleaned), by column name.
    """
    out: dict[str, Any] = {}
    for column in columns:
        text = texts.get(column.name, "")
        if not text:
            out[column.name] = None
            continue
        if column.kind == "text":  # most columns: the text as it is, nothing to look at
            out[column.name] = text
            continue
        cell = cells[column.index]
        value: Any = text
        kind: str | None = column.kind
        if column.kind == "yes/no":
            lowered = text.lower()
            if type(cell) is bool:
                value = cell
            elif lowered in TRUE_WORDS or lowered in FALSE_WORDS:
                value = lowered in TRUE_WORDS
            else:
                problems.append(
                    Problem(
                        at(column.name),
                        "is neither yes nor no",
                        "Write yes or no (or leave it empty).",
                        value=text,
                    )
                )
        elif column.kind == "date" and isinstance(cell, dt.date | dt.time):
            value = _date(cell, text)
        elif column.kind == "number" and type(cell) in (int, float):
            value = int(cell) if type(cell) is float and cell.is_integer() else cell
        elif (kind := _kind(cell)) == column.kind == "date":
            value = dt.date.fromisoformat(text)  # typed as text, 2021-12-07 (a CSV export)
        elif column.kind == "number" and kind == "1/0":
            value = int(text)  # "1" or "0" typed as text
        elif warnings is not None:
            warnings.append(_other_kind(at(column.name), column.kind, kind, text))
        out[column.name] = value
    return out


def _other_kind(where: Location, expected: str, found: str | None, text: str) -> Problem:
    """The warning for a cell of another kind than its column's (text in a date column)."""
    return Problem(
        where,
        f"holds {_NAMES.get(found or 'text', 'text')} where the column holds "
        f"{_NAMES[expected]}; the letters print it as it is",
        f"Type {_NAMES[expected]} in the cell (format the column as "
        f"{'Date' if expected == 'date' else 'Number'} if the spreadsheet keeps changing "
        "it), or leave it empty.",
        value=text,
        warning=True,
    )


def _date(cell: Any, text: str) -> dt.date | dt.datetime | dt.time:
    if isinstance(cell, dt.datetime):
        return cell.date() if cell.time() == dt.time(0) and cell.tzinfo is None else cell
    if isinstance(cell, dt.date | dt.time):
        return cell
    return dt.date.fromisoformat(text)
