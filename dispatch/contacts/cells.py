"""What a sheet is made of, whatever the file: rows of cells, the cells that are not values
(an Excel error, a formula never calculated), a book of sheets, and the problem of a file
that cannot be read."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch.errors import Problem

CONTACTS_SHEET = "Contacts"
CATEGORIES_SHEET = "Categories"

#: one row of a sheet: its number as Excel shows it (the header is row 1), and its cells
Row = tuple[int, list[Any]]


@dataclass(frozen=True)
class CellError:
    """A cell that holds an Excel error (``#N/A``, ``#REF!``…) instead of a value."""

    code: str

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True)
class Uncalculated:
    """A formula cell with no stored value: the workbook was written by a program and
    never opened in a spreadsheet, which would have calculated it."""

    def __str__(self) -> str:
        return ""


@dataclass
class Book:
    """The sheets of a workbook that dispatch reads, each with the file it came from."""

    names: list[str]  # every sheet of the file, in order
    rows: dict[str, list[Row]]  # sheet name → its non-blank rows (and row 1)
    files: dict[str, Path]  # sheet name → file (a .csv export's categories are beside it)
    warnings: list[Problem] = field(default_factory=list)
    # file → SHA-256 of the bytes the rows were read from (see read_book)
    digests: dict[Path, str] = field(default_factory=dict)


class Unreadable(Exception):
    """The file cannot be read as a workbook; ``problems`` say where, why and what to do."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


_TRIM = re.compile(r"^[\s\u200b\u200c\u200d\u2060\ufeff]+|[\s\u200b\u200c\u200d\u2060\ufeff]+$")


def cell_text(value: Any) -> str:
    """A cell as text: trimmed (zero-width spaces too), NFC, numbers without a spurious ``.0``.

    A date typed in a cell reads as ``2021-12-07``, not ``2021-12-07 00:00:00``.

    >>> cell_text(1234.0), cell_text(dt.datetime(2021, 12, 7)), cell_text(" Zoe\\u0301 ")
    ('1234', '2021-12-07', 'Zoé')
    """
    if type(value) is str and value.isascii():  # the common case, at a fraction of the cost
        return value.strip()  # for ASCII, str.strip's whitespace is _TRIM's; NFC changes nothing
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            value = int(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
        value = value.date()
    text = unicodedata.normalize("NFC", str(value))
    return _TRIM.sub("", text)


def column_letter(index: int) -> str:
    """Excel's name of a column, from 1: ``column_letter(28) == "AB"``.

    >>> column_letter(1), column_letter(28), column_letter(16384)
    ('A', 'AB', 'XFD')
    """
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
