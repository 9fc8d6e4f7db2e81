"""The commands that send a mailing and follow what happened: send, status, report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from dispatch.cli import consoles
from dispatch.cli.counts import plan_table, show_tally
from dispatch.cli.journal_view import show_status
from dispatch.cli.options import handle_errors, jobs_option, mailing_command
from dispatch.cli.outcomes import show_send_result, show_summary
from dispatch.cli.progress import Steps
from dispatch.delivery.results import DeliveryInterrupted
from dispatch.job import (
    Proposal,
    Selection,
    SendOptions,
    mailing_status,
    report_mailing,
    send_mailing,
)
from dispatch.settings import SmtpSettings, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable


@click.command()
@click.option("--yes", is_flag=True, help="Send without asking for confirmation (scripts).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate, render and show what would be sent; connect to nothing.",
)
@click.option(
    "--to",
    "to_address",
    metavar="ADDRESS",
    help="Send one sample per language to ADDRESS only; nobody is marked as sent.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Send at most this many messages in this run.",
)
@click.option(
    "--retry-unknown",
    is_flag=True,
    help="Also send the messages whose fate is unknown after a crash (the relay "
    "may have them: their addressees may get two copies).",
)
@click.option(
    "--new-mailing",
    is_flag=True,
    help="The journal found belongs to another mailing (a copied folder) or was deleted "
    "after a send: set it aside (nothing is deleted) and start a new one.",
)
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A TOML file with an [smtp] table: host, port, security, user, token_command, "
    "password_command, keyring... (a password itself is never accepted in the file).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="Connections to the relay at once (default 4).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="At most this many messages per minute (the relay's quota).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds to wait for each reply of the relay (default 60).",
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Print a line per message: its address, what happened and the reply.",
)
@mailing_command
@jobs_option
def send(
    mailing: Path,
    yes: bool,
    dry_run: bool,
    to_address: str | None,
    limit: int | None,
    retry_unknown: bool,
    new_mailing: bool,
    settings_file: Path | None,
    concurrency: int | None,
    rate: float | None,
    timeout: float | None,
    verbose: bool,
    selection: Selection,
    jobs: int,
) -> None:
    """Send every letter of MAILING by SMTP, once per addressee.

    Validates everything first (any problem: exit 2, nothing sent), shows what is about
    to happen and asks for confirmation. A journal beside the mailing records every
    message: run the same command again after any failure and only what was not sent
    is sent. With --dry-run nothing connects, even with --to. MAILING is a mailing
    folder or its mailing.toml.

    \b
    The relay, from the environment (or the [smtp] table of --settings):
      DISPATCH_SMTP_HOST      the relay's host name (required)
      DISPATCH_SMTP_PORT      587 with starttls, 465 with tls, 25 with none
      DISPATCH_SMTP_SECURITY  starttls (default), tls or none
      DISPATCH_SMTP_USER      the user name to sign in with, and one of:
      DISPATCH_SMTP_PASSWORD  the password, or
      DISPATCH_SMTP_PASSWORD_COMMAND  a command that prints it, or
      DISPATCH_SMTP_KEYRING=true  the password from the system keyring
                              (service "dispatch", name USER@HOST), or
      DISPATCH_SMTP_TOKEN_COMMAND  a command that prints an OAuth 2.0 access
                              token (XOAUTH2: Microsoft 365, Google Workspace)
      DISPATCH_SMTP_CONCURRENCY, DISPATCH_SMTP_RATE, DISPATCH_SMTP_TIMEOUT,
      DISPATCH_SMTP_CA_FILE   as --concurrency, --rate, --timeout, a CA file

    \b
    Examples:
      dispatch send mailings/gala --dry-run
      dispatch send mailings/gala --to me@example.org
      dispatch send mailings/gala --settings relay.toml --rate 120
      dispatch send mailings/gala --retry-unknown

    \b
    Exit codes: 0 all sent, 1 some failed or unknown, 2 bad input (nothing
    sent), 3 relay unreachable or sign-in refused.
    """
    options = SendOptions(
        dry_run=dry_run,
        to_address=to_address,
        limit=limit,
        retry_unknown=retry_unknown,
        new_mailing=new_mailing,
        jobs=jobs,
    )
    relay = _relay(settings_file, dry_run, concurrency, rate, timeout)
    _send(mailing, selection, options, relay, yes=yes, verbose=verbose)


def _relay(
    settings_file: Path | None,
    dry_run: bool,
    concurrency: int | None,
    rate: float | None,
    timeout: float | None,
) -> Callable[[], SmtpSettings | None]:
    """The relay's settings, read once the inputs are checked; none for a dry run
    that names no relay."""

    def settings() -> SmtpSettings | None:
        if dry_run and not os.environ.get("DISPATCH_SMTP_HOST") and not settings_file:
            return None
        return _settings(
            settings_file, concurrency=concurrency, rate_per_minute=rate, timeout=timeout
        )

    return settings


def _settings(settings_file: Path | None, **overrides: Any) -> SmtpSettings:
    """Settings from the file and environment; command-line options win."""
    base = load_settings(settings_file, os.environ)
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return base
    try:
        return SmtpSettings.model_validate({**base.model_dump(), **given})
    except ValidationError as exc:
        raise click.UsageError(str(exc)) from None


def _send(
    mailing: Path,
    selection: Selection,
    options: SendOptions,
    relay: Callable[[], SmtpSettings | None],
    *,
    yes: bool,
    verbose: bool,
) -> None:
    """Send, show what happened, and end with the send's exit code."""
    progress = Steps(consoles.err_console, verbose=verbose)
    try:
        with progress:
            result = send_mailing(
                mailing,
                selection=selection,
                settings=relay,
                options=options,
                confirm=_confirmer(yes),
                on_event=progress.on_event,
                progress=progress,
            )
    except DeliveryInterrupted as exc:
        show_summary(exc.summary, mailing)
        consoles.err_console.print(consoles.shown(exc, lines=True))
        sys.exit(1)
    except KeyboardInterrupt:  # before the delivery began: nothing was sent
        consoles.err_console.print("Interrupted (Ctrl-C) while preparing: nothing was sent.")
        sys.exit(130)
    show_send_result(result, mailing)
    sys.exit(result.exit_code)


def _confirmer(yes: bool) -> Callable[[Proposal], bool]:
    """The ``confirm`` of a send: show the plan, then ask (unless ``yes``)."""

    def confirm(proposal: Proposal) -> bool:
        out, err = consoles.out_console, consoles.err_console
        prepared = proposal.prepared
        consoles.show_warnings(prepared.warnings)
        title = f"{consoles.shown(prepared.mailing.name)}: about to send"
        out.print(plan_table(prepared, proposal.plan, proposal.settings, title))
        show_tally(prepared)
        if yes:
            return True
        if not sys.stdin.isatty():
            err.print(
                "Not sent: confirmation needed, and there is no terminal "
                "to ask. Run with --yes to send without asking."
            )
            return False
        if not click.confirm(f"Send {proposal.count} messages now?", default=False):
            err.print("Nothing sent.")
            return False
        return True

    return confirm


@click.command()
@click.argument("mailing", type=click.Path(path_type=Path))
@click.option(
    "--contacts",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The contacts workbook, to mark corrected addresses. Default: the mailing's.",
)
@handle_errors
def status(mailing: Path, contacts: Path | None) -> None:
    """Show the journal of MAILING: counts per state, then failures and unknowns.

    Reads the journal only; changes nothing. Times are in this machine's time zone.
    MAILING is a mailing folder or its mailing.toml.

    \b
    Example:
      dispatch status mailings/gala
    """
    show_status(mailing_status(mailing, contacts=contacts))


@click.command()
@click.argument("mailing", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The file to write: .xlsx (summary and messages sheets) or .csv (messages).",
)
@click.option(
    "--contacts",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The contacts workbook, for names. Default: the mailing's.",
)
@handle_errors
def report(mailing: Path, out: Path, contacts: Path | None) -> None:
    """Write a workbook with one row per addressee of MAILING and the state of its message.

    Your contacts workbook is never modified. MAILING is a mailing folder or its
    mailing.toml.

    \b
    Examples:
      dispatch report mailings/gala --out gala-report.xlsx
      dispatch report mailings/gala --out gala-report.csv
    """
    reported = report_mailing(mailing, out, contacts=contacts)
    consoles.show_warnings(reported.warnings)
    consoles.out_console.print(f"Wrote {reported.rows} rows to {consoles.shown(reported.path)}")
