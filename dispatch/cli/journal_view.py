"""What the journal says, as the commands show it: status's counts and failures, the
bounces that came back, and an approval's messages. Times are in this machine's zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from dispatch.cli import consoles

if TYPE_CHECKING:
    from dispatch.approval import Approval
    from dispatch.bounce_journal import BouncesRecorded
    from dispatch.job import Status
    from dispatch.journal import JournalRow


def local_time(moment: datetime) -> str:
    """A journal's time (kept in UTC) in this machine's time zone, to the second, on
    two short lines so that a table keeps its room at 80 columns::

        2026-11-29
        23:44:02 CET

    The machine's zone, not the event's: staff read it against their own clock.
    """
    local = moment.astimezone()
    return f"{local:%Y-%m-%d}\n{local:%H:%M:%S %Z}".rstrip()


def show_status(found: Status) -> None:
    """The journal's counts per state, then its failures, refused copies and bounces."""
    out = consoles.out_console
    name = found.mailing.name
    if not found.started:
        out.print(f"{name}: nothing sent yet (no journal at {found.journal}).")
        return
    out.print(state_table(found))
    if found.withdrawn:
        out.print(
            f"{found.withdrawn} addressees left the mailing before their letter was sent: "
            "withdrawn, not counted."
        )
    if found.problems:
        out.print(problems_table(found))
    if found.copies_refused:
        out.print(copies_table(found.copies_refused))
    if found.replaced:
        out.print(
            "An address marked (replaced by ...) left the workbook and a close one came "
            "in its place, with the same language and categories: its letter was planned "
            "again for the new address.",
            markup=False,
        )
    if found.bounced:
        show_bounces(found.bounced)


def state_table(found: Status) -> Table:
    """Messages per state; those sent or unknown that left the mailing apart."""
    table = Table(title=f"{found.mailing.name}: journal", title_justify="left")
    table.add_column("State")
    table.add_column("Messages", justify="right")
    gone = found.left
    for state, n in found.counts.items():
        if state in ("sent", "unknown") and gone.get(state):
            table.add_row(state, str(n - gone[state]))
            table.add_row(f"{state}, no longer in the mailing", str(gone[state]))
        else:
            table.add_row(state, str(n))
    table.add_row("[bold]Total[/]", str(found.total))
    return table


def problems_table(found: Status) -> Table:
    """The failures and unknowns: address (and its replacement), state, reply."""
    detail = Table(title="Failures and unknowns", title_justify="left")
    # Three columns, so that a whole address and a reply fit in 80 columns.
    detail.add_column("Address", overflow="fold", ratio=1, min_width=26)
    detail.add_column("State, updated", no_wrap=True)
    detail.add_column("Reply", overflow="fold", ratio=1, min_width=20)
    for row in found.problems:
        address = ", ".join(row.recipients)
        if row.key in found.replaced:
            address += f"\n(replaced by {found.replaced[row.key]})"
        detail.add_row(
            escape(address),
            f"{row.state}\n{local_time(row.updated_at)}",
            escape(" ".join(str(x) for x in (row.code, row.reply) if x)),
        )
    return detail


def copies_table(rows: Sequence[JournalRow]) -> Table:
    """Messages sent whose copy (Cc) the relay refused."""
    copies = Table(title="Sent, but a copy (Cc) was refused", title_justify="left")
    copies.add_column("Address", overflow="fold", ratio=1, min_width=26)
    copies.add_column("Refused copy", overflow="fold", ratio=1, min_width=20)
    copies.add_column("Sent", no_wrap=True)
    for row in rows:
        refused = (row.reply or "").split("refused: ", 1)[-1]
        copies.add_row(
            escape(row.recipients[0] if row.recipients else row.key),
            escape(refused),
            local_time(row.sent_at or row.updated_at),
        )
    return copies


def show_bounces(rows: Sequence[JournalRow]) -> None:
    """The messages a notification came back for: one block per bounce, as ``git log``
    shows a commit. Its first line holds the address, state and code; the server's words
    follow, indented and folded at the terminal's width, never cut (a log gets each on
    one line)."""
    out = consoles.out_console
    bounced = sum(1 for row in rows if row.bounce is not None and row.bounce.kind == "bounced")
    delayed = len(rows) - bounced
    out.print(
        f"Came back: bounced {bounced}" + (f", delayed {delayed}" if delayed else ""),
        style="italic",
        markup=False,
    )
    for row in rows:
        bounce = row.bounce
        assert bounce is not None
        # Text, not markup: the address and the words come from outside.
        head = Text.assemble(
            (bounce.recipient, "bold"), "  ", bounce.kind, "  ", bounce.status or "no code"
        )
        out.print(head, overflow="fold")
        if bounce.diagnostic:
            _print_indented(Text(bounce.diagnostic))


def _print_indented(text: Text, indent: int = 4) -> None:
    """``text`` below the line before, indented, folded at the terminal's width without
    trailing spaces; whole on one line in a log."""
    out = consoles.out_console
    if out.soft_wrap:
        out.print(Text(" " * indent) + text)
        return
    for line in text.wrap(out, max(out.width - indent, 20), overflow="fold"):
        line.rstrip()
        out.print(Text(" " * indent) + line, overflow="fold")


def show_bounces_read(found: BouncesRecorded) -> None:
    """What reading a mailbox found: notifications, those that matched no message, and
    the fix list written."""
    out, err = consoles.out_console, consoles.err_console
    out.print(
        f"{found.mailing.name}: {found.found} notification(s) read, {found.new} new; "
        f"{found.ignored} message(s) were not notifications"
        + (f", {found.unreadable} unreadable" if found.unreadable else "")
        + ".",
        markup=False,
    )
    if found.bounced:
        show_bounces(found.bounced)
    if found.unmatched:
        err.print(
            f"{len(found.unmatched)} notification(s) match no message of this mailing:",
            markup=False,
        )
        for bounce in found.unmatched:
            err.print(
                f"- {bounce.recipient} {bounce.status or ''} {bounce.diagnostic}".rstrip(),
                markup=False,
            )
    if found.fix_list is not None:
        out.print(
            f"Wrote {found.fix_rows} address(es) to correct to {found.fix_list}. Correct them "
            "in the workbook and send again: a corrected address is a new addressee.",
            markup=False,
        )


def approval_table(approval: Approval, name: str, languages: Sequence[str]) -> Table:
    """An approval's messages per language and category."""
    from dispatch.approval import summary_rows

    table = Table(title=f"{name}: {approval.line()}", title_justify="left")
    table.add_column("Language")
    table.add_column("Category")
    table.add_column("Messages", justify="right")
    for lang, code, n in summary_rows(approval, languages):
        table.add_row(lang, code, str(n))
    per_lang = approval.per_language()
    table.add_row(
        "[bold]Messages[/]",
        ", ".join(f"{lang} {n}" for lang, n in per_lang.items()),
        str(len(approval.messages)),
    )
    return table
