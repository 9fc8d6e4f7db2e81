"""The command that starts a mailing: init (a starter to fill in, or a shipped sample).

It imports the starter when it runs: the workbook writer (openpyxl) only then."""

from __future__ import annotations

from pathlib import Path

import click

from dispatch.cli import consoles
from dispatch.cli.options import handle_errors


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--kind",
    type=click.Choice(["invitation", "consultation"]),
    default=None,
    help="The letter of the starter: an invitation to an event (the default), or a "
    "consultation with a reply deadline.",
)
@click.option(
    "--sample",
    metavar="NAME",
    default=None,
    help="Copy one of the sample mailings instead: tsb-352, cmdt-21, bdt-dir-105, "
    "cl-23-24, wsis-2021 or tsb-352-six.",
)
@handle_errors
def init(folder: Path, kind: str | None, sample: str | None) -> None:
    """Write a new mailing into FOLDER that checks and renders at once.

    The starter is a commented mailing.toml, a contacts.xlsx (sheets Contacts and
    Categories, a few fictional rows, dropdowns for language and active) and a
    letterhead.toml to fill in. With --sample, one of dispatch's sample mailings is
    copied instead, with its letterhead and workbook. No file is ever written over:
    if one exists, nothing is written.

    \b
    Examples:
      dispatch init gala
      dispatch init survey --kind consultation
      dispatch init tsb-352 --sample tsb-352
    """
    from dispatch.starter import start_mailing

    if kind is not None and sample is not None:
        raise click.UsageError("--kind starts a blank mailing, --sample copies one: give one.")
    started = start_mailing(
        folder, kind="consultation" if kind == "consultation" else "invitation", sample=sample
    )
    what = f"the sample {sample}" if sample else f"a new {started.kind}"
    consoles.out_console.print(f"Wrote {what} into {started.folder}:", markup=False)
    for path in started.files:
        consoles.out_console.print(f"- {path.name}", markup=False)
    consoles.out_console.print(
        f"Next: edit {started.mailing} and {started.folder / 'contacts.xlsx'}, then run "
        f"dispatch check {folder} and dispatch preview {folder}.",
        markup=False,
    )
