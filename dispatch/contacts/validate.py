"""Validating a contacts workbook's rows into addressees, and selecting a mailing's.

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

import datetime as dt
import re
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from dispatch import languages
from dispatch.contacts.columns import find_columns, header_key, typed_columns, values_of
from dispatch.contacts.lines import lines_unread
from dispatch.contacts.model import (
    CATEGORY_COLUMNS,
    CONTACT_COLUMNS,
    HEADER_COLUMNS,
    Addressee,
    Category,
    Column,
    Contacts,
)
from dispatch.contacts.reading import (
    CATEGORIES_SHEET,
    CONTACTS_SHEET,
    CellError,
    Row,
    Uncalculated,
    Unreadable,
    lock_files,
    open_problem,
    read_book,
)
from dispatch.contacts.reading import cell_text as _clean
from dispatch.errors import ContactsError, Location, Problem, quoted

__all__ = ["load_contacts", "select"]

_YES = {"yes", "y", "oui", "o", "true", "1", "x", ""}
_NO = {"no", "n", "non", "false", "0"}
_SPLIT = re.compile(r"[;,\n]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_BREAK_OR_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


_header_key = header_key


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
                same = _clean(cell) == shown[key]
                problems.append(
                    Problem(
                        Location(file=path, sheet=sheet, row=1, column=_clean(cell)),
                        "appears twice in the headers"
                        if same
                        else f'is read as the column {key}, like "{shown[key]}"',
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
    count = len(cells)
    for name, i in index.items():
        cell = cells[i] if i < count else None
        kind = type(cell)
        if kind is str or cell is None:  # nearly every cell: no marker to look for
            values[name] = _clean(cell)
            continue
        if kind is Uncalculated:
            problems.append(
                Problem(
                    at(name),
                    "holds a formula whose value was never calculated (the workbook was "
                    "written by a program and never opened in a spreadsheet)",
                    "Open and save the workbook in Excel or LibreOffice, and run again.",
                )
            )
            errors.add(name)
            cell = None
        elif isinstance(cell, CellError):
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


#: Columns that hold words (a name, a title, an organisation): a date or a number typed
#: there is a slip (a cell formatted as Date turns "1/5" into the 1st of May).
NAME_COLUMNS = ("civility", "first_name", "last_name", "function", "organisation", "country")


def _typed_names(
    cells: list[Any],
    index: dict[str, int],
    at: Callable[[str], Location],
    values: dict[str, str],
) -> list[Problem]:
    """Warnings for a date or a number where a name is expected."""
    found: list[Problem] = []
    for name in NAME_COLUMNS:
        i = index.get(name)
        cell = cells[i] if i is not None and i < len(cells) else None
        if cell is None or type(cell) is str:
            continue
        if isinstance(cell, (dt.date, dt.time)):
            kind = "a date"
        elif isinstance(cell, (int, float)) and not isinstance(cell, bool):
            kind = "a number"
        else:
            continue
        found.append(
            Problem(
                at(name),
                f"holds {kind} where a name or organisation is expected; the letters "
                "print it as it is",
                "Type the text in the cell (format the column as Text if the spreadsheet "
                "keeps changing it), or leave it empty.",
                value=values.get(name, ""),
                warning=True,
            )
        )
    return found


def load_contacts(path: Path) -> Contacts:
    """Read and validate a contacts workbook; raise :class:`ContactsError` with every problem."""
    problems: list[Problem] = []
    warnings = lock_files(path)
    try:
        book = read_book(path)
    except Unreadable as exc:
        raise ContactsError([*exc.problems, *warnings]) from None
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes a located problem
        raise ContactsError([open_problem(path, exc), *warnings]) from None
    warnings += book.warnings
    if not book.names:
        problem = Problem(
            Location(file=path),
            "holds no sheet at all",
            f'Add a sheet "{CONTACTS_SHEET}" and a sheet "{CATEGORIES_SHEET}", save and run again.',
        )
        raise ContactsError([problem, *warnings])

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
    own: tuple[list[Column], dict[str, str]] = ([], {})  # own columns, every header
    addressees = _load_addressees(
        book.files[contacts_name],
        contacts_name,
        book.rows[contacts_name],
        categories,
        problems,
        warnings=warnings,
        own=own,
    )
    problems += lines_unread(book.files[categories_name], categories_name, categories, addressees)
    if problems:
        raise ContactsError(problems + warnings)
    return Contacts(path, addressees, categories, warnings, book.digests, own[0], own[1])


def _load_categories(
    path: Path, sheet: str, rows: list[Row], problems: list[Problem]
) -> dict[str, Category]:
    columns = CATEGORY_COLUMNS | {
        code: (False, f"the addressee line in {languages.get(code).name}")
        for code in languages.codes()
    }
    table = _table(rows, path, sheet, columns, problems)
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
        for name in values:
            if not values[name] and name not in errors and name in CATEGORY_COLUMNS:
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
        lines = {k: v for k, v in values.items() if k not in CATEGORY_COLUMNS and v}
        out[code.upper()] = Category(code=code.upper(), lines=lines, order=len(out), row=row)
    return out


#: An address of the plainest kind (ASCII, dot-atoms, a letters-only top-level domain):
#: every one email_validator accepts too, at a hundredth of its cost. Anything else, and
#: any reason for a refusal, is email_validator's.
_PLAIN_EMAIL = re.compile(
    r"(?=[^@]{1,64}@)[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def _is_plain_email(value: str) -> bool:
    """Whether ``value`` is an ordinary address that needs no closer look.

    >>> _is_plain_email("anne.martin@example.org"), _is_plain_email("a@b.test")
    (True, False)
    """
    if len(value) > 254 or "--" in value or not _PLAIN_EMAIL.fullmatch(value):
        return False
    # The special-use names are single labels: a domain is one of them, or under one,
    # exactly when its top-level label is.
    return value.rpartition(".")[2].lower() not in _SPECIAL_USE


def _check_email(value: str) -> str | None:
    """The reason ``value`` is not an e-mail address, or None. No network is used."""
    if _is_plain_email(value):
        return None
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
    *,
    warnings: list[Problem] | None = None,
    own: tuple[list[Column], dict[str, str]] | None = None,
) -> list[Addressee]:
    """The Contacts sheet's addressees; ``own`` (when given) receives its own columns,
    typed, and every column's header by name."""
    table = _table(rows, path, sheet, CONTACT_COLUMNS, problems)
    if table is None:
        return []
    index, shown, data = table
    header = rows[0][1] if rows[0][0] == 1 else []
    extra = typed_columns(find_columns(header, path, sheet, problems), data)
    index = {**index, **{c.name: c.index for c in extra}}
    shown = {**shown, **{c.name: c.header for c in extra}}
    if own is not None:
        own[0].extend(extra)
        own[1].update(shown)
    out: list[Addressee] = []
    seen: dict[str, int] = {}

    def at(row: int, name: str) -> Location:
        return Location(file=path, sheet=sheet, row=row, column=shown.get(name, name))

    for row, cells in data:
        before = len(problems)
        here = partial(at, row)
        values, errors = _row_values(cells, index, here, problems)
        if not any(values.values()) and not errors:
            continue  # a blank row: Excel users leave them between groups
        if warnings is not None:
            warnings += _typed_names(cells, index, here, values)
        for name, (required, what) in CONTACT_COLUMNS.items():
            if required and not values.get(name) and name not in errors:
                problems.append(Problem(at(row, name), "is empty", f"Write {what} and run again."))
        _check_controls(values, here, problems)
        email = values["email"]
        _check_address(email, row, seen, here, problems)
        language = _language(values, here, problems)
        codes = _codes(values, categories, here, problems)
        cc = _cc(values, here, problems)
        personal = values_of(cells, extra, values, here, problems, warnings) if extra else {}
        active = _active(values, here, problems)
        if len(problems) > before:
            continue
        out.append(_addressee(row, values, email, language, codes, cc, active, personal))
    return out


def _active(values: dict[str, str], at: Callable[[str], Location], problems: list[Problem]) -> bool:
    """Whether the row is active: yes, or empty; no leaves it out."""
    active_text = values.get("active", "").lower()
    if active_text not in _YES and active_text not in _NO:
        problems.append(
            Problem(
                at("active"),
                "is neither yes nor no",
                "Write yes or no (empty means yes).",
                value=values["active"],
            )
        )
    return active_text not in _NO


def _addressee(
    row: int,
    values: dict[str, str],
    email: str,
    language: str,
    codes: tuple[str, ...],
    cc: tuple[str, ...],
    active: bool,
    personal: dict[str, Any],
) -> Addressee:
    """The addressee of a row with no problem."""
    return Addressee(
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
        active=active,
        attachments=tuple(
            name.strip()
            for name in re.split(r"[;\n]", values.get("attachments", ""))
            if name.strip()
        ),
        extra=personal,
    )


def _check_controls(
    values: dict[str, str], at: Callable[[str], Location], problems: list[Problem]
) -> None:
    """A line break or control character in a cell (none at all in a header's)."""
    # One search over the whole row first: a clean row (nearly all) costs one call.
    suspect = _LINE_BREAK_OR_CONTROL.search("".join(values.values())) is not None
    for name, value in values.items() if suspect else ():
        pattern = _LINE_BREAK_OR_CONTROL if name in HEADER_COLUMNS else _CONTROL
        if pattern.search(value):
            problems.append(
                Problem(
                    at(name),
                    "contains a line break or control character",
                    "Keep the cell on one line (it may reach a message header).",
                    value=value,
                )
            )


def _check_address(
    email: str,
    row: int,
    seen: dict[str, int],
    at: Callable[[str], Location],
    problems: list[Problem],
) -> None:
    """The e-mail address: well formed, and not one an earlier row already has."""
    if email:
        reason = _check_email(email)
        if reason:
            problems.append(
                Problem(
                    at("email"),
                    f"is not an e-mail address ({reason})",
                    "Correct the cell and run again.",
                    value=email,
                )
            )
        elif email.lower() in seen:
            problems.append(
                Problem(
                    at("email"),
                    f"is also the address of row {seen[email.lower()]}",
                    "Each addressee gets one letter: merge the two rows (list every category "
                    "in one row) or remove one.",
                    value=email,
                )
            )
        else:
            seen[email.lower()] = row


def _language(
    values: dict[str, str], at: Callable[[str], Location], problems: list[Problem]
) -> str:
    """The row's language code (a name resolved), one dispatch writes in."""
    language = languages.resolve(values["language"]) or values["language"].lower()
    if language and not languages.is_known(language):
        close = languages.suggest(values["language"])
        known = ", ".join(languages.codes())
        problems.append(
            Problem(
                at("language"),
                "is not a language dispatch writes in",
                (f'Did you mean "{close}"? ' if close else "")
                + f"Write one of {known} (or the language's name) and run again.",
                value=values["language"],
            )
        )
    return language


def _codes(
    values: dict[str, str],
    categories: dict[str, Category],
    at: Callable[[str], Location],
    problems: list[Problem],
) -> tuple[str, ...]:
    """The row's category codes, each in the Categories sheet when it has any."""
    codes = tuple(
        dict.fromkeys(c.strip().upper() for c in _SPLIT.split(values["categories"]) if c.strip())
    )
    for code in codes:
        if categories and code not in categories:
            known = ", ".join(categories) or "none"
            problems.append(
                Problem(
                    at("categories"),
                    f"names the category {code}, which is not in the "
                    f"Categories sheet (codes: {known})",
                    "Correct the code, or add the category to the Categories sheet.",
                    value=values["categories"],
                )
            )
    return codes


def _cc(
    values: dict[str, str], at: Callable[[str], Location], problems: list[Problem]
) -> tuple[str, ...]:
    """The addresses in copy, each well formed."""
    cc = tuple(c.strip() for c in _SPLIT.split(values.get("cc", "")) if c.strip())
    for address in cc:
        reason = _check_email(address)
        if reason:
            problems.append(
                Problem(
                    at("cc"),
                    f"holds {quoted(address)}, which is not an e-mail address ({reason})",
                    "Correct the cell and run again.",
                    value=values["cc"],
                )
            )
    return cc


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
