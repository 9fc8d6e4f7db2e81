"""The fix list: the addresses that bounced, with the workbook sheet and row to correct.

Staff open it beside the contacts workbook, correct each row it names, and send the
mailing again (a corrected address is a new addressee). Every text cell is stored as
text, never as a formula: a server's diagnostic may begin with ``=`` or ``@``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from openpyxl import Workbook
from openpyxl.styles import Font

from dispatch.bounces.errors import BounceError
from dispatch.output import write_atomic

__all__ = ["COLUMNS", "FixListEntry", "FixListRow", "write_fix_list"]

COLUMNS = ("address", "name", "sheet", "row", "status", "diagnostic")
_WIDTHS = (36, 30, 14, 7, 9, 90)


class FixListRow(Protocol):
    """What the fix list needs of one bounce: any object with these attributes."""

    @property
    def address(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def sheet(self) -> str | None: ...
    @property
    def row(self) -> int | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def diagnostic(self) -> str: ...


@dataclass(frozen=True)
class FixListEntry:
    """One address to correct: where it is in the workbook, and what the server said.

    ``sheet`` and ``row`` are ``None`` when the journal no longer knows the row (the
    addressee left the workbook since the mailing was sent).
    """

    address: str
    name: str
    sheet: str | None
    row: int | None
    status: str | None
    diagnostic: str


def write_fix_list(bounces_with_rows: Iterable[FixListRow], path: Path) -> int:
    """Write one row per bounce to ``path`` (.xlsx), sorted by sheet and row; return how many.

    Raises :class:`BounceError` if ``path`` does not end in ``.xlsx`` (the file would
    not open as what its name says) or cannot be written.
    """
    if path.suffix.lower() != ".xlsx":
        raise BounceError(
            str(path),
            "a fix list is an Excel workbook, but the name does not end in .xlsx",
            "Give a name ending in .xlsx, like fix-list.xlsx.",
        )
    entries = sorted(
        bounces_with_rows,
        key=lambda e: (e.sheet or "\uffff", e.row if e.row is not None else 1 << 30, e.address),
    )
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "Fix list"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, entry in enumerate(entries, start=2):
        values = (entry.address, entry.name, entry.sheet, entry.row, entry.status)
        for column, value in enumerate((*values, entry.diagnostic), start=1):
            if value is None:
                continue
            cell = sheet.cell(row=number, column=column, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the first character
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEF", _WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    try:
        write_atomic(path, buffer.getvalue(), private=True)  # names people: 0600
    except OSError as error:
        raise BounceError(
            str(path),
            f"cannot be written ({error.strerror or error})",
            "Choose a folder you may write to, with free space.",
        ) from None
    return len(entries)
