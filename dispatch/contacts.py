"""The contacts workbook: addressees, with their categories and language.

A workbook (``.xlsx``, ``.ods``) has two sheets:

* ``Contacts``: one addressee a row (see :data:`CONTACT_COLUMNS`);
* ``Categories``: one category a row: its code and the addressee line as it appears
  in a letter, in French and in English (``Aux États Membres de l'UIT`` /
  ``Member States of ITU``).

A ``.csv`` export holds the Contacts sheet only; its categories then come from a
``<name>.categories.csv`` beside it.

Every problem found is collected with its sheet, row (as Excel numbers it), column and
value, and raised at once as a :class:`ContactsError`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from email_validator import EmailNotValidError, validate_email
from openpyxl.utils import get_column_letter

from dispatch import languages
from dispatch.errors import ContactsError, Location, Problem

CONTACTS_SHEET = "Contacts"
CATEGORIES_SHEET = "Categories"

#: column → (required, what it holds)
CONTACT_COLUMNS: dict[str, tuple[bool, str]] = {
    "email": (True, "the addressee's e-mail address"),
    "civility": (False, "Mme, M., Dr, S.E. M. … (used in a personal salutation)"),
    "first_name": (False, "first name"),
    "last_name": (False, "last name"),
    "function": (False, "function or title, e.g. Director"),
    "organisation": (False, "ministry, company, university…"),
    "country": (False, "country"),
    "categories": (True, "one or more category codes, separated by ; or ,"),
    "language": (True, "fr or en"),
    "salutation": (False, "a personal salutation replacing « Madame, Monsieur, »"),
    "cc": (False, "addresses to copy, separated by ;"),
    "active": (False, "yes or no (empty means yes)"),
}
CATEGORY_COLUMNS: dict[str, tuple[bool, str]] = {
    "code": (True, "a short code, e.g. MS"),
    "fr": (True, "the addressee line in French"),
    "en": (True, "the addressee line in English"),
}
_YES = {"yes", "y", "oui", "o", "true", "1", "x", ""}
_NO = {"no", "n", "non", "false", "0"}
_SPLIT = re.compile(r"[;,\n]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_BREAK_OR_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
#: columns whose values reach a message header: no line break may pass (header injection)
HEADER_COLUMNS = frozenset({"email", "civility", "first_name", "last_name", "cc"})


@dataclass(frozen=True)
class Category:
    """A category of addressees and its line in a letter, per language."""

    code: str
    fr: str
    en: str
    order: int = 0

    def line(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


@dataclass(frozen=True)
class Addressee:
    """One row of the Contacts sheet, typed and normalised (trimmed, NFC)."""

    row: int
    email: str
    language: str
    categories: tuple[str, ...]
    civility: str = ""
    first_name: str = ""
    last_name: str = ""
    function: str = ""
    organisation: str = ""
    country: str = ""
    salutation: str = ""
    cc: tuple[str, ...] = ()
    active: bool = True

    @property
    def key(self) -> str:
        """The addressee's id in a mailing: the lower-cased address."""
        return self.email.lower()

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass
class Contacts:
    """A loaded workbook: addressees in row order, categories by code."""

    path: Path
    addressees: list[Addressee]
    categories: dict[str, Category]
    warnings: list[Problem] = field(default_factory=list)


_TRIM = re.compile(r"^[\s\u200b\u200c\u200d\u2060\ufeff]+|[\s\u200b\u200c\u200d\u2060\ufeff]+$")


@dataclass(frozen=True)
class CellError:
    """A cell that holds an Excel error (``#N/A``, ``#REF!``…) instead of a value."""

    code: str

    def __str__(self) -> str:
        return self.code


def _clean(value: Any) -> str:
    """A cell as text: trimmed (zero-width spaces too), NFC, numbers without a spurious ``.0``.

    A date typed in a cell reads as ``2021-12-07``, not ``2021-12-07 00:00:00``.
    """
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


def _header_key(value: Any) -> str:
    text = _clean(value).lower()
    return re.sub(r"[\s\-]+", "_", text)


#: one row of a sheet: its number as Excel shows it (the header is row 1), and its cells
Row = tuple[int, list[Any]]


@dataclass
class _Book:
    """The sheets of a workbook that dispatch reads, each with the file it came from."""

    names: list[str]  # every sheet of the file, in order
    rows: dict[str, list[Row]]  # sheet name → its non-blank rows (and row 1)
    files: dict[str, Path]  # sheet name → file (a .csv export's categories are beside it)
    warnings: list[Problem] = field(default_factory=list)


class _Unreadable(Exception):
    """The file cannot be read as a workbook; ``problem`` says why and what to do."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # an OLE2 container: .xls, or an encrypted .xlsx
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx and .ods are zip archives
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"  # stored first in an .ods
_XLSX_PART = b"[Content_Types].xml"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")


def _wanted(name: str) -> bool:
    return name.strip().lower() in (CONTACTS_SHEET.lower(), CATEGORIES_SHEET.lower())


def _read_book(path: Path) -> _Book:
    """Every sheet dispatch needs, as rows of raw cells; :class:`_Unreadable` if it cannot."""
    suffix = path.suffix.lower()
    _sniff(path, suffix)
    if suffix == ".csv":
        rows, warnings = _read_csv(path, CONTACTS_SHEET)
        book = _Book([CONTACTS_SHEET], {CONTACTS_SHEET: rows}, {CONTACTS_SHEET: path}, warnings)
        companion = path.with_name(path.stem + ".categories.csv")
        if companion.exists():
            _sniff(companion, ".csv")
            rows, warnings = _read_csv(companion, CATEGORIES_SHEET)
            book.names.append(CATEGORIES_SHEET)
            book.rows[CATEGORIES_SHEET] = rows
            book.files[CATEGORIES_SHEET] = companion
            book.warnings += warnings
        return book
    if suffix == ".ods":
        return _read_ods(path)
    return _read_xlsx(path)


def _sniff(path: Path, suffix: str) -> None:
    """Say what the file really is when its content does not match its name."""
    where = Location(file=path)
    with path.open("rb") as handle:
        head = handle.read(4096)
    unreadable = f"is not a readable {suffix or 'workbook'} workbook"
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTED_STREAM in path.read_bytes():
            raise _Unreadable(
                Problem(
                    where,
                    f"{unreadable}: it is password-protected (encrypted)",
                    "Open it in Excel, remove the password (File › Info › Protect Workbook › "
                    "Encrypt with Password, leave it empty), save it and run again.",
                )
            )
        renamed = "" if suffix == ".xls" else f", named {suffix or 'without extension'}"
        raise _Unreadable(
            Problem(
                where,
                f"is an old Excel 97-2003 workbook (.xls){renamed}, which dispatch does not read",
                "Save it as .xlsx (File › Save As › Excel Workbook) and run again.",
            )
        )
    is_zip = head.startswith(_ZIP_MAGIC)
    if suffix == ".csv":
        if is_zip:
            raise _Unreadable(
                Problem(
                    where,
                    "is a workbook (.xlsx or .ods), not a CSV file",
                    "Name it .xlsx (or .ods), or export the Contacts sheet as CSV, and run again.",
                )
            )
        return
    if suffix not in (*_WORKBOOK_SUFFIXES, ".xls"):
        raise _Unreadable(
            Problem(
                where,
                f"is not a workbook dispatch reads (its name ends in {suffix or 'nothing'})",
                "Give an .xlsx, .ods or .csv file and run again.",
            )
        )
    if not head:
        raise _Unreadable(
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
            raise _Unreadable(
                Problem(
                    where,
                    f"{unreadable}: it is an {real} workbook named {suffix}",
                    f"Rename it {path.stem}{real} and run again.",
                )
            )
        return
    if b"\x00" not in head:
        raise _Unreadable(
            Problem(
                where,
                f"{unreadable}: it is a text file (a CSV export, or a web page?) renamed {suffix}",
                "If it is a CSV export, name it .csv; otherwise open it in Excel or LibreOffice, "
                "save it as .xlsx and run again.",
            )
        )
    if suffix == ".xls":
        raise _Unreadable(
            Problem(
                where,
                "is an old Excel 97-2003 workbook (.xls), which dispatch does not read",
                "Save it as .xlsx (File › Save As › Excel Workbook) and run again.",
            )
        )


def _read_xlsx(path: Path) -> _Book:
    from openpyxl import load_workbook

    # read_only parses each sheet as a stream; its rows skip the blank ones cheaply, so a
    # sheet whose last cell is in row 1 048 576 costs what its filled rows cost.
    with path.open("rb") as handle, warnings.catch_warnings():
        # openpyxl warns of what it drops (data validation, conditional formatting...):
        # dispatch reads the values only.
        warnings.simplefilter("ignore")
        book = load_workbook(handle, read_only=True, data_only=True, keep_links=False)
        try:
            names = [str(name) for name in book.sheetnames]
            rows: dict[str, list[Row]] = {}
            for sheet in book.worksheets:
                if _wanted(sheet.title):
                    rows[sheet.title] = list(_xlsx_rows(sheet))
            for name in names:
                if _wanted(name):
                    rows.setdefault(name, [])  # a chart sheet: no cells
        finally:
            book.close()
    return _Book(names, rows, dict.fromkeys(rows, path))


def _xlsx_rows(sheet: Any) -> Iterable[Row]:
    sheet.reset_dimensions()  # the stored dimension may claim rows that hold nothing
    for number, cells in enumerate(sheet.iter_rows(min_row=1), start=1):
        values = [
            CellError(str(cell.value)) if cell.data_type == "e" else cell.value for cell in cells
        ]
        while values and values[-1] in (None, ""):
            values.pop()
        if values or number == 1:
            yield number, values


def _read_ods(path: Path) -> _Book:
    import pandas as pd  # here, not at the top: half a second of start-up for .ods alone

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = pd.read_excel(
            path,
            sheet_name=None,
            header=None,
            dtype=object,
            engine="odf",
            keep_default_na=False,
            na_filter=False,
        )
    names = [str(name) for name in frames]
    rows: dict[str, list[Row]] = {}
    for name, frame in frames.items():
        if _wanted(str(name)):
            # Keep row 1 and the rows with a cell, without a Python loop over the blank ones
            # (an .ods may repeat an empty row down to row 1 048 576).
            filled = (frame != "").any(axis=1)
            filled.iloc[:1] = True
            kept = frame[filled]
            rows[str(name)] = [
                (int(index) + 1, cells)
                for index, cells in zip(kept.index, kept.values.tolist(), strict=True)
            ]
    return _Book(names, rows, dict.fromkeys(rows, path))


def _read_csv(path: Path, sheet: str) -> tuple[list[Row], list[Problem]]:
    """A CSV export's rows (UTF-8 with or without BOM, UTF-16, else Windows Latin-1)."""
    raw = path.read_bytes()
    warnings: list[Problem] = []
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        warnings.append(
            Problem(
                Location(file=path),
                "is not UTF-8: it was read as Windows Latin-1 (cp1252)",
                'If accented letters look wrong, export it again as "CSV UTF-8" and run again.',
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
        field = _csv_bad_field("".join(lines[last_line:]), separator)
        header = rows[0][1] if rows and rows[0][0] == 1 else []
        column = _clean(header[field]) if field < len(header) else ""
        raise _Unreadable(
            Problem(
                Location(
                    file=path,
                    sheet=sheet,
                    row=number + 1,
                    column=column or get_column_letter(field + 1),
                ),
                f"cannot be read as CSV ({exc})",
                "A value that holds the separator, a quote or a line break must be in double "
                'quotes, with its quotes doubled (""). Correct the row and run again.',
            )
        ) from None
    return rows, warnings


def _csv_bad_field(record: str, separator: str) -> int:
    """The index of the field where a CSV row goes wrong: a quote never closed, or text
    after a closing quote (``"Ministry" of Posts``)."""
    field, quoted, closed, start = 0, False, False, True
    for char in record:
        if quoted:
            quoted, closed = char != '"', char == '"'
        elif closed and char == '"':  # a doubled quote inside a quoted value
            quoted, closed = True, False
        elif char == separator:
            field, closed, start = field + 1, False, True
        elif closed:
            return field
        elif char == '"' and start:
            quoted, start = True, False
        else:
            start = False
    return field


def _open_problem(path: Path, exc: Exception) -> Problem:
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
    # _sniff has told apart the other kinds of file: a zip that fails is a damaged one.
    damaged = isinstance(exc, zipfile.BadZipFile | zlib.error | ElementTree.ParseError | EOFError)
    if damaged or "zip" in str(exc).lower() or "in the archive" in str(exc):
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


def _table(
    rows: list[Row],
    path: Path,
    sheet: str,
    columns: dict[str, tuple[bool, str]],
    problems: list[Problem],
) -> tuple[dict[str, int], dict[str, str], list[Row]] | None:
    """Find the header row's columns; return (column → index, column → header, data rows)."""
    if not rows:
        problems.append(
            Problem(
                Location(file=path, sheet=sheet),
                "is empty",
                f"Put the headers in row 1: {', '.join(columns)}.",
            )
        )
        return None
    header = rows[0][1] if rows[0][0] == 1 else []
    index: dict[str, int] = {}
    shown: dict[str, str] = {}
    for i, cell in enumerate(header):
        key = _header_key(cell)
        if key in columns:
            if key in index:
                problems.append(
                    Problem(
                        Location(file=path, sheet=sheet, row=1, column=_clean(cell)),
                        "appears twice in the headers",
                        "Keep one column of that name and run again.",
                    )
                )
                continue
            index[key] = i
            shown[key] = _clean(cell)
    missing = [name for name, (required, _) in columns.items() if required and name not in index]
    if missing:
        found = ", ".join(f'"{_clean(c)}"' for c in header if _clean(c)) or "none"
        for name in missing:
            problems.append(
                Problem(
                    Location(file=path, sheet=sheet, row=1),
                    f'has no column "{name}" ({columns[name][1]}); the headers found are {found}',
                    f'Add a column "{name}" in row 1 and run again.',
                )
            )
        return None
    data = [(number, cells) for number, cells in rows if number > 1]
    return index, shown, data


def _row_values(
    cells: list[Any],
    index: dict[str, int],
    at: Callable[[str], Location],
    problems: list[Problem],
) -> tuple[dict[str, str], set[str]]:
    """The row's cells by column, cleaned; and the columns whose cell holds an Excel error."""
    values: dict[str, str] = {}
    errors: set[str] = set()
    for name, i in index.items():
        cell = cells[i] if i < len(cells) else None
        if isinstance(cell, CellError):
            problems.append(
                Problem(
                    at(name),
                    f"holds the Excel error {cell.code} instead of a value",
                    "Correct the formula, or type the value, and run again.",
                )
            )
            errors.add(name)
            cell = None
        values[name] = _clean(cell)
    return values, errors


def _lock_files(path: Path) -> list[Problem]:
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


def load_contacts(path: Path) -> Contacts:
    """Read and validate a contacts workbook; raise :class:`ContactsError` with every problem."""
    problems: list[Problem] = []
    warnings = _lock_files(path)
    try:
        book = _read_book(path)
    except _Unreadable as exc:
        raise ContactsError([exc.problem, *warnings]) from None
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes a located problem
        raise ContactsError([_open_problem(path, exc), *warnings]) from None
    warnings += book.warnings

    by_key = {name.strip().lower(): name for name in book.rows}
    contacts_name = by_key.get(CONTACTS_SHEET.lower())
    categories_name = by_key.get(CATEGORIES_SHEET.lower())
    for wanted, found_name in (
        (CONTACTS_SHEET, contacts_name),
        (CATEGORIES_SHEET, categories_name),
    ):
        if found_name is None:
            found = ", ".join(f'"{n}"' for n in book.names) or "none"
            hint = (
                f'Add a sheet named "{wanted}" (sheets found: {found}).'
                if path.suffix.lower() != ".csv"
                else f"Put the categories in {path.stem}.categories.csv beside it."
            )
            problems.append(Problem(Location(file=path, sheet=wanted), "is missing", hint))
    if contacts_name is None or categories_name is None:
        raise ContactsError(problems + warnings)

    categories = _load_categories(
        book.files[categories_name], categories_name, book.rows[categories_name], problems
    )
    addressees = _load_addressees(
        book.files[contacts_name], contacts_name, book.rows[contacts_name], categories, problems
    )
    if problems:
        raise ContactsError(problems + warnings)
    return Contacts(path=path, addressees=addressees, categories=categories, warnings=warnings)


def _load_categories(
    path: Path, sheet: str, rows: list[Row], problems: list[Problem]
) -> dict[str, Category]:
    table = _table(rows, path, sheet, CATEGORY_COLUMNS, problems)
    if table is None:
        return {}
    index, shown, data = table
    out: dict[str, Category] = {}
    first_row: dict[str, int] = {}

    def at(row: int, name: str) -> Location:
        return Location(file=path, sheet=sheet, row=row, column=shown[name])

    for row, cells in data:
        values, errors = _row_values(cells, index, partial(at, row), problems)
        if not any(values.values()):
            continue
        where = Location(file=path, sheet=sheet, row=row)
        for name in CATEGORY_COLUMNS:
            if not values[name] and name not in errors:
                problems.append(
                    Problem(
                        at(row, name),
                        "is empty",
                        f"Write {CATEGORY_COLUMNS[name][1]} and run again.",
                    )
                )
            elif _CONTROL.search(values[name]):
                problems.append(
                    Problem(
                        at(row, name),
                        "contains a control character",
                        "Retype the cell and run again.",
                        value=values[name],
                    )
                )
        code = values["code"]
        if not code:
            continue
        if code.upper() in first_row:
            problems.append(
                Problem(
                    Location(file=path, sheet=sheet, row=row, column=shown["code"]),
                    f"is already the code of row {first_row[code.upper()]}",
                    "Give each category its own code.",
                    value=code,
                )
            )
            continue
        del where
        first_row[code.upper()] = row
        out[code.upper()] = Category(
            code=code.upper(), fr=values["fr"], en=values["en"], order=len(out)
        )
    return out


def _check_email(value: str) -> str | None:
    """The reason ``value`` is not an e-mail address, or None. No network is used."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc).rstrip(".")
    return None


def _load_addressees(
    path: Path,
    sheet: str,
    rows: list[Row],
    categories: dict[str, Category],
    problems: list[Problem],
) -> list[Addressee]:
    table = _table(rows, path, sheet, CONTACT_COLUMNS, problems)
    if table is None:
        return []
    index, shown, data = table
    out: list[Addressee] = []
    seen: dict[str, int] = {}

    def at(row: int, name: str) -> Location:
        return Location(file=path, sheet=sheet, row=row, column=shown.get(name, name))

    for row, cells in data:
        before = len(problems)
        values, errors = _row_values(cells, index, partial(at, row), problems)
        if not any(values.values()) and not errors:
            continue  # a blank row: Excel users leave them between groups
        for name, (required, what) in CONTACT_COLUMNS.items():
            if required and not values.get(name) and name not in errors:
                problems.append(Problem(at(row, name), "is empty", f"Write {what} and run again."))
        for name, value in values.items():
            pattern = _LINE_BREAK_OR_CONTROL if name in HEADER_COLUMNS else _CONTROL
            if pattern.search(value):
                problems.append(
                    Problem(
                        at(row, name),
                        "contains a line break or control character",
                        "Keep the cell on one line (it may reach a message header).",
                        value=value,
                    )
                )
        email = values["email"]
        if email:
            reason = _check_email(email)
            if reason:
                problems.append(
                    Problem(
                        at(row, "email"),
                        f"is not an e-mail address ({reason})",
                        "Correct the cell and run again.",
                        value=email,
                    )
                )
            elif email.lower() in seen:
                problems.append(
                    Problem(
                        at(row, "email"),
                        f"is also the address of row {seen[email.lower()]}",
                        "Each addressee gets one letter: merge the two rows (list every category "
                        "in one row) or remove one.",
                        value=email,
                    )
                )
            else:
                seen[email.lower()] = row
        language = values["language"].lower()
        if language and not languages.is_known(language):
            problems.append(
                Problem(
                    at(row, "language"),
                    "is not a language dispatch writes in",
                    "Write fr or en.",
                    value=values["language"],
                )
            )
        codes = tuple(
            dict.fromkeys(
                c.strip().upper() for c in _SPLIT.split(values["categories"]) if c.strip()
            )
        )
        for code in codes:
            if categories and code not in categories:
                known = ", ".join(categories) or "none"
                problems.append(
                    Problem(
                        at(row, "categories"),
                        f"names the category {code}, which is not in the "
                        f"Categories sheet (codes: {known})",
                        "Correct the code, or add the category to the Categories sheet.",
                        value=values["categories"],
                    )
                )
        cc = tuple(c.strip() for c in _SPLIT.split(values.get("cc", "")) if c.strip())
        for address in cc:
            reason = _check_email(address)
            if reason:
                problems.append(
                    Problem(
                        at(row, "cc"),
                        f"holds {address!r}, which is not an e-mail address ({reason})",
                        "Correct the cell and run again.",
                        value=values["cc"],
                    )
                )
        active_text = values.get("active", "").lower()
        if active_text not in _YES and active_text not in _NO:
            problems.append(
                Problem(
                    at(row, "active"),
                    "is neither yes nor no",
                    "Write yes or no (empty means yes).",
                    value=values["active"],
                )
            )
        if len(problems) > before:
            continue
        out.append(
            Addressee(
                row=row,
                email=email,
                language=language,
                categories=codes,
                civility=values.get("civility", ""),
                first_name=values.get("first_name", ""),
                last_name=values.get("last_name", ""),
                function=values.get("function", ""),
                organisation=values.get("organisation", ""),
                country=values.get("country", ""),
                salutation=values.get("salutation", ""),
                cc=cc,
                active=active_text not in _NO,
            )
        )
    return out


def select(
    contacts: Contacts,
    *,
    categories: Iterable[str],
    only: Iterable[str] = (),
    category: Iterable[str] = (),
) -> list[Addressee]:
    """The active addressees in any of ``categories`` (the mailing's), optionally narrowed.

    ``only`` keeps the given e-mail addresses; ``category`` keeps those categories.
    """
    wanted = {c.upper() for c in categories}
    only_set = {e.strip().lower() for e in only}
    narrow = {c.upper() for c in category}
    out = []
    for person in contacts.addressees:
        if not person.active or not wanted.intersection(person.categories):
            continue
        if only_set and person.key not in only_set:
            continue
        if narrow and not narrow.intersection(person.categories):
            continue
        out.append(person)
    return out
