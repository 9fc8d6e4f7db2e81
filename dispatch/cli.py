"""The ``dispatch`` command: a thin layer over the library.

Each command parses its options, calls the core, shows the result with Rich and turns a
:class:`~dispatch.errors.DispatchError` into a message and an exit code: 0 ok, 1 other
failure, 2 bad input, 3 relay unreachable or authentication refused.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from dispatch.errors import DispatchError, InvalidInput, Problem
from dispatch.output import parse_formats, render_files
from dispatch.prepare import Prepared, prepare
from dispatch.preview import write_index
from dispatch.templates import DEFAULT_TEMPLATES, TemplateSet

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
            err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
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
        help="The templates folder (with fr/ and en/). Default: the bundled templates.",
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
    templates = TemplateSet(templates_dir or _default_templates())
    return prepare(
        mailing, contacts_path=contacts, templates=templates, only=only, category=category
    )


def _default_templates() -> Path:
    local = Path("templates")
    return local if (local / "fr").is_dir() else DEFAULT_TEMPLATES


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
    help="Comma-separated formats: html, txt, eml, pdf, ics.",
)
@common_options
@handle_errors
def render(
    mailing: Path,
    out: Path | None,
    formats: str,
    contacts: Path | None,
    templates_dir: Path | None,
    only: tuple[str, ...],
    category: tuple[str, ...],
) -> None:
    """Render every letter of MAILING to files, one per addressee and format.

    Everything is validated first: on any problem nothing is written (exit code 2).
    """
    try:
        chosen = parse_formats(formats)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from None
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
    formats: str,
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
    try:
        chosen = parse_formats(formats)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from None
    prepared = _prepare(mailing, contacts, templates_dir, only, category)
    target = out or Path("out") / prepared.mailing.name / "preview"
    render_files(prepared, target, chosen)
    index = write_index(prepared, target, chosen)
    out_console.print(f"Preview of {len(prepared.letters)} letters: {index}")
    if open_browser:
        click.launch(index.resolve().as_uri())
