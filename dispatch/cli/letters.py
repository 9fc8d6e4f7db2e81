"""The commands that read a mailing's letters without sending them: check, render,
preview."""

from __future__ import annotations

from pathlib import Path

import click

from dispatch.cli import consoles
from dispatch.cli.consoles import shown
from dispatch.cli.counts import show_counts, show_excluded
from dispatch.cli.options import format_option, jobs_option, mailing_command
from dispatch.cli.progress import Steps
from dispatch.job import Selection, check_mailing, preview_mailing, render_mailing
from dispatch.prepare import columns_and_paragraphs
from dispatch.safe_text import terminal_safe


@click.command()
@click.option(
    "--list-excluded",
    is_flag=True,
    help="Also list every workbook row that gets no letter: sheet, row, address, reason.",
)
@mailing_command
def check(mailing: Path, selection: Selection, list_excluded: bool) -> None:
    """Validate MAILING, the workbook and every template against every addressee.

    Prints the number of letters per category and language, and the workbook rows
    that get no letter and why, or every problem found (exit code 2). Writes nothing.
    MAILING is a mailing folder or its mailing.toml.

    \b
    Examples:
      dispatch check mailings/gala
      dispatch check mailings/gala/mailing.toml --contacts contacts-2027.xlsx
      dispatch check mailings/gala --category SMT --only anne@example.org
      dispatch check mailings/gala --list-excluded
    """
    with Steps(consoles.err_console) as steps:
        prepared = check_mailing(mailing, selection, progress=steps)
    show_counts(prepared, f"{shown(prepared.mailing.name)}: ready")
    if list_excluded:
        show_excluded(prepared)
    for line in columns_and_paragraphs(prepared):  # the workbook's own columns, when
        consoles.out_console.print(terminal_safe(line), markup=False)
    consoles.show_warnings(prepared.warnings)
    consoles.out_console.print(
        f"No problem found in {shown(prepared.mailing.path)}, "
        f"{shown(prepared.contacts.path)} and the {shown(prepared.mailing.template)} templates."
    )


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the letters. Default: out/ in the mailing's folder.",
)
@click.option(
    "--format",
    "formats",
    default="html,txt,eml",
    show_default=True,
    callback=format_option,
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
    with Steps(consoles.err_console) as steps:
        rendered = render_mailing(
            mailing, out, formats=formats, selection=selection, progress=steps, jobs=jobs
        )
    prepared = rendered.prepared
    show_counts(prepared, f"{shown(prepared.mailing.name)}: letters written")
    consoles.show_warnings(prepared.warnings)
    consoles.out_console.print(
        f"Wrote {rendered.files} files ({', '.join(rendered.formats)}) for "
        f"{rendered.letters} letters to {shown(rendered.out)}/"
    )


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the preview. Default: out/preview/ in the mailing's folder.",
)
@click.option(
    "--format",
    "formats",
    default="html,pdf,eml",
    show_default=True,
    callback=format_option,
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
    with Steps(consoles.err_console) as steps:
        previewed = preview_mailing(
            mailing, out, formats=formats, selection=selection, progress=steps, jobs=jobs
        )
    consoles.show_warnings(previewed.warnings)
    consoles.out_console.print(
        f"Preview of {len(previewed.prepared.letters)} letters: {shown(previewed.index)}"
    )
    if open_browser:
        click.launch(previewed.index.resolve().as_uri())
