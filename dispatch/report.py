"""The state of a mailing, for people: a workbook with one row per addressee.

Written with openpyxl. A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (an
SMTP reply, a name from the workbook) is stored as text, never as a formula: opening the
report must not run anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # openpyxl is imported by write_report: no start-up cost for other commands
    from openpyxl.cell.cell import Cell

from dispatch.journal import JournalRow
from dispatch.output import write_atomic

COLUMNS = [
    "email",
    "recipients",
    "language",
    "categories",
    "state",
    "attempts",
    "smtp code",
    "reply",
    "sent at",
    "updated at",
    "message id",
]


def _text_cell(cell: Cell, value: object) -> None:
    if value is None:
        return
    cell.value = str(value) if not isinstance(value, int) else value
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never a formula, whatever the first character


def write_report(rows: Iterable[JournalRow], path: Path) -> int:
    """Write one row per journal row to ``path`` (.xlsx); return how many rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "Report"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    count = 0
    for count, row in enumerate(rows, start=1):
        values: list[object] = [
            row.key,
            ", ".join(row.recipients),
            row.language,
            ", ".join(row.categories),
            row.state,
            row.attempts,
            row.code,
            row.reply,
            row.sent_at.isoformat(timespec="seconds") if row.sent_at else None,
            row.updated_at.isoformat(timespec="seconds"),
            row.message_id,
        ]
        for column, value in enumerate(values, start=1):
            _text_cell(sheet.cell(row=count + 1, column=column), value)
    sheet.freeze_panes = "A2"
    for letter, width in zip(
        "ABCDEFGHIJK", (34, 40, 9, 14, 17, 9, 10, 60, 20, 20, 44), strict=True
    ):
        sheet.column_dimensions[letter].width = width
    import io

    buffer = io.BytesIO()
    wb.save(buffer)
    write_atomic(path, buffer.getvalue())
    return count
