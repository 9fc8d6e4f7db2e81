"""Reading a contacts workbook: a file's bytes → the rows of raw cells of its sheets.

This module knows file formats (``.xlsx``, ``.xlsm``, ``.ods``, ``.xls``, ``.csv``) and
nothing of what a contact is; :mod:`dispatch.contacts.validate` turns the rows it returns
into addressees. Workbooks are read with calamine (Rust: a 20 000-row sheet in well under a
second). What python-calamine (0.9) does not say is asked of openpyxl where openpyxl says
it fast enough, else found by a scan of the sheet's XML, each place naming what is missing:

- cells that hold an Excel error (``#N/A``; calamine reads them as empty): openpyxl's
  streaming reader, for a sheet whose XML holds one;
- rows hidden or filtered out, and formulas never calculated: the XML scan (see
  :func:`_xlsx_scans` for why no library here);
- a sheet so sparse (one value in row 1 048 576) that calamine's dense grid would cost
  gigabytes: read by openpyxl's streaming reader instead.

Every way a file can fail to be a workbook becomes a located :class:`Problem`, raised as
:class:`Unreadable`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import math
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from dispatch.errors import Location, Problem

__all__ = [
    "CATEGORIES_SHEET",
    "CONTACTS_SHEET",
    "Book",
    "CellError",
    "Row",
    "Uncalculated",
    "Unreadable",
    "cell_text",
    "column_letter",
    "lock_files",
    "open_problem",
    "read_book",
]

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


def _wanted(name: str) -> bool:
    return name.strip().lower() in (CONTACTS_SHEET.lower(), CATEGORIES_SHEET.lower())


_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # an OLE2 container: .xls, or an encrypted .xlsx
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx and .ods are zip archives
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"  # stored first in an .ods
_XLSX_PART = b"[Content_Types].xml"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".xls")


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex (what the fingerprint of a run's inputs holds)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_book(path: Path) -> Book:
    """Every sheet dispatch needs, as rows of raw cells; :class:`Unreadable` if it cannot.

    :attr:`Book.digests` are the digests of the very bytes the rows come from: the files
    are hashed before and after they are read, and read again if a save came in between
    (a workbook saved while a send prepares would otherwise be recorded as read when its
    new rows never were: issue 13, hole 1).
    """
    files = [path]
    if path.suffix.lower() == ".csv":  # its categories are in a companion file
        files.append(path.with_name(path.stem + ".categories.csv"))

    def digests() -> dict[Path, str]:
        return {f: file_digest(f) for f in files if f.is_file()}

    for _ in range(_READ_ATTEMPTS):
        before = digests()
        book = _read_book(path)
        if digests() == before:
            book.digests = before
            return book
    raise Unreadable(
        Problem(
            Location(file=path),
            f"changed each of the {_READ_ATTEMPTS} times it was read (is it being saved?)",
            "Wait until it is saved and closed, then run again.",
        )
    )


_READ_ATTEMPTS = 3


def _read_book(path: Path) -> Book:
    suffix = path.suffix.lower()
    _sniff(path, suffix)
    if suffix == ".csv":
        rows, found = _read_csv(path, CONTACTS_SHEET)
        book = Book([CONTACTS_SHEET], {CONTACTS_SHEET: rows}, {CONTACTS_SHEET: path}, found)
        companion = path.with_name(path.stem + ".categories.csv")
        if companion.exists():
            _sniff(companion, ".csv")
            rows, found = _read_csv(companion, CATEGORIES_SHEET)
            book.names.append(CATEGORIES_SHEET)
            book.rows[CATEGORIES_SHEET] = rows
            book.files[CATEGORIES_SHEET] = companion
            book.warnings += found
        return book
    return _read_workbook(path, suffix)


def _sniff(path: Path, suffix: str) -> None:
    """Say what the file really is when its content does not match its name."""
    where = Location(file=path)
    with path.open("rb") as handle:
        head = handle.read(4096)
    unreadable = f"is not a readable {suffix or 'workbook'} workbook"
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTED_STREAM in path.read_bytes():
            raise Unreadable(
                Problem(
                    where,
                    f"{unreadable}: it is password-protected (encrypted)",
                    "Open it in Excel, remove the password (File › Info › Protect Workbook › "
                    "Encrypt with Password, leave it empty), save it and run again.",
                )
            )
        if suffix != ".xls":
            raise Unreadable(
                Problem(
                    where,
                    "is an old Excel 97-2003 workbook (.xls), named "
                    f"{suffix or 'without extension'}",
                    f"Rename it {path.stem}.xls and run again.",
                )
            )
        return
    is_zip = head.startswith(_ZIP_MAGIC)
    if suffix == ".csv":
        if is_zip:
            raise Unreadable(
                Problem(
                    where,
                    "is a workbook (.xlsx or .ods), not a CSV file",
                    "Name it .xlsx (or .ods), or export the Contacts sheet as CSV, and run again.",
                )
            )
        return
    if suffix not in _WORKBOOK_SUFFIXES:
        raise Unreadable(
            Problem(
                where,
                f"is not a workbook dispatch reads (its name ends in {suffix or 'nothing'})",
                "Give an .xlsx, .ods, .xls or .csv file and run again.",
            )
        )
    if not head:
        raise Unreadable(
            Problem(
                where,
                f"{unreadable}: the file is empty (0 bytes)",
                "Save the workbook again from Excel or LibreOffice and run again.",
            )
        )
    if is_zip:
        is_ods = _ODS_MIMETYPE in head
        if is_ods != (suffix == ".ods") and (is_ods or _XLSX_PART in head):
            real = ".ods" if is_ods else ".xlsx"
            raise Unreadable(
                Problem(
                    where,
                    f"{unreadable}: it is an {real} workbook named {suffix}",
                    f"Rename it {path.stem}{real} and run again.",
                )
            )
        return
    if b"\x00" not in head:
        raise Unreadable(
            Problem(
                where,
                f"{unreadable}: it is a text file (a CSV export, or a web page?) renamed {suffix}",
                "If it is a CSV export, name it .csv; otherwise open it in Excel or LibreOffice, "
                "save it as .xlsx and run again.",
            )
        )


# --- workbooks: calamine, and a scan of the sheet XML for what calamine does not say ---

#: A sheet is read densely by calamine (height × width cells in memory); past this many
#: rows, when the filled rows are a small part of them, the streaming reader is used.
_SPARSE_ROWS = 50_000


def _read_workbook(path: Path, suffix: str) -> Book:
    from python_calamine import CalamineWorkbook

    if suffix == ".ods":
        names = _ods_sparse_sheets(path)
        if names is not None:  # calamine would read it whole, at once: stream it
            streamed = {n: list(_sparse_ods_rows(path, n)) for n in names if _wanted(n)}
            return Book(names, streamed, dict.fromkeys(streamed, path))
    book = CalamineWorkbook.from_path(str(path))
    try:
        names = [str(name) for name in book.sheet_names]
        scans = _xlsx_scans(path, names) if suffix in (".xlsx", ".xlsm") else {}
        rows: dict[str, list[Row]] = {}
        for name in names:
            if not _wanted(name):
                continue
            scan = scans.get(name)
            if scan is not None and scan.sparse:
                rows[name] = list(_sparse_rows(path, name))
                continue
            try:
                sheet = book.get_sheet_by_name(name)
            except Exception as exc:
                if "chart" in str(exc).lower() or type(exc).__name__ == "WorksheetNotFound":
                    rows[name] = []
                    continue
                raise
            errors: dict[int, list[tuple[int, Any]]] = {}
            if scan is not None:
                for number, cells in scan.errors.items():
                    errors.setdefault(number, []).extend(
                        (column, CellError(code)) for column, code in cells
                    )
                for number, columns in scan.uncalculated.items():
                    errors.setdefault(number, []).extend((c, Uncalculated()) for c in columns)
            rows[name] = list(_sheet_rows(sheet, errors))
    finally:
        book.close()
    warnings = [
        problem
        for name, scan in scans.items()
        if name in rows and (problem := _hidden_rows(path, name, scan, rows[name])) is not None
    ]
    return Book(names, rows, dict.fromkeys(rows, path), warnings)


def _hidden_rows(path: Path, sheet: str, scan: _Scan, rows: list[Row]) -> Problem | None:
    """The warning for the filled rows a sheet hides (hidden, or filtered out).

    They still get a letter: a row hidden to tidy the view or left out by a filter a
    colleague forgot is still an addressee, and skipping it silently would be worse.
    """
    if not scan.hidden or sheet.strip().lower() != CONTACTS_SHEET.lower():
        return None
    filled = {number for number, cells in rows if number > 1 and cells}
    hidden = sorted(filled.intersection(scan.hidden))
    if not hidden:
        return None
    shown = ", ".join(map(str, hidden[:20])) + (
        f" and {len(hidden) - 20} more" if len(hidden) > 20 else ""
    )
    noun = "row is" if len(hidden) == 1 else "rows are"
    return Problem(
        Location(file=path, sheet=sheet, row=hidden[0] if len(hidden) == 1 else None),
        f"{len(hidden)} {noun} hidden (hidden, or left out by a filter): {shown}; "
        "they still get a letter",
        "Unhide them (or clear the filter) to check them; to leave a row out, write no "
        "in its active column.",
        warning=True,
    )


def _sheet_rows(sheet: Any, errors: dict[int, list[tuple[int, Any]]]) -> Iterator[Row]:
    """The sheet's non-blank rows (and row 1), numbered as Excel numbers them."""
    start = sheet.start
    if start is None:  # an empty sheet
        yield 1, []
        return
    top, left = start
    pad = [None] * left
    if top > 0:
        yield 1, []
    for offset, cells in enumerate(sheet.iter_rows()):
        number = top + offset + 1
        values: list[Any] = pad + list(cells) if left else list(cells)
        for column, marker in errors.get(number, ()):
            values += [None] * (column + 1 - len(values))
            values[column] = marker
        while values and values[-1] in (None, ""):
            values.pop()
        if values or number == 1:
            yield number, values


@dataclass
class _Scan:
    errors: dict[int, list[tuple[int, str]]]  # row (from 1) → [(column from 0, "#N/A")]
    sparse: bool
    hidden: set[int] = field(default_factory=set)  # rows hidden (by hand or by a filter)
    uncalculated: dict[int, list[int]] = field(default_factory=dict)  # row → [column]


# Hand scans, where no library here says it fast enough (measured on the benchmark's
# 20 000-row workbook, on the 2-core development machine under load: calamine 0.8 s,
# this scan 0.45 s, openpyxl's streaming reader 13 s a pass):
# - hidden rows: python-calamine has no row visibility; openpyxl has it (row_dimensions)
#   only when it loads the whole workbook, not in its streaming reader;
# - formulas never calculated: python-calamine has no formula API (it reads the cell as
#   empty); openpyxl's streaming reader gives a cell's formula or its stored value, so
#   telling one from the other takes two passes (26 s).
_HIDDEN_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*?\bhidden=\"(?:1|true)\"[^>]*)>")
_UNCALCULATED = re.compile(
    rb"<(?:\w+:)?c\b([^>/]*)>\s*<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)


_ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d+)\"")
_CELL_REF = re.compile(rb"\br=\"([A-Z]+)(\d+)\"")
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _xlsx_scans(path: Path, names: list[str]) -> dict[str, _Scan]:
    """For each wanted sheet: its error cells, hidden rows, formulas never calculated, and
    whether it is sparse. The error cells are openpyxl's, read only when the XML holds one
    (``t="e"``, a byte search): a clean sheet costs nothing more."""
    out: dict[str, _Scan] = {}
    with zipfile.ZipFile(path) as archive:
        parts = _sheet_parts(archive)
        for name in names:
            part = parts.get(name)
            if not _wanted(name) or part is None or part not in archive.namelist():
                continue
            data = archive.read(part)
            errors = _error_cells(path, name) if b't="e"' in data else {}
            numbers = _ROW_NUMBER.findall(data)
            last = int(numbers[-1]) if numbers else 0
            scan = _Scan(errors, last > _SPARSE_ROWS and last > 4 * len(numbers))
            if b"hidden=" in data:
                for match in _HIDDEN_ROW.finditer(data):
                    number = re.search(rb"\br=\"(\d+)\"", match.group(1))
                    if number is not None:
                        scan.hidden.add(int(number.group(1)))
            if b"<f" in data:
                for match in _UNCALCULATED.finditer(data):
                    ref = _CELL_REF.search(match.group(1))
                    if ref is None:
                        continue
                    column = 0
                    for letter in ref.group(1):
                        column = column * 26 + letter - 64
                    scan.uncalculated.setdefault(int(ref.group(2)), []).append(column - 1)
            out[name] = scan
    return out


def _error_cells(path: Path, name: str) -> dict[int, list[tuple[int, str]]]:
    """Row (from 1) → [(column from 0, "#N/A")] for the cells of sheet ``name`` that hold
    an Excel error, as openpyxl's streaming reader sees them (``data_type == "e"``)."""
    from openpyxl import load_workbook

    errors: dict[int, list[tuple[int, str]]] = {}
    with path.open("rb") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns of what it drops: values are read
        book = load_workbook(handle, read_only=True, data_only=True, keep_links=False)
        try:
            for row in book[name].iter_rows():
                for cell in row:
                    if cell.data_type == "e":
                        column = cell.column - 1
                        errors.setdefault(cell.row, []).append((column, str(cell.value)))
        finally:
            book.close()
    return errors


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its part in the archive (``xl/worksheets/sheet1.xml``)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    out: dict[str, str] = {}
    for sheet in workbook.iter():
        if not sheet.tag.endswith("}sheet"):
            continue
        target = targets.get(sheet.get(f"{{{_REL_NS}}}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        out[str(sheet.get("name"))] = _normalise_part(part)
    return out


def _normalise_part(part: str) -> str:
    pieces: list[str] = []
    for piece in part.split("/"):
        if piece == "..":
            if pieces:
                pieces.pop()
        elif piece not in ("", "."):
            pieces.append(piece)
    return "/".join(pieces)


def _sparse_rows(path: Path, name: str) -> Iterator[Row]:
    """A sparse sheet's rows by openpyxl's streaming reader, which skips absent rows cheaply."""
    from openpyxl import load_workbook

    with path.open("rb") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns of what it drops: values are read
        book = load_workbook(handle, read_only=True, data_only=True, keep_links=False)
        try:
            sheet = book[name]
            sheet.reset_dimensions()  # the stored dimension may claim rows that hold nothing
            for number, cells in enumerate(sheet.iter_rows(min_row=1), start=1):
                values = [
                    CellError(str(cell.value)) if cell.data_type == "e" else cell.value
                    for cell in cells
                ]
                while values and values[-1] in (None, ""):
                    values.pop()
                if values or number == 1:
                    yield number, values
        finally:
            book.close()


_ODS_REPEAT = re.compile(rb'number-rows-repeated="(\d+)"')
_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_O = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT_P = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}p"


_ODS_SHEET = re.compile(rb'<table:table [^>]*?table:name="([^"]*)"')


def _ods_sparse_sheets(path: Path) -> list[str] | None:
    """An .ods's sheet names if it repeats rows by the ten thousand (an empty row down to
    row 1 048 576), else None."""
    with zipfile.ZipFile(path) as archive:
        content = archive.read("content.xml")
    if not any(int(n) > _SPARSE_ROWS for n in _ODS_REPEAT.findall(content)):
        return None
    return [html.unescape(n.decode()) for n in _ODS_SHEET.findall(content)]


def _sparse_ods_rows(path: Path, name: str) -> Iterator[Row]:
    """A sparse .ods sheet's rows, streamed from its XML: repeated empty rows cost nothing.

    A hand parser because no library here streams an .ods: calamine expands repeated rows
    into its dense grid (the sparseness is the problem), and odfpy builds the whole
    document as a Python tree first (4.6 s for 5 000 rows on the development machine,
    against 0.6 s for this parser and 0.06 s for calamine on a dense sheet).
    """
    with zipfile.ZipFile(path) as archive, archive.open("content.xml") as content:
        number, inside = 0, False
        for event, element in ElementTree.iterparse(content, events=("start", "end")):
            if element.tag == f"{_T}table":
                inside = event == "start" and element.get(f"{_T}name") == name
                number = 0
                continue
            if event != "end" or element.tag != f"{_T}table-row" or not inside:
                continue
            repeat = int(element.get(f"{_T}number-rows-repeated", "1"))
            values: list[Any] = []
            pending = 0  # empty cells not yet added: only a filled cell after them adds them
            for cell in element:
                count = int(cell.get(f"{_T}number-columns-repeated", "1"))
                value = _ods_value(cell)
                if value == "":
                    pending += count
                    continue
                values += [""] * pending + [value] * min(count, 1024)
                pending = 0
            element.clear()
            if not values:
                if number == 0:
                    yield 1, []
                number += repeat
                continue
            for _ in range(min(repeat, 1024)):
                number += 1
                yield number, list(values)
            number += max(repeat - 1024, 0)


def _ods_value(cell: ElementTree.Element) -> Any:
    kind = cell.get(f"{_O}value-type")
    if kind in ("float", "percentage", "currency"):
        return float(cell.get(f"{_O}value", "nan"))
    if kind == "boolean":
        return cell.get(f"{_O}boolean-value") == "true"
    if kind == "date":
        text = cell.get(f"{_O}date-value", "")
        return dt.datetime.fromisoformat(text) if "T" in text else dt.date.fromisoformat(text)
    return "\n".join("".join(p.itertext()) for p in cell.iter(_TEXT_P))


# --- CSV exports ---------------------------------------------------------------------


def _read_csv(path: Path, sheet: str) -> tuple[list[Row], list[Problem]]:
    """A CSV export's rows (UTF-8 with or without BOM, UTF-16, else Windows Latin-1).

    A UTF-8 file with a few bytes of another encoding (a cell pasted from an old file) is
    not decoded whole as Windows Latin-1, which would garble every accent of the file: each
    cell that holds such a byte is an error, named by its row and column.
    """
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
                mixed = True  # UTF-8 with stray bytes: the cells are named below
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


# --- what the user is told when a file cannot be opened ---------------------------------


def open_problem(path: Path, exc: Exception) -> Problem:
    """A reader's exception as a problem that says what the file is and what to do."""
    where = Location(file=path)
    suffix = path.suffix.lower()
    if isinstance(exc, FileNotFoundError):
        return Problem(
            where, "does not exist", "Give the path of the contacts workbook with --contacts."
        )
    if isinstance(exc, ValueError) and "null byte" in str(exc):
        return Problem(
            where, "is not a usable file name (it holds a NUL character)", "Correct the path."
        )
    if isinstance(exc, IsADirectoryError):
        return Problem(
            where, "is a folder, not a workbook", "Give the path of the workbook with --contacts."
        )
    if type(exc).__name__ == "PasswordError":
        return Problem(
            where,
            f"is not a readable {suffix} workbook: it is password-protected (encrypted)",
            "Open it in Excel, remove the password, save it and run again.",
        )
    # _sniff has told apart the other kinds of file: one that fails to parse is damaged.
    damaged = isinstance(exc, zipfile.BadZipFile | zlib.error | ElementTree.ParseError | EOFError)
    calamine = type(exc).__module__.startswith("python_calamine") or type(exc).__name__ in (
        "CalamineError",
        "XmlError",
        "ZipError",
    )
    if damaged or calamine or "zip" in str(exc).lower() or "in the archive" in str(exc):
        return Problem(
            where,
            f"is not a readable {suffix or 'workbook'} workbook: the file is damaged "
            "(truncated by a download or a full disk, or corrupt)",
            "Open it in Excel or LibreOffice, which may repair it, save it as .xlsx and run "
            "again, or take the last good copy.",
        )
    return Problem(
        where,
        f"cannot be read ({type(exc).__name__}: {exc})",
        "Open it in Excel or LibreOffice, save it as .xlsx and run again.",
    )


def lock_files(path: Path) -> list[Problem]:
    """Warnings for the lock files Excel and LibreOffice keep beside a workbook they have open."""
    out: list[Problem] = []
    if not path.name:  # "/": no file, no lock file (the read says what is wrong)
        return out
    for lock, app in (
        (path.with_name("~$" + path.name), "Excel"),
        (path.with_name(f".~lock.{path.name}#"), "LibreOffice"),
    ):
        if lock.exists():
            out.append(
                Problem(
                    Location(file=lock),
                    f"exists: the workbook may be open in {app}, with unsaved changes",
                    f"Save and close it in {app} first, so that dispatch reads what you see.",
                    warning=True,
                )
            )
    return out
