"""What a send did, as the command says it: samples, a dry run's plan, the delivery's
summary naming only what is not zero, the messages not delivered, what to do next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from dispatch.cli import consoles
from dispatch.cli.consoles import count, number, shown
from dispatch.cli.counts import plan_table
from dispatch.job import SendOutcome
from dispatch.safe_text import terminal_safe

if TYPE_CHECKING:
    from dispatch.delivery.results import DeliverySummary, Failure
    from dispatch.job import SendResult
    from dispatch.journal import Plan, State
    from dispatch.outgoing import Outgoing


def failure_table(failures: Sequence[Failure], title: str) -> Table:
    """One row per message not delivered: its addresses, state, code and reason."""
    table = Table(title=title, title_justify="left")
    table.add_column("Address", overflow="fold", ratio=2, min_width=16)
    table.add_column("State", no_wrap=True)
    table.add_column("Code", justify="right", no_wrap=True)
    table.add_column("Reason", overflow="fold", ratio=3, min_width=24)
    for f in failures:
        table.add_row(
            shown(", ".join(f.recipients) or f.key),
            f.state,
            "" if f.code is None else str(f.code),
            shown(f.reason, lines=True),
        )
    return table


def show_summary(summary: DeliverySummary, mailing: Path) -> None:
    """What a delivery did, naming only what is not zero, and what to do next."""
    out, err = consoles.out_console, consoles.err_console
    line = f"Sent {number(summary.sent)} of {count(summary.total, 'message', 'messages')}"
    line += f" in {summary.elapsed:.1f} s."
    left = [
        (len(summary.failed_permanent), "refused by the relay"),
        (len(summary.failed_temporary), "failed for now"),
        (len(summary.unknown), "unknown (the relay may have them)"),
        (summary.not_attempted, "not attempted"),
        (summary.held_by_limit, "left by --limit"),
    ]
    named = [f"{number(n)} {what}" for n, what in left if n]
    if named:
        line += " Not sent: " + ", ".join(named) + "."
    out.print(line, markup=False)
    if summary.recovered:
        err.print(
            f"{summary.recovered} messages left `sending` by an earlier run "
            "that stopped are now unknown (the relay may have them)."
        )
    if summary.halted:
        err.print(f"Stopped: {terminal_safe(summary.halted)}", markup=False)
    failures = [
        *summary.failed_permanent,
        *summary.failed_temporary,
        *summary.unknown,
        *summary.partial,
    ]
    if failures:
        err.print(failure_table(failures, "Not delivered, or not to everyone"))
    report_leftovers(summary.plan)
    for advice in next_steps(summary, mailing):
        err.print(terminal_safe(advice), markup=False)


def next_steps(summary: DeliverySummary, mailing: Path) -> list[str]:
    """What to do after a delivery, only what applies."""
    steps = []
    if summary.failed_temporary or summary.not_attempted or summary.held_by_limit:
        steps.append("Run the same command again to send what is left.")
    if summary.unknown:
        steps.append(
            "--retry-unknown sends the unknown ones again (their addressees may get two copies)."
        )
    if summary.failed_permanent or summary.unknown or summary.partial:
        steps.append(f"`dispatch status {mailing}` shows each address and the relay's reply.")
    steps.append(
        f"`dispatch report {mailing} --out report.xlsx` writes the report for your records."
    )
    return steps


def show_send_result(result: SendResult, mailing: Path) -> None:
    """What a send did, as the command says it (the plan was shown by ``confirm``)."""
    out = consoles.out_console
    prepared = result.prepared
    name = shown(result.mailing.name)
    if prepared is not None and result.outcome in (
        SendOutcome.SAMPLES,
        SendOutcome.DRY_RUN,
        SendOutcome.NOTHING_TO_SEND,
    ):
        consoles.show_warnings(prepared.warnings)
    match result.outcome:
        case SendOutcome.SAMPLES:
            for r in result.samples:
                state = "accepted" if r.accepted else f"refused ({r.code} {r.reply})"
                sample = f"Sample in {r.language} (the letter of {r.key}) to {r.to_address}"
                out.print(terminal_safe(f"{sample}: {state}"), markup=False)
        case SendOutcome.DRY_RUN if result.plan is None:
            for message in result.would_sample:
                out.print(
                    f"Sample in {message.language} (the letter of {shown(message.key)}): "
                    "not sent (dry run)"
                )
        case SendOutcome.DRY_RUN:
            assert prepared is not None and result.plan is not None
            title = f"{name}: dry run, nothing sent"
            out.print(plan_table(prepared, result.plan, result.settings, title))
        case SendOutcome.SETTLED:
            _show_settled(name, result.settled or {})
        case SendOutcome.NOTHING_TO_SEND:
            assert prepared is not None and result.plan is not None
            title = f"{name}: about to send"
            out.print(plan_table(prepared, result.plan, result.settings, title))
            out.print("Nothing to send: every message of this mailing is settled.")
            report_leftovers(result.plan)
        case SendOutcome.DECLINED:
            pass  # confirm said why
        case SendOutcome.DELIVERED:
            assert result.summary is not None
            show_summary(result.summary, mailing)


def _show_settled(name: str, counts: Mapping[State, int]) -> None:
    """Nothing to send: the journal's counts, and the unknown and refused ones."""
    consoles.out_console.print(
        f"Nothing to send: every message of this mailing ({name}) is settled: "
        f"{counts.get('sent', 0)} sent, {counts.get('failed-permanent', 0)} refused, "
        f"{counts.get('unknown', 0)} unknown. Its mailing file, workbook and templates "
        "are unchanged since the last run, so they were not checked again."
    )
    report_unknown(counts.get("unknown", 0))
    if counts.get("failed-permanent"):
        consoles.err_console.print(
            f"{counts['failed-permanent']} messages were refused by the relay: see "
            "`dispatch status`."
        )


def report_unknown(n: int) -> None:
    """The messages whose fate is unknown, and how to send them again."""
    if n:
        consoles.err_console.print(
            f"{n} messages are unknown (a run stopped while "
            "sending them; the relay may have them): see `dispatch status`; "
            "--retry-unknown sends them again."
        )


def report_leftovers(plan: Plan[Outgoing]) -> None:
    """What a plan leaves unsent: the unknown messages and the changed letters."""
    report_unknown(len(plan.unknown))
    if plan.changed:
        consoles.err_console.print(
            f"{len(plan.changed)} letters changed since they were sent; they were not sent again."
        )
