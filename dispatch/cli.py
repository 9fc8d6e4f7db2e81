"""The ``dispatch`` command: a thin layer over the library.

Each command parses its options, calls the core, shows the result with Rich and turns a
:class:`~dispatch.errors.DispatchError` into a message and an exit code: 0 ok, 1 other
failure, 2 bad input, 3 relay unreachable or authentication refused.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

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
from dispatch.settings import SmtpSettings, load_settings

F = TypeVar("F", bound=Callable[..., Any])

out_console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _problems(title: str, problems: list[Problem], *, style: str) -> None:
    if not problems:
        return
    err_console.print(f"[{style}]{title}[/]")
    for line in summarise(problems):  # the same problem on consecutive rows: one line
        err_console.print(f"- {line}", markup=False)


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
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err_console.print("Interrupted (Ctrl-C).")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


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


def summary_table(prepared: Prepared, title: str) -> Table:
    """Letters per category and language, in the order of the Categories sheet."""
    counts = prepared.counts()
    langs = prepared.mailing.languages
    table = Table(title=title, title_justify="left")
    table.add_column("Category")
    table.add_column("Addressed as")
    for lang in langs:
        table.add_column(lang, justify="right")
    table.add_column("Total", justify="right")
    mailing = prepared.mailing
    for side, codes in (("to", mailing.addressees.to), ("cc", mailing.addressees.cc)):
        for code in codes:
            code = code.upper()
            row = [counts.get((lang, code), 0) for lang in langs]
            table.add_row(
                f"{code}{' (copy)' if side == 'cc' else ''}",
                prepared.contacts.categories[code].line(langs[0]),
                *map(str, row),
                str(sum(row)),
            )
    per_lang = [sum(1 for x in prepared.letters if x.lang == lang) for lang in langs]
    table.add_row("[bold]Letters[/]", "", *map(str, per_lang), str(len(prepared.letters)))
    return table


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dispatch")
def main() -> None:
    """dispatch: mail-merge for formal invitation letters.

    Check a mailing, render its letters to files, preview them, send them by SMTP.
    """


@main.command()
@mailing_command
def check(mailing: Path, selection: Selection) -> None:
    """Validate MAILING, the workbook and every template against every addressee.

    Prints the number of letters per category and language, or every problem found
    (exit code 2). Writes nothing.
    """
    prepared = check_mailing(mailing, selection)
    out_console.print(summary_table(prepared, f"{prepared.mailing.name}: ready"))
    _problems("Warnings:", prepared.warnings, style="yellow")
    out_console.print(
        f"No problem found in {prepared.mailing.path}, "
        f"{prepared.contacts.path} and the {prepared.mailing.template} templates."
    )


@main.command()
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
def render(mailing: Path, out: Path | None, formats: list[str], selection: Selection) -> None:
    """Render every letter of MAILING to files, one per addressee and format.

    Everything is validated first: on any problem nothing is written (exit code 2).
    """
    rendered = render_mailing(mailing, out, formats=formats, selection=selection)
    prepared = rendered.prepared
    out_console.print(summary_table(prepared, f"{prepared.mailing.name}: letters written"))
    _problems("Warnings:", prepared.warnings, style="yellow")
    out_console.print(
        f"Wrote {rendered.files} files ({', '.join(rendered.formats)}) for "
        f"{rendered.letters} letters to {rendered.out}/"
    )


@main.command()
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
def preview(
    mailing: Path, out: Path | None, formats: list[str], open_browser: bool, selection: Selection
) -> None:
    """Render MAILING into a folder with an index.html listing every letter, and open it.

    The page groups the letters by language and category, links each letter's HTML,
    PDF and .eml files, and shows the validation warnings. It works offline.
    """
    previewed = preview_mailing(mailing, out, formats=formats, selection=selection)
    _problems("Warnings:", list(previewed.warnings), style="yellow")
    out_console.print(f"Preview of {len(previewed.prepared.letters)} letters: {previewed.index}")
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
        f"From {mailing.sender.email}"
        + (f" via {settings.host}:{settings.port} ({settings.security})" if settings else "")
        + f" · to send now: {len(plan.to_send)} · already sent: {len(plan.already_sent)}"
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
    table.add_column("Address", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Code", justify="right", no_wrap=True)
    table.add_column("Reason")
    for f in failures:
        table.add_row(
            ", ".join(f.recipients) or f.key,
            f.state,
            "" if f.code is None else str(f.code),
            f.reason,
        )
    return table


@main.command()
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
    help="A TOML file with an [smtp] table (the password stays in DISPATCH_SMTP_PASSWORD).",
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
) -> None:
    """Send every letter of MAILING by SMTP, once per addressee.

    Validates everything first (any problem: exit 2, nothing sent), shows what is about
    to happen and asks for confirmation. A journal beside the mailing records every
    message: run the same command again after any failure and only what was not sent
    is sent. With --dry-run nothing connects, even with --to. Exit 0 all sent, 1 some
    failed or unknown, 2 bad input, 3 relay unreachable or authentication refused.
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
    )
    progress = _SendProgress(verbose)

    def confirm(proposal: Proposal) -> bool:
        prepared = proposal.prepared
        _problems("Warnings:", prepared.warnings, style="yellow")
        title = f"{prepared.mailing.name}: about to send"
        out_console.print(_plan_table(prepared, proposal.plan, proposal.settings, title))
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
            )
    except DeliveryInterrupted as exc:
        _print_summary(exc.summary)
        err_console.print(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:  # before the delivery began: nothing was sent
        err_console.print("Interrupted (Ctrl-C) while preparing: nothing was sent.")
        sys.exit(130)
    _show_send_result(result)
    sys.exit(result.exit_code)


def _show_send_result(result: SendResult) -> None:
    """What a send did, as the command says it (the plan was shown by ``confirm``)."""
    prepared = result.prepared
    name = result.mailing.name
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
                out_console.print(
                    f"Sample in {r.language} (the letter of {r.key}) to {r.to_address}: {state}"
                )
        case SendOutcome.DRY_RUN if result.plan is None:
            for message in result.would_sample:
                out_console.print(
                    f"Sample in {message.language} (the letter of {message.key}): "
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
            _print_summary(result.summary)


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


class _SendProgress:
    """The progress bar of a delivery, shown from its first event to the end of the run."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> _SendProgress:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def on_event(self, event: DeliveryEvent) -> None:
        if self.progress is None:
            self.progress = Progress(
                TextColumn("[bold]Sending"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=err_console,
                transient=False,
            )
            self.progress.start()
            self.task = self.progress.add_task("send", total=event.total, detail="")
        assert self.task is not None
        if self.verbose and event.key is not None:
            code = "" if event.code is None else f" {event.code}"
            self.progress.console.print(
                f"{event.key}: {event.kind}{code} {event.reason}".rstrip(),
                markup=False,
                highlight=False,
            )
        if event.kind == "stopping":  # at once: the wait can last up to --timeout
            self.progress.console.print(event.reason, markup=False, highlight=False)
        self.progress.update(
            self.task,
            completed=event.sent + event.failed + event.unknown,
            total=event.total,
            detail=(
                f"sent {event.sent} · failed {event.failed} · unknown {event.unknown} · "
                f"{event.per_minute:.0f}/min"
            ),
        )


def _print_summary(summary: DeliverySummary) -> None:
    out_console.print(
        f"Sent {summary.sent} of {summary.total} in {summary.elapsed:.1f} s; "
        f"failed for now: {len(summary.failed_temporary)}, refused: "
        f"{len(summary.failed_permanent)}, unknown: {len(summary.unknown)}, "
        f"not attempted: {summary.not_attempted}, left by --limit: {summary.held_by_limit}."
    )
    if summary.recovered:
        err_console.print(
            f"{summary.recovered} messages left `sending` by an earlier run "
            "that stopped are now unknown (the relay may have them)."
        )
    if summary.halted:
        err_console.print(f"Stopped: {summary.halted}")
    failures = [
        *summary.failed_permanent,
        *summary.failed_temporary,
        *summary.unknown,
        *summary.partial,
    ]
    if failures:
        err_console.print(_failure_table(failures, "Not delivered, or not to everyone"))
    _report_leftovers(summary.plan)
    if summary.failed_temporary or summary.not_attempted:
        err_console.print("Run the same command again to send what is left.")


@main.command()
@click.argument("mailing", type=click.Path(path_type=Path))
@handle_errors
def status(mailing: Path) -> None:
    """Show the journal of MAILING: counts per state, then failures and unknowns.

    Reads the journal only; changes nothing.
    """
    found = mailing_status(mailing)
    name = found.mailing.name
    if not found.started:
        out_console.print(f"{name}: nothing sent yet (no journal at {found.journal}).")
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
        for column in ("Address", "State", "Code"):
            detail.add_column(column, no_wrap=True)
        detail.add_column("Reply")
        detail.add_column("Updated")
        for row in found.problems:
            detail.add_row(
                ", ".join(row.recipients),
                row.state,
                "" if row.code is None else str(row.code),
                row.reply or "",
                row.updated_at.isoformat(timespec="seconds"),
            )
        out_console.print(detail)
    if found.bounced:
        _bounce_table(found.bounced)


@main.command()
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

    Your contacts workbook is never modified.
    """
    reported = report_mailing(mailing, out, contacts=contacts)
    _problems("Warnings:", list(reported.warnings), style="yellow")
    out_console.print(f"Wrote {reported.rows} rows to {reported.path}")


# -- approval, archive, bounces --------------------------------------------------------


@main.command()
@click.argument("mailing", type=click.Path(path_type=Path))
@click.option("--by", required=True, metavar="NAME", help="Who approves (recorded and shown).")
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
@handle_errors
def approve(mailing: Path, by: str, contacts: Path | None, templates_dir: Path | None) -> None:
    """Render MAILING once and freeze it: send will then send exactly these messages.

    Writes every message (.eml, PDF and attachments included) and a manifest of every
    input's digest into <mailing folder>/approved/<time>/. If an input changes
    afterwards, send refuses until the mailing is approved again.
    """
    prepared, approval = approve_mailing(mailing, by, contacts=contacts, templates=templates_dir)
    _problems("Warnings:", list(prepared.warnings), style="yellow")
    table = Table(title=f"{prepared.mailing.name}: {approval.line()}", title_justify="left")
    table.add_column("Language")
    table.add_column("Category")
    table.add_column("Messages", justify="right")
    for lang, code, count in summary_rows(approval, prepared.mailing.languages):
        table.add_row(lang, code, str(count))
    per_lang = approval.per_language()
    table.add_row(
        "[bold]Messages[/]",
        ", ".join(f"{lang} {n}" for lang, n in per_lang.items()),
        str(len(approval.messages)),
    )
    out_console.print(table)
    out_console.print(f"Frozen in {approval.folder} (approval {approval.id}).", markup=False)


@main.command()
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
    """
    archived = archive_mailing(mailing, out, contacts=contacts)
    out_console.print(
        f"Wrote {archived.path}: {len(archived.members)} files, {archived.approval.line()}.",
        markup=False,
    )


@main.command()
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
    """
    found = record_bounces(mailing, source, fix_list=fix_list, contacts=contacts)
    out_console.print(
        f"{found.mailing.name}: {found.found} notification(s) read, {found.new} new; "
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
                f"- {bounce.recipient} {bounce.status or ''} {bounce.diagnostic}".rstrip(),
                markup=False,
            )
    if found.fix_list is not None:
        out_console.print(
            f"Wrote {found.fix_rows} address(es) to correct to {found.fix_list}. Correct them "
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
        table.add_row(bounce.recipient, bounce.kind, bounce.status or "", bounce.diagnostic)
    out_console.print(table)
