"""A prepared mailing's counts, as the commands show them: letters per category and
language, the workbook rows without a letter, the sentences that make the counts add
up, and the plan of a send."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from dispatch.cli import consoles
from dispatch.cli.consoles import count, number, shown

if TYPE_CHECKING:
    from dispatch.journal import Plan
    from dispatch.outgoing import Outgoing
    from dispatch.prepare import Prepared
    from dispatch.settings import SmtpSettings


def summary_table(prepared: Prepared, title: str) -> Table:
    """Letters per category and language, in the order of the Categories sheet, each
    category's wording in each language of the letters."""
    counts = prepared.counts()
    langs = prepared.mailing.languages
    table = Table(title=title, title_justify="left")
    table.add_column("Category", no_wrap=True)
    table.add_column("Addressed as", overflow="fold", ratio=1, min_width=20)
    for lang in langs:
        table.add_column(lang, justify="right", no_wrap=True)
    table.add_column("Total", justify="right", no_wrap=True)
    mailing = prepared.mailing
    for side, codes in (("to", mailing.addressees.to), ("cc", mailing.addressees.cc)):
        for code in codes:
            code = code.upper()
            row = [counts.get((lang, code), 0) for lang in langs]
            category = prepared.contacts.categories[code]
            wording = "\n".join(f"{lang}: {category.lines.get(lang, '—')}" for lang in langs)
            table.add_row(
                shown(f"{code}{' (copy)' if side == 'cc' else ''}"),
                shown(wording, lines=True),
                *map(number, row),
                number(sum(row)),
            )
    per_lang = [sum(1 for x in prepared.letters if x.lang == lang) for lang in langs]
    table.add_row("[bold]Letters[/]", "", *map(number, per_lang), number(len(prepared.letters)))
    return table


def rows_table(prepared: Prepared) -> Table:
    """The workbook's rows per language: those with a letter, and those without, by why."""
    tally = prepared.tally()
    langs = tally.languages
    table = Table(title="Workbook rows", title_justify="left")
    table.add_column("", overflow="fold", ratio=1, min_width=20)
    for lang in langs:
        table.add_column(lang, justify="right", no_wrap=True)
    table.add_column("Total", justify="right", no_wrap=True)

    def add(label: str, values: list[int]) -> None:
        table.add_row(label, *map(number, values), number(sum(values)))

    add("With a letter", [tally.letters.get(lang, 0) for lang in langs])
    for reason in tally.left_out_by_reason():
        counts = [tally.left_out.get((reason, lang), 0) for lang in langs]
        add(f"No letter: {shown(reason)}", counts)
    add("[bold]Rows[/]", [tally.rows.get(lang, 0) for lang in langs])
    return table


def tally_lines(prepared: Prepared) -> list[str]:
    """Sentences that make the counts add up: addressees, several categories, copies."""
    tally = prepared.tally()
    lines = [
        f"{count(tally.total_letters, 'letter', 'letters')} to "
        f"{count(tally.addressees, 'addressee', 'distinct addressees')}."
    ]
    if tally.in_several:
        lines.append(
            f"{count(tally.in_several, 'addressee is', 'addressees are')} in several "
            f"categories: the category rows add up to {number(tally.category_rows)} for "
            f"{number(tally.total_letters)} letters, each letter counted once per category."
        )
    copies = sum(tally.copies.values())
    if copies:
        lines.append(
            f"{count(copies, 'Cc address gets', 'Cc addresses get')} a copy of their "
            "row's letter as well (the workbook's cc column)."
        )
    return lines


def show_excluded(prepared: Prepared) -> None:
    """Every workbook row without a letter, one line each: ``Contacts row 14
    "anne@example.org": inactive``; or that there is none."""
    from dispatch.contacts import CONTACTS_SHEET
    from dispatch.errors import quoted
    from dispatch.prepare import excluded

    rows = excluded(prepared)
    out = consoles.out_console
    if not rows:
        out.print("Every row of the workbook gets a letter.", markup=False)
        return
    out.print(
        f"{consoles.count(len(rows), 'row gets', 'rows get')} no letter "
        f"({prepared.contacts.path.name}):",
        markup=False,
    )
    sheet = CONTACTS_SHEET if prepared.contacts.path.suffix.lower() != ".csv" else ""
    for row in rows:
        where = f"sheet {sheet}, row {row.row}" if sheet else f"row {row.row}"
        out.print(f"- {where}, {quoted(row.email)}: {row.reason}", markup=False)


def show_counts(prepared: Prepared, title: str) -> None:
    """The summary of a prepared mailing: letters per category, rows, sentences."""
    consoles.out_console.print(summary_table(prepared, title))
    show_tally(prepared)


def show_tally(prepared: Prepared) -> None:
    """The rows without a letter and the sentences that make the counts add up."""
    if prepared.tally().left_out:
        consoles.out_console.print(rows_table(prepared))
    for line in tally_lines(prepared):
        consoles.out_console.print(line, markup=False)


def plan_table(
    prepared: Prepared, plan: Plan[Outgoing], settings: SmtpSettings | None, title: str
) -> Table:
    """The letters per category, with what a send does with them as the caption."""
    mailing = prepared.mailing
    table = summary_table(prepared, title)
    table.caption = (
        f"From {shown(mailing.sender.email)}"
        + (f" via {shown(settings.address)} ({settings.security})" if settings else "")
        + f" · to send now: {number(len(plan.to_send))}"
        + (f" · already sent: {number(len(plan.already_sent))}" if plan.already_sent else "")
        + (f" · changed since sent (not resent): {len(plan.changed)}" if plan.changed else "")
        + (
            f" · unknown (not resent without --retry-unknown): {len(plan.unknown)}"
            if plan.unknown
            else ""
        )
        + (
            f" · refused for good earlier: {len(plan.failed_permanent)}"
            if plan.failed_permanent
            else ""
        )
    )
    table.caption_justify = "left"
    return table
