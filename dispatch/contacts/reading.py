"""Reading a contacts workbook: a file's bytes → the rows of raw cells of its sheets.

This module knows file formats (``.xlsx``, ``.xlsm``, ``.ods``, ``.xls``, ``.csv``) and
nothing of what a contact is; :mod:`dispatch.contacts.validate` turns the rows it returns
into addressees. Workbooks are read with calamine (Rust: a 20 000-row sheet in well under a
second). What python-calamine (0.9) does not say is asked of openpyxl where openpyxl says
it fast enough, else found by a scan of the sheet's XML, each place naming what is missing:

- cells that hold an Excel error (``#N/A``; calamine reads them as empty): openpyxl's
  streaming reader, for a sheet whose XML holds one;
- rows hidden or filtered out, and formulas never calculated: the XML scan (see
  :func:`dispatch.contacts.workbook._xlsx_scans` for why no library here);
- a sheet so sparse (one value in row 1 048 576) that calamine's dense grid would cost
  gigabytes: read by openpyxl's streaming reader instead.

Every way a file can fail to be a workbook becomes a located :class:`Problem`, raised as
:class:`Unreadable`.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

from dispatch.contacts.cells import (
    CATEGORIES_SHEET,
    CONTACTS_SHEET,
    Book,
    CellError,
    Row,
    Uncalculated,
    Unreadable,
    cell_text,
    column_letter,
)
from dispatch.contacts.csvfile import _read_csv
from dispatch.contacts.workbook import _read_workbook
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
        _sniff_ole(path, suffix, where, unreadable)
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


def _sniff_ole(path: Path, suffix: str, where: Location, unreadable: str) -> None:
    """An OLE2 container: an encrypted .xlsx, or an old .xls that must be named so."""
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
                f"is an old Excel 97-2003 workbook (.xls), named {suffix or 'without extension'}",
                f"Rename it {path.stem}.xls and run again.",
            )
        )


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
