"""The commands that keep a mailing's record: approve (freeze what send sends),
archive (pack the record), bounces (what came back, into the journal).

Each imports its job when it runs: approving loads no bounce reader, reading bounces
no renderer."""

from __future__ import annotations

from pathlib import Path

import click

from dispatch.cli import consoles
from dispatch.cli.journal_view import approval_table, show_bounces_read
from dispatch.cli.options import handle_errors, jobs_option
from dispatch.cli.progress import Steps
from dispatch.safe_text import terminal_safe


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


@click.command()
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
    help="The contacts workbook. Default: the mailing's `contacts` key, else "
    "contacts.xlsx beside the mailing file, else ./contacts.xlsx.",
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
    from dispatch.approval import approve_mailing

    with Steps(consoles.err_console) as steps:
        prepared, approval = approve_mailing(
            mailing, by, contacts=contacts, templates=templates_dir, jobs=jobs, progress=steps
        )
    consoles.show_warnings(prepared.warnings)
    languages = prepared.mailing.languages
    consoles.out_console.print(approval_table(approval, prepared.mailing.name, languages))
    consoles.out_console.print(
        terminal_safe(f"Frozen in {approval.folder} (approval {approval.id})."), markup=False
    )


@click.command()
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
    from dispatch.archive import archive_mailing

    with Steps(consoles.err_console) as steps:
        archived = archive_mailing(mailing, out, contacts=contacts, progress=steps)
    consoles.out_console.print(
        terminal_safe(
            f"Wrote {archived.path}: {len(archived.members)} files, {archived.approval.line()}."
        ),
        markup=False,
    )
    for left in archived.skipped:
        consoles.err_console.print(terminal_safe(f"Not packed: {left}"), markup=False)


@click.command()
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
    from dispatch.bounce_journal import record_bounces

    with Steps(consoles.err_console) as steps:
        found = record_bounces(
            mailing, source, fix_list=fix_list, contacts=contacts, progress=steps
        )
    show_bounces_read(found)
