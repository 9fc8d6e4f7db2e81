"""The ``dispatch`` command: a thin layer over the library.

Each command parses its options, calls the core, shows the result with Rich and turns a
:class:`~dispatch.errors.DispatchError` into a message and an exit code: 0 ok, 1 other
failure, 2 bad input, 3 relay unreachable or authentication refused.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console, ConsoleOptions, RenderableType
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from dispatch.approval import approve_mailing, summary_rows
from dispatch.archive import archive_mailing
from dispatch.bounce_journal import record_bounces
from dispatch.delivery.results import DeliveryEvent, DeliveryInterrupted, DeliverySummary, Failure
from dispatch.errors import DispatchError, InvalidInput, Problem, summarise
from dispatch.job import (
    Proposal,
    Selection,
    SendOptions,
    SendOutcome,
    SendResult,
    check_mailing,
    mailing_status,
    preview_mailing,
    render_mailing,
    report_mailing,
    send_mailing,
)
from dispatch.journal import JournalRow, Plan
from dispatch.outgoing import Outgoing
from dispatch.output import parse_formats
from dispatch.prepare import Prepared
from dispatch.progress import Step
from dispatch.safe_text import terminal_safe
from dispatch.settings import SmtpSettings, load_settings

F = TypeVar("F", bound=Callable[..., Any])

#: Width of the output when it goes to a file or a pipe (a log): tables take the room
#: their content needs (they are never padded to it), and lines are not wrapped at all.
LOG_WIDTH = 1000


#: In a log, a step gets its line from this many items on: a short run's log (and the
#: exact error output scripts compare) stays free of lines like "Reading the workbook:
#: 3 rows in 0.0 s". A terminal shows every step.
LOG_MIN_ITEMS = 100


class SafeConsole(Console):
    """A console that writes no control character but its own: any that reaches it in
    a text (a value printed without :func:`shown`) is written as its escape
    (:func:`~dispatch.safe_text.terminal_safe`). Rich's own codes (styles, cursor moves
    of the progress bars) are not in the text of a segment, and pass."""

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None:
                safe = terminal_safe(segment.text, lines=True)
                if safe != segment.text:
                    segment = Segment(safe, segment.style)
            yield segment


def make_console(*, stderr: bool = False) -> Console:
    """A console that wraps words (never cuts them) at the terminal's width, or, when
    the output is a log (no terminal, no ``COLUMNS``), writes each line whole and
    tables up to :data:`LOG_WIDTH` columns wide."""
    probe = Console(stderr=stderr)
    if probe.is_terminal or os.environ.get("COLUMNS", "").strip().isdigit():
        return SafeConsole(stderr=stderr, highlight=False, emoji=False)
    return SafeConsole(stderr=stderr, highlight=False, emoji=False, soft_wrap=True, width=LOG_WIDTH)


out_console = make_console()
err_console = make_console(stderr=True)


def _use_consoles() -> None:
    """Make the consoles for this run (the terminal or log it writes to now)."""
    global out_console, err_console
    out_console = make_console()
    err_console = make_console(stderr=True)


def shown(value: object, *, lines: bool = False) -> str:
    """Text from outside (a cell, a server's reply, a bounce, a name, a file name) for a
    Rich markup string or a table cell: control characters shown as escapes
    (:func:`~dispatch.safe_text.terminal_safe`), then markup escaped, so that it is
    printed as it is. Where a line is printed with ``markup=False``, it goes through
    :func:`~dispatch.safe_text.terminal_safe` alone."""
    return escape(terminal_safe(value, lines=lines))


def number(n: int) -> str:
    """``5 943``: thousands apart, with a space that never breaks a line."""
    return f"{n:,}".replace(",", "\u00a0")


def _problems(title: str, problems: list[Problem], *, style: str) -> None:
    if not problems:
        return
    err_console.print(f"[{style}]{title}[/]")
    for line in summarise(problems):  # the same problem on consecutive rows: one line
        err_console.print(f"- {terminal_safe(line)}", markup=False)


def handle_errors(func: F) -> F:
    """Turn a DispatchError into its message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InvalidInput as exc:
            count = len(exc.problems)
            noun = "problem" if count == 1 else "problems"
            _problems(
                f"{count} {noun} found; nothing was written or sent.",
                exc.problems,
                style="bold red",
            )
            _problems("Warnings:", exc.warnings, style="yellow")
            sys.exit(exc.exit_code)
        except DispatchError as exc:
            err_console.print(f"[bold red]Error:[/] {shown(exc, lines=True)}", highlight=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err_console.print("Interrupted (Ctrl-C).")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def jobs_option(func: Callable[..., None]) -> Callable[..., None]:
    """``--jobs N``: the processes that render the PDFs; the command gets ``jobs`` (an int)."""

    @functools.wraps(func)
    def wrapper(*args: Any, jobs: int | None, **kwargs: Any) -> None:
        from dispatch.pdf_pool import default_jobs

        func(*args, jobs=jobs or default_jobs(), **kwargs)

    option = click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help="Processes that render the distinct PDF letters at once. Default: one per "
        "processor; 1 renders them one after another in this process.",
    )
    return option(wrapper)


def mailing_command(func: Callable[..., None]) -> Callable[..., None]:
    """The MAILING argument, the four options that choose inputs and addressees, and the
    error handling, for every command that reads a mailing's letters.

    The command receives them as ``mailing`` and one ``selection``
    (:class:`~dispatch.job.Selection`).
    """

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        contacts: Path | None,
        templates_dir: Path | None,
        only: tuple[str, ...],
        category: tuple[str, ...],
        **kwargs: Any,
    ) -> None:
        selection = Selection(contacts, templates_dir, only, category)
        func(*args, selection=selection, **kwargs)

    command: Callable[..., None] = handle_errors(wrapper)
    for option in reversed(
        (
            click.argument("mailing", type=click.Path(path_type=Path)),
            click.option(
                "--contacts",
                type=click.Path(path_type=Path, dir_okay=False),
                help="The contacts workbook (.xlsx, .ods or .csv). Default: the "
                "mailing's `contacts` key, else ./contacts.xlsx.",
            ),
            click.option(
                "--templates",
                "templates_dir",
                type=click.Path(path_type=Path, file_okay=False, exists=True),
                default=None,
                help="The templates folder (with fr/ and en/). Default: the mailing's "
                "`templates` key, else the bundled templates.",
            ),
            click.option(
                "--only", multiple=True, metavar="EMAIL", help="Only this addressee (repeatable)."
            ),
            click.option(
                "--category",
                multiple=True,
                metavar="CODE",
                help="Only addressees in this category (repeatable).",
            ),
        )
    ):
        command = option(command)
    return command


def _formats(value: str) -> list[str]:
    """``--format html,txt`` as a list; an unknown format is a usage error (exit 2)."""
    try:
        return parse_formats(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def local_time(moment: datetime) -> str:
    """A journal's time (kept in UTC) in this machine's time zone, to the second, on
    two short lines so that a table keeps its room at 80 columns::

        2026-11-29
        23:44:02 CET

    The machine's zone, not the event's: staff read it against their own clock.
    """
    local = moment.astimezone()
    return f"{local:%Y-%m-%d}\n{local:%H:%M:%S %Z}".rstrip()


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
            wording = "\n".join(f"{lang}: {category.line(lang)}" for lang in langs)
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
        f"{_count(tally.total_letters, 'letter', 'letters')} to "
        f"{_count(tally.addressees, 'addressee', 'distinct addressees')}."
    ]
    if tally.in_several:
        lines.append(
            f"{_count(tally.in_several, 'addressee is', 'addressees are')} in several "
            f"categories: the category rows add up to {number(tally.category_rows)} for "
            f"{number(tally.total_letters)} letters, each letter counted once per category."
        )
    copies = sum(tally.copies.values())
    if copies:
        lines.append(
            f"{_count(copies, 'copy goes', 'copies go')} to the Cc addresses of the "
            "workbook's cc column as well."
        )
    return lines


def show_counts(prepared: Prepared, title: str) -> None:
    """The summary of a prepared mailing: letters per category, rows, sentences."""
    out_console.print(summary_table(prepared, title))
    show_tally(prepared)


def show_tally(prepared: Prepared) -> None:
    """The rows without a letter and the sentences that make the counts add up."""
    if prepared.tally().left_out:
        out_console.print(rows_table(prepared))
    for line in tally_lines(prepared):
        out_console.print(line, markup=False)


#: The commands in the order of the work, as the help lists them (the six of every
#: mailing, then those some mailings need); any other follows by name.
ORDER = (
    "check",
    "render",
    "preview",
    "send",
    "status",
    "report",
    "approve",
    "bounces",
    "archive",
)


class WorkOrderGroup(click.Group):
    """A group whose help lists the commands in the order of the work, each with its
    whole one-line description (click would cut them at 45 characters)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        first = [name for name in ORDER if name in names]
        return first + sorted(name for name in names if name not in ORDER)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands, in the order of the work"):
                formatter.write_dl(rows)


MAILING_HELP = "MAILING is a mailing folder (holding mailing.toml) or the path of its mailing.toml."


@click.group(
    cls=WorkOrderGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="dispatch")
def main() -> None:
    """dispatch: mail-merge for formal invitation letters.

    Check a mailing, render its letters to files, preview them, send them by SMTP,
    then follow what happened with status and report.

    MAILING, in every command, is a mailing folder (holding mailing.toml) or the path
    of its mailing.toml.

    \b
    A first mailing:
      dispatch check mailings/gala
      dispatch preview mailings/gala
      dispatch send mailings/gala --to me@example.org
      dispatch send mailings/gala
      dispatch status mailings/gala
      dispatch report mailings/gala --out gala.xlsx

    \b
    Exit codes: 0 done, 1 something failed or is unknown (see status),
    2 bad input (nothing written or sent), 3 relay unreachable or sign-in refused.
    """
    _use_consoles()


@main.command(short_help="Validate a mailing, its workbook and templates; writes nothing.")
@mailing_command
def check(mailing: Path, selection: Selection) -> None:
    """Validate MAILING, the workbook and every template against every addressee.

    Prints the number of letters per category and language, and the workbook rows
    that get no letter and why, or every problem found (exit code 2). Writes nothing.
    MAILING is a mailing folder or its mailing.toml.

    \b
    Examples:
      dispatch check mailings/gala
      dispatch check mailings/gala/mailing.toml --contacts contacts-2027.xlsx
      dispatch check mailings/gala --category SMT --only anne@example.org
    """
    with _Steps(err_console) as steps:
        prepared = check_mailing(mailing, selection, progress=steps)
    show_counts(prepared, f"{shown(prepared.mailing.name)}: ready")
    _problems("Warnings:", prepared.warnings, style="yellow")
    out_console.print(
        f"No problem found in {shown(prepared.mailing.path)}, "
        f"{shown(prepared.contacts.path)} and the {shown(prepared.mailing.template)} templates."
    )


@main.command(short_help="Write every letter to files: html, txt, eml, pdf, ics.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the letters. Default: out/<mailing name>.",
)
@click.option(
    "--format",
    "formats",
    default="html,txt,eml",
    show_default=True,
    callback=lambda _ctx, _param, value: _formats(value),
    help="Comma-separated formats: html, txt, eml, pdf, ics.",
)
@mailing_command
@jobs_option
def render(
    mailing: Path, out: Path | None, formats: list[str], selection: Selection, jobs: int
) -> None:
    """Render every letter of MAILING to files, one per addressee and format.

    Everything is validated first: on any problem nothing is written (exit code 2).
    MAILING is a mailing folder or its mailing.toml.

    \b
    Examples:
      dispatch render mailings/gala
      dispatch render mailings/gala --format pdf --out letters/
      dispatch render mailings/gala --format html,eml --category SMT
    """
    with _Steps(err_console) as steps:
        rendered = render_mailing(
            mailing, out, formats=formats, selection=selection, progress=steps, jobs=jobs
        )
    prepared = rendered.prepared
    show_counts(prepared, f"{shown(prepared.mailing.name)}: letters written")
    _problems("Warnings:", prepared.warnings, style="yellow")
    out_console.print(
        f"Wrote {rendered.files} files ({', '.join(rendered.formats)}) for "
        f"{rendered.letters} letters to {shown(rendered.out)}/"
    )


@main.command(short_help="Render the letters into a page to look through in the browser.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the preview. Default: out/<mailing name>/preview.",
)
@click.option(
    "--format",
    "formats",
    default="html,pdf,eml",
    show_default=True,
    callback=lambda _ctx, _param, value: _formats(value),
    help="Formats to render and link: html, txt, eml, pdf.",
)
@click.option(
    "--open/--no-open",
    "open_browser",
    default=True,
    help="Open the preview page in the browser (--no-open for scripts).",
)
@mailing_command
@jobs_option
def preview(
    mailing: Path,
    out: Path | None,
    formats: list[str],
    open_browser: bool,
    selection: Selection,
    jobs: int,
) -> None:
    """Render MAILING into a folder with an index.html listing every letter, and open it.

    The page groups the letters by language and category, links each letter's HTML,
    PDF and .eml files, and shows the validation warnings. It works offline.
    MAILING is a mailing folder or its mailing.toml.

    \b
    Examples:
      dispatch preview mailings/gala
      dispatch preview mailings/gala --no-open --format html,pdf
    """
    with _Steps(err_console) as steps:
        previewed = preview_mailing(
            mailing, out, formats=formats, selection=selection, progress=steps, jobs=jobs
        )
    _problems("Warnings:", list(previewed.warnings), style="yellow")
    out_console.print(
        f"Preview of {len(previewed.prepared.letters)} letters: {shown(previewed.index)}"
    )
    if open_browser:
        click.launch(previewed.index.resolve().as_uri())


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


def _plan_table(
    prepared: Prepared, plan: Plan[Outgoing], settings: SmtpSettings | None, title: str
) -> Table:
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


def _failure_table(failures: Sequence[Failure], title: str) -> Table:
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


@main.command(short_help="Send every letter by SMTP, once per addressee, with a journal.")
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

    def settings() -> SmtpSettings | None:  # read once the inputs are checked
        if dry_run and not os.environ.get("DISPATCH_SMTP_HOST") and not settings_file:
            return None
        return _settings(
            settings_file, concurrency=concurrency, rate_per_minute=rate, timeout=timeout
        )

    options = SendOptions(
        dry_run=dry_run,
        to_address=to_address,
        limit=limit,
        retry_unknown=retry_unknown,
        new_mailing=new_mailing,
        jobs=jobs,
    )
    progress = _Steps(err_console, verbose=verbose)

    def confirm(proposal: Proposal) -> bool:
        prepared = proposal.prepared
        _problems("Warnings:", prepared.warnings, style="yellow")
        title = f"{shown(prepared.mailing.name)}: about to send"
        out_console.print(_plan_table(prepared, proposal.plan, proposal.settings, title))
        show_tally(prepared)
        if yes:
            return True
        if not sys.stdin.isatty():
            err_console.print(
                "Not sent: confirmation needed, and there is no terminal "
                "to ask. Run with --yes to send without asking."
            )
            return False
        if not click.confirm(f"Send {proposal.count} messages now?", default=False):
            err_console.print("Nothing sent.")
            return False
        return True

    try:
        with progress:
            result = send_mailing(
                mailing,
                selection=selection,
                settings=settings,
                options=options,
                confirm=confirm,
                on_event=progress.on_event,
                progress=progress,
            )
    except DeliveryInterrupted as exc:
        _print_summary(exc.summary, mailing)
        err_console.print(shown(exc, lines=True))
        sys.exit(1)
    except KeyboardInterrupt:  # before the delivery began: nothing was sent
        err_console.print("Interrupted (Ctrl-C) while preparing: nothing was sent.")
        sys.exit(130)
    _show_send_result(result, mailing)
    sys.exit(result.exit_code)


def _show_send_result(result: SendResult, mailing: Path) -> None:
    """What a send did, as the command says it (the plan was shown by ``confirm``)."""
    prepared = result.prepared
    name = shown(result.mailing.name)
    if prepared is not None and result.outcome in (
        SendOutcome.SAMPLES,
        SendOutcome.DRY_RUN,
        SendOutcome.NOTHING_TO_SEND,
    ):
        _problems("Warnings:", prepared.warnings, style="yellow")
    match result.outcome:
        case SendOutcome.SAMPLES:
            for r in result.samples:
                state = "accepted" if r.accepted else f"refused ({r.code} {r.reply})"
                sample = f"Sample in {r.language} (the letter of {r.key}) to {r.to_address}"
                out_console.print(terminal_safe(f"{sample}: {state}"), markup=False)
        case SendOutcome.DRY_RUN if result.plan is None:
            for message in result.would_sample:
                out_console.print(
                    f"Sample in {message.language} (the letter of {shown(message.key)}): "
                    "not sent (dry run)"
                )
        case SendOutcome.DRY_RUN:
            assert prepared is not None and result.plan is not None
            title = f"{name}: dry run, nothing sent"
            out_console.print(_plan_table(prepared, result.plan, result.settings, title))
        case SendOutcome.SETTLED:
            counts = result.settled or {}
            out_console.print(
                f"Nothing to send: every message of this mailing ({name}) is settled: "
                f"{counts.get('sent', 0)} sent, {counts.get('failed-permanent', 0)} refused, "
                f"{counts.get('unknown', 0)} unknown. Its mailing file, workbook and templates "
                "are unchanged since the last run, so they were not checked again."
            )
            _report_unknown(counts.get("unknown", 0))
            if counts.get("failed-permanent"):
                err_console.print(
                    f"{counts['failed-permanent']} messages were refused by the relay: see "
                    "`dispatch status`."
                )
        case SendOutcome.NOTHING_TO_SEND:
            assert prepared is not None and result.plan is not None
            title = f"{name}: about to send"
            out_console.print(_plan_table(prepared, result.plan, result.settings, title))
            out_console.print("Nothing to send: every message of this mailing is settled.")
            _report_leftovers(result.plan)
        case SendOutcome.DECLINED:
            pass  # confirm said why
        case SendOutcome.DELIVERED:
            assert result.summary is not None
            _print_summary(result.summary, mailing)


def _report_unknown(count: int) -> None:
    if count:
        err_console.print(
            f"{count} messages are unknown (a run stopped while "
            "sending them; the relay may have them): see `dispatch status`; "
            "--retry-unknown sends them again."
        )


def _report_leftovers(plan: Plan[Outgoing]) -> None:
    _report_unknown(len(plan.unknown))
    if plan.changed:
        err_console.print(
            f"{len(plan.changed)} letters changed since they were sent; they were not sent again."
        )


class _RateColumn(ProgressColumn):
    """Items a second, or a minute when slower than one a second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("")
        if speed >= 1:
            return Text(f"{speed:.0f}/s")
        return Text(f"{speed * 60:.0f}/min")


class _Steps:
    """The progress of a job's long steps (the ``progress`` callback of the jobs).

    In a terminal, a bar per step with its count, rate and time remaining; in a log
    (no terminal), nothing while it runs. Once a step ends, one line says what it did:
    ``Rendering: 5 943 letters in 16.2 s`` (in a log, for steps of
    :data:`LOG_MIN_ITEMS` items or more). ``on_event`` adds the counts
    of a delivery to the sending bar, and with ``verbose`` a line per message.
    """

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.bars: Progress | None = None
        self.task: TaskID | None = None
        self.step: Step | None = None
        self.started = 0.0
        self.done = 0
        self.total: int | None = None
        self.detail = ""

    def __enter__(self) -> _Steps:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._end()

    def __call__(self, step: Step, done: int, total: int | None) -> None:
        if step is not self.step:
            self._end()
            self.step, self.started, self.detail = step, time.monotonic(), ""
            if self.console.is_terminal:
                self.bars = Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(bar_width=20),
                    MofNCompleteColumn(),
                    _RateColumn(),
                    TextColumn("{task.fields[detail]}"),
                    TimeRemainingColumn(),
                    console=self.console,
                    transient=True,
                )
                self.bars.start()
                self.task = self.bars.add_task(step.label, total=total, detail="")
        self.done, self.total = done, total
        if self.bars is not None and self.task is not None:
            self.bars.update(self.task, completed=done, total=total, detail=self.detail)
        if total is not None and done == total and step is not Step.SENDING:
            self._end()

    def _end(self) -> None:
        """The line that says what the current step did; the bar goes."""
        if self.step is None:
            return
        step, self.step = self.step, None
        if self.bars is not None:
            # The bar goes between steps: nothing redraws the screen while `send` shows
            # its plan and asks for confirmation.
            self.bars.stop()
            self.bars, self.task = None, None
        if not self.console.is_terminal and max(self.done, self.total or 0) < LOG_MIN_ITEMS:
            return
        elapsed = time.monotonic() - self.started
        count = number(self.done)
        if self.total is not None and self.done != self.total:
            count = f"{count} of {number(self.total)}"
        line = f"{step.label}: {count} {step.unit} in {elapsed:.1f} s"
        if self.detail:
            line += f" ({self.detail})"
        self.console.print(line, markup=False, highlight=False)

    def on_event(self, event: DeliveryEvent) -> None:
        """A delivery's counts on the sending bar; a line per message with ``verbose``."""
        parts = [f"failed {event.failed}" if event.failed else "", ""]
        parts[1] = f"unknown {event.unknown}" if event.unknown else ""
        self.detail = " · ".join(part for part in parts if part)
        if self.verbose and event.key is not None:
            code = "" if event.code is None else f" {event.code}"
            self.console.print(
                terminal_safe(f"{event.key}: {event.kind}{code} {event.reason}".rstrip()),
                markup=False,
                highlight=False,
            )
        if event.kind == "stopping":  # at once: the wait can last up to --timeout
            self.console.print(terminal_safe(event.reason), markup=False, highlight=False)


def _count(n: int, one: str, many: str) -> str:
    return f"{number(n)} {one if n == 1 else many}"


def _print_summary(summary: DeliverySummary, mailing: Path) -> None:
    """What a delivery did, naming only what is not zero, and what to do next."""
    line = f"Sent {number(summary.sent)} of {_count(summary.total, 'message', 'messages')}"
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
    out_console.print(line, markup=False)
    if summary.recovered:
        err_console.print(
            f"{summary.recovered} messages left `sending` by an earlier run "
            "that stopped are now unknown (the relay may have them)."
        )
    if summary.halted:
        err_console.print(f"Stopped: {terminal_safe(summary.halted)}", markup=False)
    failures = [
        *summary.failed_permanent,
        *summary.failed_temporary,
        *summary.unknown,
        *summary.partial,
    ]
    if failures:
        err_console.print(_failure_table(failures, "Not delivered, or not to everyone"))
    _report_leftovers(summary.plan)
    for advice in _next_steps(summary, mailing):
        err_console.print(terminal_safe(advice), markup=False)


def _next_steps(summary: DeliverySummary, mailing: Path) -> list[str]:
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


@main.command(short_help="Show what was sent: counts per state, then each failure.")
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
    found = mailing_status(mailing, contacts=contacts)
    name = shown(found.mailing.name)
    if not found.started:
        out_console.print(f"{name}: nothing sent yet (no journal at {shown(found.journal)}).")
        return
    table = Table(title=f"{name}: journal", title_justify="left")
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
    out_console.print(table)
    if found.withdrawn:
        out_console.print(
            f"{found.withdrawn} addressees left the mailing before their letter was sent: "
            "withdrawn, not counted."
        )
    if found.problems:
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
        out_console.print(detail)
    if found.copies_refused:
        copies = Table(title="Sent, but a copy (Cc) was refused", title_justify="left")
        copies.add_column("Address", overflow="fold", ratio=1, min_width=26)
        copies.add_column("Refused copy", overflow="fold", ratio=1, min_width=20)
        copies.add_column("Sent", no_wrap=True)
        for row in found.copies_refused:
            refused = (row.reply or "").split("refused: ", 1)[-1]
            copies.add_row(
                shown(row.recipients[0] if row.recipients else row.key),
                shown(refused, lines=True),
                local_time(row.sent_at or row.updated_at),
            )
        out_console.print(copies)
    if found.replaced:
        out_console.print(
            "An address marked (replaced by ...) left the workbook and a close one came "
            "in its place, with the same language and categories: its letter was planned "
            "again for the new address.",
            markup=False,
        )
    if found.bounced:
        _bounce_table(found.bounced)


@main.command(short_help="Write a workbook (or CSV) of every message and its state.")
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
    _problems("Warnings:", list(reported.warnings), style="yellow")
    out_console.print(f"Wrote {reported.rows} rows to {shown(reported.path)}")


# -- approval, archive, bounces --------------------------------------------------------


def _approver(name: str) -> str:
    """The name given with ``--by``: recorded in the journal and shown, so it must be
    a name (a usage error, exit 2, before anything is written)."""
    if not name.strip():
        raise click.BadParameter("give the name of the person who approves.")
    if terminal_safe(name) != name:
        raise click.BadParameter(
            f'"{terminal_safe(name)}" holds control characters; give the name as text.'
        )
    return name.strip()


@main.command(short_help="Freeze a mailing's messages: send then sends exactly these.")
@click.argument("mailing", type=click.Path(path_type=Path))
@click.option(
    "--by",
    required=True,
    metavar="NAME",
    callback=lambda _ctx, _param, value: _approver(value),
    help="Who approves (recorded and shown).",
)
@click.option(
    "--contacts",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The contacts workbook. Default: the mailing's `contacts` key, else ./contacts.xlsx.",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="The templates folder (with fr/ and en/). Default: the mailing's `templates` "
    "key, else the bundled templates.",
)
@jobs_option
@handle_errors
def approve(
    mailing: Path, by: str, contacts: Path | None, templates_dir: Path | None, jobs: int
) -> None:
    """Render MAILING once and freeze it: send will then send exactly these messages.

    Writes every message (.eml, PDF and attachments included) and a manifest of every
    input's digest into <mailing folder>/approved/<time>/. If an input changes
    afterwards, send refuses until the mailing is approved again.
    MAILING is a mailing folder or its mailing.toml.

    \b
    Example:
      dispatch approve mailings/gala --by "A. Martin"
    """
    prepared, approval = approve_mailing(
        mailing, by, contacts=contacts, templates=templates_dir, jobs=jobs
    )
    _problems("Warnings:", list(prepared.warnings), style="yellow")
    title = f"{prepared.mailing.name}: {approval.line()}"
    table = Table(title=shown(title), title_justify="left")
    table.add_column("Language")
    table.add_column("Category")
    table.add_column("Messages", justify="right")
    for lang, code, count in summary_rows(approval, prepared.mailing.languages):
        table.add_row(shown(lang), shown(code), str(count))
    per_lang = approval.per_language()
    table.add_row(
        "[bold]Messages[/]",
        ", ".join(f"{lang} {n}" for lang, n in per_lang.items()),
        str(len(approval.messages)),
    )
    out_console.print(table)
    out_console.print(
        terminal_safe(f"Frozen in {approval.folder} (approval {approval.id})."), markup=False
    )


@main.command(short_help="Pack what was approved, the journal and a report into one .zip.")
@click.argument("mailing", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The .zip to write: the approval, the journal and a report.",
)
@click.option(
    "--contacts",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The contacts workbook, for the report's names. Default: the mailing's.",
)
@handle_errors
def archive(mailing: Path, out: Path, contacts: Path | None) -> None:
    """Pack the record of MAILING into one .zip: what was approved, the journal, a report.

    Never overwrites one of the mailing's inputs.
    MAILING is a mailing folder or its mailing.toml.

    \b
    Example:
      dispatch archive mailings/gala --out gala-record.zip
    """
    archived = archive_mailing(mailing, out, contacts=contacts)
    out_console.print(
        terminal_safe(
            f"Wrote {archived.path}: {len(archived.members)} files, {archived.approval.line()}."
        ),
        markup=False,
    )
    for left in archived.skipped:
        err_console.print(terminal_safe(f"Not packed: {left}"), markup=False)


@main.command(short_help="Read bounce notifications from a mailbox into the journal.")
@click.argument("mailing", type=click.Path(path_type=Path))
@click.option(
    "--from",
    "source",
    required=True,
    metavar="SOURCE",
    help="An mbox file, a Maildir, a folder of .eml files, or imaps://USER@HOST/MAILBOX "
    "(password in DISPATCH_IMAP_PASSWORD or token in DISPATCH_IMAP_TOKEN).",
)
@click.option(
    "--fix-list",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the addresses to correct, with their workbook sheet and row (.xlsx).",
)
@click.option(
    "--contacts",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The contacts workbook, for the fix list's rows. Default: the mailing's.",
)
@handle_errors
def bounces(mailing: Path, source: str, fix_list: Path | None, contacts: Path | None) -> None:
    """Read delivery status notifications from SOURCE and record them in MAILING's journal.

    Reading the same mailbox twice changes nothing. Messages that are not notifications
    are counted and left alone; nothing in the mailbox is changed.
    MAILING is a mailing folder or its mailing.toml.

    \b
    Examples:
      dispatch bounces mailings/gala --from ~/Mail/bounces.mbox
      dispatch bounces mailings/gala --from imaps://me@imap.example.org/INBOX
    """
    found = record_bounces(mailing, source, fix_list=fix_list, contacts=contacts)
    out_console.print(
        f"{terminal_safe(found.mailing.name)}: {found.found} notification(s) read, "
        f"{found.new} new; "
        f"{found.ignored} message(s) were not notifications"
        + (f", {found.unreadable} unreadable" if found.unreadable else "")
        + ".",
        markup=False,
    )
    if found.bounced:
        _bounce_table(found.bounced)
    if found.unmatched:
        err_console.print(
            f"{len(found.unmatched)} notification(s) match no message of this mailing:",
            markup=False,
        )
        for bounce in found.unmatched:
            err_console.print(
                terminal_safe(
                    f"- {bounce.recipient} {bounce.status or ''} {bounce.diagnostic}"
                ).rstrip(),
                markup=False,
            )
    if found.fix_list is not None:
        out_console.print(
            f"Wrote {found.fix_rows} address(es) to correct to "
            f"{terminal_safe(found.fix_list)}. Correct them "
            "in the workbook and send again: a corrected address is a new addressee.",
            markup=False,
        )


def _bounce_table(rows: Sequence[JournalRow]) -> None:
    bounced = sum(1 for row in rows if row.bounce is not None and row.bounce.kind == "bounced")
    delayed = len(rows) - bounced
    table = Table(
        title=f"Came back: bounced {bounced}" + (f", delayed {delayed}" if delayed else ""),
        title_justify="left",
    )
    for column in ("Address", "State", "Code"):
        table.add_column(column, no_wrap=True)
    table.add_column("Server's words")
    for row in rows:
        bounce = row.bounce
        assert bounce is not None
        table.add_row(
            shown(bounce.recipient),
            bounce.kind,
            shown(bounce.status or ""),
            shown(bounce.diagnostic, lines=True),
        )
    out_console.print(table)
