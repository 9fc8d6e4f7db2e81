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

import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from email_validator import EmailNotValidError, validate_email

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
LANGUAGES = ("fr", "en")
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


def _clean(value: Any) -> str:
    """A cell as text: trimmed, NFC, numbers without a spurious ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            value = int(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = unicodedata.normalize("NFC", str(value))
    return text.strip()


def _header_key(value: Any) -> str:
    text = _clean(value).lower()
    return re.sub(r"[\s\-]+", "_", text)


def _read_sheets(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet of the file as raw cells (no header), by sheet name."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        sheets = {CONTACTS_SHEET: _read_csv(path)}
        companion = path.with_name(path.stem + ".categories.csv")
        if companion.exists():
            sheets[CATEGORIES_SHEET] = _read_csv(companion)
        return sheets
    engine: Literal["odf", "openpyxl"] = "odf" if suffix == ".ods" else "openpyxl"
    frames = pd.read_excel(
        path,
        sheet_name=None,
        header=None,
        dtype=object,
        engine=engine,
        keep_default_na=False,
        na_filter=False,
    )
    return {str(name): frame for name, frame in frames.items()}


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    import io

    sample = text[:4096]
    sep = ";" if sample.count(";") > sample.count(",") else ","
    return pd.read_csv(
        io.StringIO(text),
        header=None,
        dtype=object,
        sep=sep,
        keep_default_na=False,
        na_filter=False,
    )


def _open_problem(path: Path, exc: Exception) -> Problem:
    where = Location(file=path)
    suffix = path.suffix.lower()
    if isinstance(exc, FileNotFoundError):
        return Problem(
            where, "does not exist", "Give the path of the contacts workbook with --contacts."
        )
    if suffix == ".xls":
        return Problem(
            where,
            "is an old Excel 97-2003 workbook (.xls), which dispatch does not read",
            "Save it as .xlsx (File › Save As › Excel Workbook) and run again.",
        )
    if isinstance(exc, zipfile.BadZipFile) or "zip" in str(exc).lower():
        return Problem(
            where,
            "is not a readable .xlsx workbook (corrupt, password-protected, "
            "or another kind of file renamed)",
            "Open it in Excel or LibreOffice, remove any password, save it as .xlsx and run again.",
        )
    return Problem(
        where,
        f"cannot be read ({type(exc).__name__}: {exc})",
        "Open it in Excel or LibreOffice, save it as .xlsx and run again.",
    )


def _table(
    frame: pd.DataFrame,
    path: Path,
    sheet: str,
    columns: dict[str, tuple[bool, str]],
    problems: list[Problem],
) -> tuple[dict[str, int], dict[str, str], list[tuple[int, list[Any]]]] | None:
    """Find the header row's columns; return (column → index, column → header, data rows)."""
    rows = frame.values.tolist()
    if not rows:
        problems.append(
            Problem(
                Location(file=path, sheet=sheet),
                "is empty",
                f"Put the headers in row 1: {', '.join(columns)}.",
            )
        )
        return None
    header = rows[0]
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
    data = [(n + 2, list(r)) for n, r in enumerate(rows[1:])]
    return index, shown, data


def load_contacts(path: Path) -> Contacts:
    """Read and validate a contacts workbook; raise :class:`ContactsError` with every problem."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    lock = path.with_name("~$" + path.name)
    if lock.exists():
        warnings.append(
            Problem(
                Location(file=lock),
                "exists: the workbook may be open in Excel, with unsaved changes",
                "Save and close it in Excel first, so that dispatch reads what you see.",
                warning=True,
            )
        )
    try:
        sheets = _read_sheets(path)
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes a located problem
        raise ContactsError([_open_problem(path, exc)]) from None

    by_key = {name.strip().lower(): name for name in sheets}
    contacts_name = by_key.get(CONTACTS_SHEET.lower())
    categories_name = by_key.get(CATEGORIES_SHEET.lower())
    for wanted, found_name in (
        (CONTACTS_SHEET, contacts_name),
        (CATEGORIES_SHEET, categories_name),
    ):
        if found_name is None:
            found = ", ".join(f'"{n}"' for n in sheets) or "none"
            hint = (
                f'Add a sheet named "{wanted}" (sheets found: {found}).'
                if path.suffix.lower() != ".csv"
                else f"Put the categories in {path.stem}.categories.csv beside it."
            )
            problems.append(Problem(Location(file=path, sheet=wanted), "is missing", hint))
    if contacts_name is None or categories_name is None:
        raise ContactsError(problems + warnings)

    categories = _load_categories(path, categories_name, sheets[categories_name], problems)
    addressees = _load_addressees(path, contacts_name, sheets[contacts_name], categories, problems)
    if problems:
        raise ContactsError(problems + warnings)
    return Contacts(path=path, addressees=addressees, categories=categories, warnings=warnings)


def _load_categories(
    path: Path, sheet: str, frame: pd.DataFrame, problems: list[Problem]
) -> dict[str, Category]:
    table = _table(frame, path, sheet, CATEGORY_COLUMNS, problems)
    if table is None:
        return {}
    index, shown, data = table
    out: dict[str, Category] = {}
    first_row: dict[str, int] = {}
    for row, cells in data:
        values = {k: _clean(cells[i]) if i < len(cells) else "" for k, i in index.items()}
        if not any(values.values()):
            continue
        where = Location(file=path, sheet=sheet, row=row)
        for name in CATEGORY_COLUMNS:
            if not values[name]:
                problems.append(
                    Problem(
                        Location(file=path, sheet=sheet, row=row, column=shown[name]),
                        "is empty",
                        f"Write {CATEGORY_COLUMNS[name][1]} and run again.",
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
    frame: pd.DataFrame,
    categories: dict[str, Category],
    problems: list[Problem],
) -> list[Addressee]:
    table = _table(frame, path, sheet, CONTACT_COLUMNS, problems)
    if table is None:
        return []
    index, shown, data = table
    out: list[Addressee] = []
    seen: dict[str, int] = {}

    def at(row: int, name: str) -> Location:
        return Location(file=path, sheet=sheet, row=row, column=shown.get(name, name))

    for row, cells in data:
        values = {k: _clean(cells[i]) if i < len(cells) else "" for k, i in index.items()}
        if not any(values.values()):
            continue  # a blank row: Excel users leave them between groups
        before = len(problems)
        for name, (required, what) in CONTACT_COLUMNS.items():
            if required and not values.get(name):
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
        if language and language not in LANGUAGES:
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
