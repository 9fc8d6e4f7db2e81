"""CSV exports: the dialect sniffed, stray bytes and bad fields located."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from dispatch.contacts.cells import Row, Unreadable, cell_text, column_letter
from dispatch.errors import Location, Problem

# --- CSV exports ---------------------------------------------------------------------


def _decode(path: Path) -> tuple[str, bool, list[Problem]]:
    """The text of a CSV export, whether it is UTF-8 with stray bytes, and the warning
    that it was read as Windows Latin-1."""
    raw = path.read_bytes()
    found: list[Problem] = []
    mixed = False
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            text = raw.decode("utf-16", errors="replace")
    else:
        text = raw.decode("utf-8-sig", errors="surrogateescape")
        if _STRAY.search(text):
            if _VALID_NON_ASCII.search(text):
                mixed = True  # UTF-8 with stray bytes: _read_csv names the cells
            else:
                text = raw.decode("cp1252", errors="replace")
                found.append(
                    Problem(
                        Location(file=path),
                        "is not UTF-8: it was read as Windows Latin-1 (cp1252)",
                        'If accented letters look wrong, export it again as "CSV UTF-8" and '
                        "run again.",
                        warning=True,
                    )
                )
    return text, mixed, found


def _read_csv(path: Path, sheet: str) -> tuple[list[Row], list[Problem]]:
    """A CSV export's rows (UTF-8 with or without BOM, UTF-16, else Windows Latin-1).

    A UTF-8 file with a few bytes of another encoding (a cell pasted from an old file) is
    not decoded whole as Windows Latin-1, which would garble every accent of the file: each
    cell that holds such a byte is an error, named by its row and column.
    """
    text, mixed, found = _decode(path)
    header_line = text.split("\n", 1)[0]
    separator = max((";", ",", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    rows: list[Row] = []
    number = 0
    last_line = 0  # the physical line where the last good row ended
    try:
        for number, cells in enumerate(reader, start=1):
            last_line = reader.line_num
            if number == 1 or any(c.strip() for c in cells):
                rows.append((number, cells))
    except csv.Error as exc:
        lines = io.StringIO(text, newline="").readlines()
        limit = csv.field_size_limit() if "field limit" in str(exc) else None
        bad = _csv_bad_field("".join(lines[last_line:]), separator, limit)
        raise Unreadable(
            Problem(
                Location(file=path, sheet=sheet, row=number + 1, column=_column_name(rows, bad)),
                f"cannot be read as CSV ({exc})",
                (
                    "A cell may hold at most 131 072 characters: shorten it and run again."
                    if limit is not None
                    else "A value that holds the separator, a quote or a line break must be in "
                    'double quotes, with its quotes doubled (""). Correct the row and run again.'
                ),
            )
        ) from None
    if mixed:
        problems = [
            _stray_problem(path, sheet, row, _column_name(rows, i), cell)
            for row, cells in rows
            for i, cell in enumerate(cells)
            if _STRAY.search(cell)
        ]
        raise Unreadable(*problems)
    return rows, found


_STRAY = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, kept by surrogateescape
_VALID_NON_ASCII = re.compile("[\u0080-\udc7f\udd00-\U0010ffff]")


def _stray_problem(path: Path, sheet: str, row: int, column: str, cell: str) -> Problem:
    byte = ord(_STRAY.search(cell).group()) - 0xDC00  # type: ignore[union-attr]
    guess = bytes([byte]).decode("cp1252", errors="replace")
    shown = _STRAY.sub(lambda m: bytes([ord(m.group()) - 0xDC00]).decode("cp1252", "replace"), cell)
    return Problem(
        Location(file=path, sheet=sheet, row=row, column=column),
        f"holds the byte 0x{byte:02X}, which is not UTF-8 like the rest of the file "
        f"(in Windows Latin-1 it is {guess!r}: the cell may read {shown[:60]!r})",
        'Retype the cell in the workbook, export it again as "CSV UTF-8" and run again.',
    )


def _column_name(rows: list[Row], index: int) -> str:
    """The header of column ``index`` (from 0), or its letter when the header has none."""
    header = rows[0][1] if rows and rows[0][0] == 1 else []
    name = cell_text(header[index]) if index < len(header) else ""
    if _STRAY.search(name):
        name = ""
    return name or column_letter(index + 1)


def _csv_bad_field(record: str, separator: str, limit: int | None = None) -> int:
    """The index of the field where a CSV row goes wrong: a quote never closed, text after
    a closing quote (``"Ministry" of Posts``), or, given ``limit``, a field longer than it.

    >>> _csv_bad_field('a;"b" c;d', ";"), _csv_bad_field("a;bbbb;c", ";", 3)
    (1, 1)
    """
    field, quoted, closed, start, length = 0, False, False, True, 0
    for char in record:
        length += 1
        if limit is not None and length > limit:
            return field
        if quoted:
            quoted, closed = char != '"', char == '"'
        elif closed and char == '"':  # a doubled quote inside a quoted value
            quoted, closed = True, False
        elif char == separator:
            field, closed, start, length = field + 1, False, True, 0
        elif char in "\r\n" and limit is not None:
            field, closed, start, length = 0, False, True, 0  # the next record
        elif closed:
            return field
        elif char == '"' and start:
            quoted, start = True, False
        else:
            start = False
    return field
