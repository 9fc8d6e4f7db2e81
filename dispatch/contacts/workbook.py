"""Workbooks (.xlsx, .xlsm, .ods, .xls): calamine, and what it does not say asked of
openpyxl or found by a scan of the sheet's XML."""

from __future__ import annotations

import datetime as dt
import html
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from dispatch.contacts.cells import (
    CATEGORIES_SHEET,
    CONTACTS_SHEET,
    Book,
    CellError,
    Row,
    Uncalculated,
)
from dispatch.errors import Location, Problem

# --- workbooks: calamine, and a scan of the sheet XML for what calamine does not say ---

#: A sheet is read densely by calamine (height × width cells in memory); past this many
#: rows, when the filled rows are a small part of them, the streaming reader is used.
_SPARSE_ROWS = 50_000


def _wanted(name: str) -> bool:
    return name.strip().lower() in (CONTACTS_SHEET.lower(), CATEGORIES_SHEET.lower())


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
