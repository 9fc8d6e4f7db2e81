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
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dispatch.compose import Composer, journal_dir, outgoing, validate_sizes
from dispatch.errors import DispatchError, InvalidInput, JournalError, Location, Problem
from dispatch.fingerprint import inputs_fingerprint
from dispatch.journal import Journal, MailingLock, Plan
from dispatch.mailing import Mailing, load_mailing
from dispatch.output import now, parse_formats, render_files
from dispatch.prepare import Prepared, contacts_path_for, prepare, templates_path_for
from dispatch.preview import write_index
from dispatch.report import write_report
from dispatch.send import (
    DeliveryEvent,
    DeliveryInterrupted,
    DeliverySummary,
    Failure,
    Outgoing,
    deliver_sync,
    send_samples_sync,
)
from dispatch.settings import SmtpSettings, load_settings
from dispatch.templates import TemplateSet

F = TypeVar("F", bound=Callable[..., Any])

out_console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _problems(title: str, problems: list[Problem], *, style: str) -> None:
    if not problems:
        return
    err_console.print(f"[{style}]{title}[/]")
    for problem in problems:
        err_console.print(f"- {problem}", markup=False)


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

    return wrapper  # type: ignore[return-value]


def common_options(func: F) -> F:
    """The options every command that reads a mailing takes."""
    func = click.option(
        "--contacts",
        type=click.Path(path_type=Path, dir_okay=False),
        help="The contacts workbook (.xlsx, .ods or .csv). Default: the "
        "mailing's `contacts` key, else ./contacts.xlsx.",
    )(func)
    func = click.option(
        "--templates",
        "templates_dir",
        type=click.Path(path_type=Path, file_okay=False, exists=True),
        default=None,
        help="The templates folder (with fr/ and en/). Default: the mailing's `templates` "
        "key, else the bundled templates.",
    )(func)
    func = click.option(
        "--only", multiple=True, metavar="EMAIL", help="Only this addressee (repeatable)."
    )(func)
    func = click.option(
        "--category",
        multiple=True,
        metavar="CODE",
        help="Only addressees in this category (repeatable).",
    )(func)
    return func


def _prepare(
    mailing: Path,
    contacts: Path | None,
    templates_dir: Path | None,
    only: tuple[str, ...],
    category: tuple[str, ...],
) -> Prepared:
    templates = TemplateSet(templates_dir) if templates_dir else None
    return prepare(
        mailing, contacts_path=contacts, templates=templates, only=only, category=category
    )


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
@click.argument("mailing", type=click.Path(path_type=Path))
@common_options
@handle_errors
def check(
    mailing: Path,
    contacts: Path | None,
    templates_dir: Path | None,
    only: tuple[str, ...],
    category: tuple[str, ...],
) -> None:
    """Validate MAILING, the workbook and every template against every addressee.

    Prints the number of letters per category and language, or every problem found
    (exit code 2). Writes nothing.
    """
    prepared = _prepare(mailing, contacts, templates_dir, only, category)
    out_console.print(summary_table(prepared, f"{prepared.mailing.name}: ready"))
    _problems("Warnings:", prepared.warnings, style="yellow")
    out_console.print(
        f"No problem found in {prepared.mailing.path}, "
        f"{prepared.contacts.path} and the {prepared.mailing.template} templates."
    )


@main.command()
@click.argument("mailing", type=click.Path(path_type=Path))
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
@common_options
@handle_errors
def render(
    mailing: Path,
    out: Path | None,
    formats: list[str],
    contacts: Path | None,
    templates_dir: Path | None,
    only: tuple[str, ...],
    category: tuple[str, ...],
) -> None:
    """Render every letter of MAILING to files, one per addressee and format.

    Everything is validated first: on any problem nothing is written (exit code 2).
    """
    chosen = formats
    prepared = _prepare(mailing, contacts, templates_dir, only, category)
    target = out or Path("out") / prepared.mailing.name
    written = render_files(prepared, target, chosen)
    out_console.print(summary_table(prepared, f"{prepared.mailing.name}: letters written"))
    _problems("Warnings:", prepared.warnings, style="yellow")
    out_console.print(
        f"Wrote {written.files} files ({', '.join(chosen)}) for "
        f"{written.letters} letters to {target}/"
    )


@main.command()
@click.argument("mailing", type=click.Path(path_type=Path))
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
@common_options
@handle_errors
def preview(
    mailing: Path,
    out: Path | None,
    formats: list[str],
    open_browser: bool,
    contacts: Path | None,
    templates_dir: Path | None,
    only: tuple[str, ...],
    category: tuple[str, ...],
) -> None:
    """Render MAILING into a folder with an index.html listing every letter, and open it.

    The page groups the letters by language and category, links each letter's HTML,
    PDF and .eml files, and shows the validation warnings. It works offline.
    """
    chosen = formats
    prepared = _prepare(mailing, contacts, templates_dir, only, category)
    target = out or Path("out") / prepared.mailing.name / "preview"
    render_files(prepared, target, chosen)
    index = write_index(prepared, target, chosen)
    out_console.print(f"Preview of {len(prepared.letters)} letters: {index}")
    if open_browser:
        click.launch(index.resolve().as_uri())


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
@click.argument("mailing", type=click.Path(path_type=Path))
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
@common_options
@handle_errors
def send(
    mailing: Path,
    yes: bool,
    dry_run: bool,
    to_address: str | None,
    limit: int | None,
    retry_unknown: bool,
    settings_file: Path | None,
    concurrency: int | None,
    rate: float | None,
    timeout: float | None,
    verbose: bool,
    contacts: Path | None,
    templates_dir: Path | None,
    only: tuple[str, ...],
    category: tuple[str, ...],
) -> None:
    """Send every letter of MAILING by SMTP, once per addressee.

    Validates everything first (any problem: exit 2, nothing sent), shows what is about
    to happen and asks for confirmation. A journal beside the mailing records every
    message: run the same command again after any failure and only what was not sent
    is sent. Exit 0 all sent, 1 some failed or unknown, 2 bad input, 3 relay unreachable
    or authentication refused.
    """
    if not (dry_run or to_address):
        _stop_if_settled(mailing, contacts, templates_dir, only, category, retry_unknown)
    prepared = _prepare(mailing, contacts, templates_dir, only, category)
    settings = (
        None
        if dry_run and not os.environ.get("DISPATCH_SMTP_HOST") and not (settings_file)
        else _settings(
            settings_file, concurrency=concurrency, rate_per_minute=rate, timeout=timeout
        )
    )
    composer = Composer(prepared, when=now(), attach_pdf=prepared.mailing.attach_pdf)
    validate_sizes(composer, prepared.mailing.max_message_mb)
    messages = [outgoing(composer, letter) for letter in prepared.letters]
    _problems("Warnings:", prepared.warnings, style="yellow")

    if to_address:
        if settings is None:
            raise click.UsageError("--to needs a relay: set DISPATCH_SMTP_HOST.")
        results = send_samples_sync(messages, settings, to_address)
        for r in results:
            state = "accepted" if r.accepted else f"refused ({r.code} {r.reply})"
            out_console.print(
                f"Sample in {r.language} (the letter of {r.key}) to {r.to_address}: {state}"
            )
        sys.exit(0 if all(r.accepted for r in results) else 1)

    folder = journal_dir(prepared.mailing)
    with MailingLock(folder / "lock"):
        if dry_run:
            journal_path = folder / "journal.sqlite3"
            if journal_path.exists():
                with Journal.open(journal_path, readonly=True) as journal:
                    plan = journal.preview(messages, retry_unknown=retry_unknown)
            else:
                plan = Plan(
                    to_send=tuple(messages),
                    already_sent=(),
                    changed=(),
                    unknown=(),
                    failed_permanent=(),
                    not_in_mailing=0,
                )
            out_console.print(
                _plan_table(
                    prepared, plan, settings, f"{prepared.mailing.name}: dry run, nothing sent"
                )
            )
            return
        assert settings is not None
        inputs = _fingerprint(prepared.mailing, contacts, templates_dir, only, category)
        with Journal.open(folder / "journal.sqlite3") as journal:
            plan = journal.preview(messages, retry_unknown=retry_unknown)
            out_console.print(
                _plan_table(prepared, plan, settings, f"{prepared.mailing.name}: about to send")
            )
            if not plan.to_send:
                if inputs is not None:  # every message of these inputs is in the journal
                    journal.record_inputs(inputs)
                out_console.print("Nothing to send: every message of this mailing is settled.")
                _report_leftovers(plan)
                sys.exit(1 if plan.unknown or plan.failed_permanent else 0)
            count = min(len(plan.to_send), limit or len(plan.to_send))
            if not yes:
                if not sys.stdin.isatty():
                    err_console.print(
                        "Not sent: confirmation needed, and there is no terminal "
                        "to ask. Run with --yes to send without asking."
                    )
                    sys.exit(1)
                if not click.confirm(f"Send {count} messages now?", default=False):
                    err_console.print("Nothing sent.")
                    sys.exit(1)
            summary = _deliver_with_progress(
                messages, settings, journal, limit, retry_unknown, count, verbose, inputs
            )
    _print_summary(summary)
    sys.exit(0 if _all_done(summary) else 1)


def _fingerprint(
    mailing: Mailing,
    contacts: Path | None,
    templates_dir: Path | None,
    only: tuple[str, ...],
    category: tuple[str, ...],
) -> str | None:
    """The fingerprint of this run's inputs, or None if one of them cannot be read."""
    try:
        return inputs_fingerprint(
            mailing,
            contacts_path_for(mailing, contacts),
            templates_path_for(mailing, templates_dir),
            only=only,
            category=category,
        )
    except OSError:
        return None


def _stop_if_settled(
    mailing: Path,
    contacts: Path | None,
    templates_dir: Path | None,
    only: tuple[str, ...],
    category: tuple[str, ...],
    retry_unknown: bool,
) -> None:
    """Exit at once if the journal has nothing left to send for exactly these inputs.

    A re-run after a mailing went out would otherwise read the workbook, render every
    letter and PDF and compare them with the journal, to find nothing to do. The journal
    holds the fingerprint of the inputs its plan was made from (dispatch.fingerprint):
    if it is this one, no addressee can be new, and the counts tell the rest. In any
    doubt (anything unreadable, another version, rows still to send) this returns and
    the run takes the long way, which checks everything.
    """
    try:
        loaded = load_mailing(mailing)
        path = journal_dir(loaded) / "journal.sqlite3"
        if not path.is_file():
            return
        with Journal.open(path, readonly=True) as journal:
            recorded = journal.inputs()
            counts = journal.counts()
    except (InvalidInput, JournalError, OSError):
        return
    if recorded is None or recorded != _fingerprint(
        loaded, contacts, templates_dir, only, category
    ):
        return
    left = counts["planned"] + counts["sending"] + counts["failed-temporary"]
    if left or (retry_unknown and counts["unknown"]) or not counts["sent"]:
        return
    out_console.print(
        f"Nothing to send: every message of this mailing ({loaded.name}) is settled: "
        f"{counts['sent']} sent, {counts['failed-permanent']} refused, "
        f"{counts['unknown']} unknown. Its mailing file, workbook and templates are "
        "unchanged since the last run, so they were not checked again."
    )
    _report_unknown(counts["unknown"])
    if counts["failed-permanent"]:
        err_console.print(
            f"{counts['failed-permanent']} messages were refused by the relay: see "
            "`dispatch status`."
        )
    sys.exit(1 if counts["unknown"] or counts["failed-permanent"] else 0)


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


def _deliver_with_progress(
    messages: Sequence[Outgoing],
    settings: SmtpSettings,
    journal: Journal,
    limit: int | None,
    retry_unknown: bool,
    count: int,
    verbose: bool = False,
    inputs: str | None = None,
) -> DeliverySummary:
    columns = (
        TextColumn("[bold]Sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task("send", total=count, detail="")

        def on_event(event: DeliveryEvent) -> None:
            if verbose and event.key is not None:
                code = "" if event.code is None else f" {event.code}"
                progress.console.print(
                    f"{event.key}: {event.kind}{code} {event.reason}".rstrip(),
                    markup=False,
                    highlight=False,
                )
            done = event.sent + event.failed + event.unknown
            progress.update(
                task,
                completed=done,
                total=event.total,
                detail=(
                    f"sent {event.sent} · failed {event.failed} · unknown {event.unknown} · "
                    f"{event.per_minute:.0f}/min"
                ),
            )

        try:
            return deliver_sync(
                messages,
                settings,
                journal,
                limit=limit,
                retry_unknown=retry_unknown,
                on_event=on_event,
                inputs=inputs,
            )
        except DeliveryInterrupted as exc:
            progress.stop()
            _print_summary(exc.summary)
            err_console.print(str(exc))
            sys.exit(1)


def _all_done(summary: DeliverySummary) -> bool:
    return (
        summary.finished
        and not summary.unknown
        and not summary.failed_permanent
        and not summary.plan.unknown
        and not summary.plan.failed_permanent
        and not summary.partial
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
    loaded = load_mailing(mailing)
    path = journal_dir(loaded) / "journal.sqlite3"
    if not path.exists():
        out_console.print(f"{loaded.name}: nothing sent yet (no journal at {path}).")
        return
    with Journal.open(path, readonly=True) as journal:
        counts = journal.counts()
        table = Table(title=f"{loaded.name}: journal", title_justify="left")
        table.add_column("State")
        table.add_column("Messages", justify="right")
        for state, n in counts.items():
            table.add_row(state, str(n))
        table.add_row("[bold]Total[/]", str(sum(counts.values())))
        out_console.print(table)
        rows = journal.rows(["failed-temporary", "failed-permanent", "unknown"])
    if rows:
        detail = Table(title="Failures and unknowns", title_justify="left")
        for name in ("Address", "State", "Code"):
            detail.add_column(name, no_wrap=True)
        detail.add_column("Reply")
        detail.add_column("Updated")
        for row in rows:
            detail.add_row(
                ", ".join(row.recipients),
                row.state,
                "" if row.code is None else str(row.code),
                row.reply or "",
                row.updated_at.isoformat(timespec="seconds"),
            )
        out_console.print(detail)


@main.command()
@click.argument("mailing", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The workbook to write (.xlsx).",
)
@handle_errors
def report(mailing: Path, out: Path) -> None:
    """Write a workbook with one row per addressee of MAILING and the state of its message.

    Your contacts workbook is never modified.
    """
    loaded = load_mailing(mailing)
    path = journal_dir(loaded) / "journal.sqlite3"
    if not path.exists():
        raise InvalidInput(
            [
                Problem(
                    Location(file=path),
                    "does not exist: nothing was sent for this mailing yet",
                    "Run dispatch send first.",
                )
            ]
        )
    with Journal.open(path, readonly=True) as journal:
        count = write_report(journal.rows(), out)
    out_console.print(f"Wrote {count} rows to {out}")
