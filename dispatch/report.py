"""The state of a mailing, for a manager: a workbook (or a CSV file) written from the journal.

``report.xlsx`` has two sheets. *Summary*: the mailing's reference, subject and sender,
the first and last send, and the number of messages by state, language and category.
*Messages*: one row per message with the addressee's name, organisation and country
(read from the contacts workbook, since the journal keeps only addresses), the state,
the SMTP reply and the times, as real dates in local time, under a frozen header row with
a filter. A ``.csv`` path gets the Messages sheet as CSV.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (an SMTP reply, a name from the
workbook) is stored as text, never as a formula: opening the report must not run
anything. In the CSV file such a cell starts with an apostrophe, for the same reason.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # openpyxl is imported where a workbook is written: no start-up cost
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

from dispatch.approval_journal import ApprovalRecord, approval_in_force
from dispatch.contacts import Addressee, Contacts, load_contacts
from dispatch.errors import DispatchError, InvalidInput, Location, Problem
from dispatch.journal import Journal, JournalRow
from dispatch.mailing import Mailing
from dispatch.output import write_atomic
from dispatch.prepare import contacts_path_for, templates_path_for
from dispatch.render import Renderer
from dispatch.templates import TemplateSet

SENT_COPY_REFUSED = "sent, copy refused"
SENT_COPY_BOUNCED = "sent, copy bounced"
FAILED_TEMPORARY_BOUNCE = "bounced, temporary"
SUFFIXES = (".xlsx", ".csv")

# (header, width) of the Messages sheet, in order.
MESSAGE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Name", 26),
    ("Organisation", 34),
    ("Country", 16),
    ("E-mail", 32),
    ("Copies to", 28),
    ("Categories", 12),
    ("Language", 9),
    ("State", 18),
    ("Attempts", 9),
    ("SMTP code", 10),
    ("SMTP reply", 60),
    ("Bounce", 50),
    ("Bounced at", 18),
    ("Sent at", 18),
    ("Updated at", 18),
    ("Message-ID", 40),
    ("Approval", 30),
)
#: the last column when some addressees have files of their own (see dispatch.personal)
OWN_FILES_COLUMN = ("Own files", 34)
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
_SUMMARY_WIDTHS = (20, 20, 16, 14, 12)
_VALUE_CHARS = 58  # about what columns B to E hold on a line
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote."""

    path: Path
    messages: int
    warnings: list[Problem] = field(default_factory=list)


def state_label(row: JournalRow) -> str:
    """The state as people read it: ``sent, copy refused`` when a Cc was refused.

    The journal stores such a message as ``sent`` (it reached its addressee) with the
    refusals in its reply text, which ``send`` writes as ``…; refused: <address> (550 …)``.
    """
    if row.bounce is not None:  # the relay took it, then a notification came back
        if row.bounce.kind == "bounced" and not row.bounce.permanent:
            return FAILED_TEMPORARY_BOUNCE  # a full mailbox: the address is right
        return row.bounce.kind
    if row.state == "sent" and row.reply and "refused: " in row.reply:
        return SENT_COPY_REFUSED
    if row.copy_bounces:  # the addressee's own message arrived; a copy (Cc) came back
        return SENT_COPY_BOUNCED
    return row.state


def bounce_text(row: JournalRow) -> str:
    """``5.1.1 unknown user: …``: what the notification said, or "" without one; a
    copy's is named ``Cc x@example.org: 5.1.1 …``."""
    said = [
        " ".join(p for p in (prefix, bounce.status, bounce.diagnostic) if p)
        for bounce, prefix in (
            (row.bounce, ""),
            *((copy, f"Cc {copy.recipient}:") for copy in row.copy_bounces),
        )
        if bounce is not None
    ]
    return "; ".join(said)


def write_report(
    mailing: Mailing,
    journal: Journal | Iterable[JournalRow],
    out_path: Path,
    *,
    contacts: Contacts | None = None,
    contacts_path: Path | None = None,
    subjects: Mapping[str, str] | None = None,
    zone: tzinfo | None = None,
) -> Report:
    """Write the report of ``mailing`` to ``out_path`` (``.xlsx`` or ``.csv``).

    ``journal``: an open :class:`Journal` (read-only is enough) or its rows.
    ``contacts``: the loaded workbook; if ``None`` it is loaded from ``contacts_path``
    (else the mailing's ``contacts`` key, else ``./contacts.xlsx``), and a workbook that
    cannot be read is a warning: the report is written without names.
    ``subjects``: the subject per language as sent (default: the mailing file's text).
    ``zone``: the zone of the times written (default: this machine's).
    Raises :class:`InvalidInput` for another suffix, before writing anything.
    """
    suffix = out_path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(
            [
                Problem(
                    Location(file=out_path),
                    f"has the suffix {suffix or '(none)'!r}: a report is .xlsx or .csv",
                    "Name the file report.xlsx (Excel, LibreOffice) or report.csv.",
                )
            ]
        )
    rows = journal.rows() if isinstance(journal, Journal) else list(journal)
    approval = approval_in_force(journal) if isinstance(journal, Journal) else None
    warnings: list[Problem] = []
    people: dict[str, Addressee] = {}
    if contacts is None:
        contacts, warnings = _load_contacts(mailing, contacts_path)
    if contacts is not None:
        people = {p.key: p for p in contacts.addressees}
    if subjects is None and contacts is not None:
        subjects = _subjects(mailing, contacts, rows)
    local = zone or datetime.now().astimezone().tzinfo or UTC
    own = _own_files(mailing, contacts) if contacts is not None else {}
    columns = MESSAGE_COLUMNS + ((OWN_FILES_COLUMN,) if own else ())
    messages = [_message_values(row, people.get(row.key), local) for row in rows]
    if own:
        messages = [
            [*values, "; ".join(own.get(row.key, ()))]
            for values, row in zip(messages, rows, strict=True)
        ]
    if suffix == ".csv":
        write_atomic(out_path, _csv(messages, columns), private=True)
    else:
        write_atomic(
            out_path,
            _xlsx(mailing, rows, messages, subjects, local, columns, approval),
            private=True,
        )
    return Report(path=out_path, messages=len(rows), warnings=warnings)


def _own_files(mailing: Mailing, contacts: Contacts) -> dict[str, list[str]]:
    """Each addressee's own files by key, as named for them (not read: the report says
    what the letters carry, the files may have moved since)."""
    if not any(p.attachments for p in contacts.addressees) and not any(
        a.per_addressee for a in mailing.annexes
    ):
        return {}
    renderer = Renderer(mailing, contacts, TemplateSet(templates_path_for(mailing, None)))
    out: dict[str, list[str]] = {}
    for person in contacts.addressees:
        lang = person.language if person.language in mailing.languages else mailing.languages[0]
        names = renderer.own_file_names(person, lang, [])
        if names:
            out[person.key] = [name for name, _source, _annex in names]
    return out


def _load_contacts(mailing: Mailing, given: Path | None) -> tuple[Contacts | None, list[Problem]]:
    path = contacts_path_for(mailing, given)
    try:
        return load_contacts(path), []
    except DispatchError as exc:
        return None, [
            Problem(
                Location(file=path),
                f"could not be read ({exc}); the report has addresses but no names",
                "Give the workbook with --contacts, or correct it, and write the report again.",
                warning=True,
            )
        ]


def _subjects(mailing: Mailing, contacts: Contacts, rows: Sequence[JournalRow]) -> dict[str, str]:
    """The subject per language as sent: rendered for one addressee of that language.

    A template that cannot be rendered any more (changed since the send) leaves the
    mailing file's text, placeholders and all: the report is still written.
    """
    people = {p.key: p for p in contacts.addressees}
    renderer = Renderer(mailing, contacts, TemplateSet())
    found: dict[str, str] = {}
    for row in rows:
        person = people.get(row.key)
        if person is None or row.language in found:
            continue
        try:
            found[row.language] = renderer.letter(
                dataclasses.replace(person, language=row.language), ""
            ).subject
        except DispatchError:
            found[row.language] = mailing.subject.get(row.language)
    return found


def _local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    """A naive datetime in ``zone``: Excel has no time zones, a cell shows what it holds."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the journal writes UTC
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _message_values(row: JournalRow, person: Addressee | None, zone: tzinfo) -> list[object]:
    name = " ".join(p for p in (person.civility, person.full_name) if p) if person else ""
    return [
        name,
        person.organisation if person else "",
        person.country if person else "",
        row.recipients[0] if row.recipients else row.key,
        ", ".join(row.recipients[1:]),
        " ".join(row.categories),
        row.language,
        state_label(row),
        row.attempts,
        row.code,
        row.reply or "",  # what the relay said when it took the message
        bounce_text(row),  # and what came back afterwards, if anything
        _local(_came_back(row), zone),
        _local(row.sent_at, zone),
        _local(row.updated_at, zone),
        row.message_id,
        row.approval or "",
    ]


def _came_back(row: JournalRow) -> datetime | None:
    """When the first notification for ``row`` arrived (else when it was recorded)."""
    bounces = [b for b in (row.bounce, *row.copy_bounces) if b is not None]
    times = [b.arrived or b.recorded_at for b in bounces]
    return min((t for t in times if t is not None), default=None)


def _set(cell: Cell, value: object) -> None:
    if value is None or value == "":
        return
    if isinstance(value, datetime):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, int):
        cell.value = value
    else:
        cell.value = str(value)
        cell.data_type = "s"  # never a formula, whatever the first character


def _header(sheet: Worksheet, row: int, names: Sequence[str]) -> None:
    from openpyxl.styles import Font, PatternFill

    fill = PatternFill("solid", fgColor="DCE6F1")
    for column, name in enumerate(names, start=1):
        cell = sheet.cell(row=row, column=column, value=name)
        cell.font = Font(bold=True)
        cell.fill = fill


def _xlsx(
    mailing: Mailing,
    rows: Sequence[JournalRow],
    messages: Sequence[Sequence[object]],
    subjects: Mapping[str, str] | None,
    zone: tzinfo,
    columns: Sequence[tuple[str, int]] = MESSAGE_COLUMNS,
    approval: ApprovalRecord | None = None,
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Summary"
    _summary(summary, mailing, rows, subjects, zone, approval)
    sheet = book.create_sheet("Messages")
    _header(sheet, 1, [name for name, _ in columns])
    for number, values in enumerate(messages, start=2):
        for column, value in enumerate(values, start=1):
            _set(sheet.cell(row=number, column=column), value)
    for column, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    # Printed (1 500 pages at 10 000), every page repeats the header and is one page wide.
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{max(len(messages) + 1, 2)}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _summary(
    sheet: Worksheet,
    mailing: Mailing,
    rows: Sequence[JournalRow],
    subjects: Mapping[str, str] | None,
    zone: tzinfo,
    approval: ApprovalRecord | None = None,
) -> None:
    from openpyxl.styles import Alignment, Font

    languages = mailing.languages
    sent = sorted(r.sent_at for r in rows if r.sent_at is not None)
    sender = mailing.sender
    sender_name = (
        sender.name.get(languages[0]) if sender.name and sender.name.has(languages[0]) else ""
    )
    lines: list[tuple[str, object]] = [
        ("Mailing", mailing.name),
        ("Reference", " / ".join(dict.fromkeys(mailing.reference.get(x) for x in languages))),
    ]
    for lang in languages:
        subject = (subjects or {}).get(lang) or mailing.subject.get(lang)
        lines.append((f"Subject ({lang})", subject))
    lines += [
        ("Sender", f"{sender_name} <{sender.email}>" if sender_name else sender.email),
        ("First send", _local(sent[0], zone) if sent else "—"),
        ("Last send", _local(sent[-1], zone) if sent else "—"),
        ("Times in", _zone_name(zone)),
        ("Messages", len(rows)),
        (
            "Approval in force",
            f"{approval.id}, by {approval.approved_by} at {approval.approved_at}"
            if approval is not None
            else "none",
        ),
    ]
    sheet.cell(row=1, column=1, value="Mailing report").font = Font(bold=True, size=14)
    for number, (label, value) in enumerate(lines, start=2):
        head = sheet.cell(row=number, column=1, value=label)
        head.font = Font(bold=True)
        head.alignment = Alignment(vertical="top")
        cell = sheet.cell(row=number, column=2)
        _set(cell, value)
        # A subject is long: the value spans the columns of the tables below, wrapped.
        sheet.merge_cells(start_row=number, start_column=2, end_row=number, end_column=5)
        cell.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
        lines_needed = -(-len(str(value)) // _VALUE_CHARS)
        if lines_needed > 1:
            sheet.row_dimensions[number].height = 15 * lines_needed

    # Messages by state and language, then by state, language and category.
    states = sorted({state_label(r) for r in rows}, key=state_order)
    by_lang = Counter((state_label(r), r.language) for r in rows)
    top = len(lines) + 3
    _header(sheet, top, ["State", *languages, "Total"])
    for i, state in enumerate([*states, "Total"], start=top + 1):
        sheet.cell(row=i, column=1, value=state).font = Font(bold=state == "Total")
        for j, wanted in enumerate([*languages, None], start=2):
            count = sum(
                n
                for (s, lg), n in by_lang.items()
                if (state == "Total" or s == state) and (wanted is None or lg == wanted)
            )
            sheet.cell(row=i, column=j, value=count)
    top += len(states) + 3
    by_category = Counter(
        (state_label(r), r.language, code) for r in rows for code in r.categories or ("—",)
    )
    _header(sheet, top, ["State", "Language", "Category", "Messages"])
    ordered = sorted(by_category.items(), key=lambda kv: (state_order(kv[0][0]), kv[0][1:]))
    for i, ((state, language, code), count) in enumerate(ordered, start=top + 1):
        for j, value in enumerate((state, language, code, count), start=1):
            _set(sheet.cell(row=i, column=j), value)
    sheet.cell(
        row=top + len(ordered) + 2, column=1
    ).value = "A message addressed in several categories counts once in each."
    for column, width in zip("ABCDE", _SUMMARY_WIDTHS, strict=True):
        sheet.column_dimensions[column].width = width
    # Printed (or turned into a PDF), the summary is one page.
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 1


def state_order(state: str) -> tuple[int, str]:
    """A sort key: sent first, then the states that need a look, then the rest."""
    order = (
        "sent", SENT_COPY_REFUSED, SENT_COPY_BOUNCED, "bounced", FAILED_TEMPORARY_BOUNCE,
        "delayed", "failed-permanent", "failed-temporary", "unknown",
    )  # fmt: skip
    return (order.index(state) if state in order else len(order), state)


def _zone_name(zone: tzinfo) -> str:
    key = getattr(zone, "key", None)
    offset = datetime.now(zone).strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    return f"{key} ({offset})" if key else offset or str(zone)


def _csv(
    messages: Sequence[Sequence[object]],
    columns: Sequence[tuple[str, int]] = MESSAGE_COLUMNS,
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _ in columns])
    for values in messages:
        writer.writerow([_csv_cell(v) for v in values])
    # UTF-8 with a byte-order mark: Excel then reads the accents right on a double-click.
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    return "'" + text if not isinstance(value, int) and text.startswith(_FORMULA_START) else text
