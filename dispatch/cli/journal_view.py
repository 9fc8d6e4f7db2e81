"""What the journal says, as the commands show it: status's counts and failures, the
bounces that came back, and an approval's messages. Times are in this machine's zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from dispatch.cli import consoles
from dispatch.cli.consoles import shown
from dispatch.safe_text import terminal_safe

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
    name = shown(found.mailing.name)
    if not found.started:
        out.print(f"{name}: nothing sent yet (no journal at {shown(found.journal)}).")
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
    table = Table(title=f"{shown(found.mailing.name)}: journal", title_justify="left")
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
        address = shown(", ".join(row.recipients))
        if row.key in found.replaced:
            address += f"\n(replaced by {shown(found.replaced[row.key])})"
        detail.add_row(
            address,
            f"{row.state}\n{local_time(row.updated_at)}",
            shown(" ".join(str(x) for x in (row.code, row.reply) if x), lines=True),
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
            shown(row.recipients[0] if row.recipients else row.key),
            shown(refused, lines=True),
            local_time(row.sent_at or row.updated_at),
        )
    return copies


def show_bounces(rows: Sequence[JournalRow]) -> None:
    """What came back, one block per address (a copy's marked ``(Cc)``), as ``git log``
    shows a commit: the address, state and code on a line, the server's words below,
    indented and folded at the terminal's width, never cut (a log gets them on one line)."""
    came_back = [
        (bounce, bounce is not row.bounce)
        for row in rows
        for bounce in (row.bounce, *row.copy_bounces)
        if bounce is not None
    ]
    counts = [f"bounced {sum(1 for b, _ in came_back if b.permanent)}"]
    temporary = sum(1 for b, _ in came_back if b.kind == "bounced" and not b.permanent)
    delayed = sum(1 for b, _ in came_back if b.kind == "delayed")
    if temporary:
        counts.append(f"bounced, temporary {temporary}")
    if delayed:
        counts.append(f"delayed {delayed}")
    out = consoles.out_console
    out.print("Came back: " + ", ".join(counts), style="italic", markup=False)
    for bounce, copy in came_back:
        temporary_failure = bounce.kind == "bounced" and not bounce.permanent
        # Text, not markup, control characters shown: the address and words are outside.
        head = Text.assemble(
            (terminal_safe(bounce.recipient + (" (Cc)" if copy else "")), "bold"),
            "  ",
            "bounced, temporary" if temporary_failure else bounce.kind,
            "  ",
            terminal_safe(bounce.status or "no code"),
        )
        out.print(head, overflow="fold")
        if bounce.diagnostic:
            _print_indented(Text(terminal_safe(bounce.diagnostic, lines=True)))


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
    """What reading a mailbox found: notifications, those not recorded (with why), the
    messages left unread (with why), and the fix list written."""
    out, err = consoles.out_console, consoles.err_console
    others = [f"{found.ignored} message(s) were not notifications"]
    if found.auto_replies:
        others.append(f"{found.auto_replies} automatic reply(ies), not bounces")
    if found.unreadable:
        others.append(f"{found.unreadable} unreadable")
    out.print(
        f"{terminal_safe(found.mailing.name)}: {found.found} notification(s) read, "
        f"{found.new} new; " + ", ".join(others) + ".",
        markup=False,
    )
    if found.bounced:
        show_bounces(found.bounced)
    if found.unmatched:
        err.print(
            f"{len(found.unmatched)} notification(s) not recorded, for a person to look at:",
            markup=False,
        )
        for item in found.unmatched:
            b = item.bounce
            said = f"{b.recipient} {b.kind} {b.status or ''}".rstrip()
            line = f"- {said}: {item.reason}. {b.diagnostic}".rstrip()
            err.print(terminal_safe(line), markup=False)
    if found.skipped:
        err.print(f"{len(found.skipped)} message(s) left unread:", markup=False)
        for skipped in found.skipped:
            err.print(terminal_safe(f"- {skipped.line()}"), markup=False)
    if found.fix_list is not None:
        out.print(
            f"Wrote {found.fix_rows} address(es) to correct to "
            f"{terminal_safe(found.fix_list)}. Correct them "
            "in the workbook and send again: a corrected address is a new addressee.",
            markup=False,
        )


def approval_table(approval: Approval, name: str, languages: Sequence[str]) -> Table:
    """An approval's messages per language and category."""
    from dispatch.approval import summary_rows

    table = Table(title=shown(f"{name}: {approval.line()}"), title_justify="left")
    table.add_column("Language")
    table.add_column("Category")
    table.add_column("Messages", justify="right")
    for lang, code, n in summary_rows(approval, languages):
        table.add_row(shown(lang), shown(code), str(n))
    per_lang = approval.per_language()
    table.add_row(
        "[bold]Messages[/]",
        ", ".join(f"{lang} {n}" for lang, n in per_lang.items()),
        str(len(approval.messages)),
    )
    return table
