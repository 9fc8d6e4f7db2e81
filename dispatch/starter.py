"""``dispatch init``: a new mailing folder that checks and renders at once.

Two ways to start:

* a **blank starter** (:func:`start_mailing` with ``kind``): a commented
  ``mailing.toml`` (an invitation or a consultation; every field a first mailing needs,
  each with a line saying what it is), a contacts workbook with its two sheets, their
  headers, a few fictional rows (``example.org`` addresses) and dropdowns on ``language``
  and ``active``, and a letterhead to fill in;
* a **sample** (``sample="tsb-352"``): one of the five sample mailings dispatch ships,
  copied with what it names (the shared letterhead and its logo, the sample workbook), its
  paths made to point into the new folder.

Nothing is ever written over: if any of the files exists, nothing is written and the
error names each one. The files are created exclusively (a file that appears meanwhile is
not replaced either).

>>> "tsb-352" in SAMPLE_NAMES and "wsis-2021" in SAMPLE_NAMES
True
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dispatch import languages
from dispatch.contacts.model import CATEGORY_COLUMNS, CONTACT_COLUMNS
from dispatch.errors import InvalidInput, Location, Problem
from dispatch.files import cannot_write
from dispatch.resources import SAMPLES, package_path

__all__ = ["KINDS", "SAMPLE_NAMES", "Started", "start_mailing"]

Kind = Literal["invitation", "consultation"]

#: The letter kinds a blank starter is written for.
KINDS: tuple[Kind, ...] = ("invitation", "consultation")

#: The sample mailings shipped with dispatch (folders of ``mailings/`` in the repository).
SAMPLE_NAMES: tuple[str, ...] = tuple(
    sorted(p.name for p in (SAMPLES / "mailings").iterdir() if (p / "mailing.toml").is_file())
)

# Most samples share a letterhead and the repository's workbook outside their folders; in
# a copy they are beside the mailing file. A sample with its own workbook keeps it.
_SHARED_CONTACTS = ('contacts = "../../contacts.xlsx"', 'contacts = "contacts.xlsx"')
_SHARED_LETTERHEAD = ('file = "../letterhead.toml"', 'file = "letterhead.toml"')
_SHARED = ("letterhead.toml", "letterhead-logo.svg")

#: The fictional addressees of a blank starter's workbook: both languages, a copy, a
#: personal salutation and an inactive row, so that ``check`` shows what each does.
_ROWS: tuple[Mapping[str, str], ...] = (
    {
        "email": "claire.martin@example.org",
        "civility": "Mme",
        "first_name": "Claire",
        "last_name": "Martin",
        "function": "Directrice",
        "organisation": "Ministère exemple",
        "country": "France",
        "categories": "MEM",
        "language": "fr",  # language-literal: a fictional row of the starter
        "active": "yes",
    },
    {
        "email": "john.smith@example.org",
        "civility": "Mr",
        "first_name": "John",
        "last_name": "Smith",
        "function": "Director",
        "organisation": "Example Ministry",
        "country": "United Kingdom",
        "categories": "MEM",
        "language": "en",  # language-literal: a fictional row of the starter
        "salutation": "Dear Mr Smith,",
        "active": "yes",
    },
    {
        "email": "lea.dubois@example.org",
        "civility": "Mme",
        "first_name": "Léa",
        "last_name": "Dubois",
        "organisation": "Observatoire exemple",
        "country": "Suisse",
        "categories": "OBS",
        "language": "fr",  # language-literal: a fictional row of the starter
        "cc": "assistant@example.org",
        "active": "yes",
    },
    {
        "email": "old.address@example.org",
        "first_name": "Former",
        "last_name": "Member",
        "categories": "MEM",
        "language": "en",  # language-literal: a fictional row of the starter
        "active": "no",
    },
)
_LANGUAGES = ("fr", "en")  # language-literal: the starter's mailing.toml is in these two
_CATEGORIES = (
    ("MEM", "Aux Membres", "Members"),
    ("OBS", "Aux observateurs", "Observers"),
)


@dataclass(frozen=True)
class Started:
    """What :func:`start_mailing` wrote: the folder, and each file, in the order written."""

    folder: Path
    files: tuple[Path, ...]
    sample: str | None = None
    kind: str | None = None

    @property
    def mailing(self) -> Path:
        """The new mailing file."""
        return self.folder / "mailing.toml"


def start_mailing(
    folder: str | os.PathLike[str], *, kind: Kind = "invitation", sample: str | None = None
) -> Started:
    """Write a new mailing into ``folder`` (made if missing): a blank starter of ``kind``,
    or a copy of the shipped ``sample``. Never writes over a file.

    Raises :class:`~dispatch.errors.InvalidInput` (nothing written) for an unknown kind or
    sample and for every file that already exists, and
    :class:`~dispatch.errors.OutputError` if the folder cannot be written.
    """
    target = Path(os.path.abspath(folder))
    if sample is not None:
        files = _sample_files(sample)
    elif kind in KINDS:
        files = _blank_files(kind)
    else:
        raise InvalidInput(
            [
                Problem(
                    Location(field="kind"),
                    f"{kind!r} is not a kind of letter dispatch starts",
                    f"Choose {' or '.join(KINDS)}.",
                )
            ]
        )
    existing = [
        Problem(
            Location(file=str(target / name)),
            "already exists; dispatch init never writes over a file",
            "Choose a new folder, or move the file away and run again.",
        )
        for name in files
        if os.path.lexists(target / name)
    ]
    if existing:
        raise InvalidInput(existing)
    written: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            path = target / name
            with path.open("xb") as handle:  # exclusive: never over a file made meanwhile
                written.append(path)
                handle.write(data)
    except FileExistsError as exc:
        _remove(written)
        raise InvalidInput(
            [
                Problem(
                    Location(file=str(exc.filename or target)),
                    "appeared while dispatch init was writing; nothing was written over it",
                    "Run again in a new folder.",
                )
            ]
        ) from None
    except OSError as exc:
        _remove(written)
        raise cannot_write(target, exc) from None
    return Started(target, tuple(written), sample, None if sample else kind)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _sample_files(name: str) -> dict[str, bytes]:
    if name not in SAMPLE_NAMES:
        raise InvalidInput(
            [
                Problem(
                    Location(field="sample"),
                    f"{name!r} is not a sample of dispatch",
                    f"Choose one of {', '.join(SAMPLE_NAMES)}.",
                )
            ]
        )
    source = SAMPLES / "mailings" / name
    files: dict[str, bytes] = {}
    for path in sorted(source.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            files[path.name] = path.read_bytes()
    text = files["mailing.toml"].decode("utf-8")
    shared, own = _SHARED_CONTACTS
    if shared in text:
        text = text.replace(shared, own)
        files["contacts.xlsx"] = (SAMPLES / "contacts.xlsx").read_bytes()
    shared, own = _SHARED_LETTERHEAD
    if shared in text:
        text = text.replace(shared, own)
        for shared_file in _SHARED:
            files[shared_file] = (SAMPLES / "mailings" / shared_file).read_bytes()
    files["mailing.toml"] = text.encode("utf-8")
    return files


def _blank_files(kind: Kind) -> dict[str, bytes]:
    return {
        "mailing.toml": package_path("_starter", f"{kind}.toml").read_bytes(),
        "contacts.xlsx": starter_workbook(),
        "letterhead.toml": package_path("_starter", "letterhead.toml").read_bytes(),
    }


def starter_workbook() -> bytes:
    """The blank starter's ``contacts.xlsx``: both sheets, headers, fictional rows, and
    dropdowns (data validation) on ``language`` and ``active`` for the rows to come."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Contacts"
    columns = list(CONTACT_COLUMNS)
    sheet.append(columns)
    for row in _ROWS:
        sheet.append([row.get(column, "") for column in columns])
    last = 1000  # the dropdowns cover the rows a first mailing fills in
    for column, choices, what in (
        ("language", ",".join(languages.codes()), "a language code"),
        ("active", "yes,no", "yes or no (empty means yes)"),
    ):
        letter = get_column_letter(columns.index(column) + 1)
        check = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
        check.error = f"{column}: {what}."
        check.errorTitle = f"Not a value of {column}"
        check.showErrorMessage = True
        check.add(f"{letter}2:{letter}{last}")
        sheet.add_data_validation(check)
    categories = book.create_sheet("Categories")
    # the code, then one column per language of the starter: the addressee line in it
    categories.append([*CATEGORY_COLUMNS, *_LANGUAGES])
    for code, fr, en in _CATEGORIES:
        categories.append([code, fr, en])
    for ws in (sheet, categories):
        ws.freeze_panes = "A2"
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for index, column_cells in enumerate(ws.columns, start=1):
            width = max(len(str(c.value or "")) for c in column_cells)
            ws.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 10), 40)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
