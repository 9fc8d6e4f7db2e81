"""The ``dispatch`` group: its help, and each command loaded from its module when used.

The help lists the commands from :data:`COMMANDS` without importing one, so that
``dispatch --version`` and ``dispatch --help`` load click and nothing of the core, and
``dispatch check`` loads what checking needs, not the PDF engine or the SMTP client.
"""

from __future__ import annotations

import importlib

import click

#: The commands in the order of the work, as the help lists them (the six of every
#: mailing, then those some mailings need); any other follows by name.
ORDER = (
    "init",
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

#: Each command: ``module:function`` that defines it, and its whole line in the help.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "dispatch.cli.starting:init",
        "Start a new mailing folder: a starter to fill in, or a sample.",
    ),
    "check": (
        "dispatch.cli.letters:check",
        "Validate a mailing, its workbook and templates; writes nothing.",
    ),
    "render": (
        "dispatch.cli.letters:render",
        "Write every letter to files: html, txt, eml, pdf, ics.",
    ),
    "preview": (
        "dispatch.cli.letters:preview",
        "Render the letters into a page to look through in the browser.",
    ),
    "send": (
        "dispatch.cli.sending:send",
        "Send every letter by SMTP, once per addressee, with a journal.",
    ),
    "status": (
        "dispatch.cli.sending:status",
        "Show what was sent: counts per state, then each failure.",
    ),
    "report": (
        "dispatch.cli.sending:report",
        "Write a workbook (or CSV) of every message and its state.",
    ),
    "approve": (
        "dispatch.cli.record:approve",
        "Freeze a mailing's messages: send then sends exactly these.",
    ),
    "archive": (
        "dispatch.cli.record:archive",
        "Pack what was approved, the journal and a report into one .zip.",
    ),
    "bounces": (
        "dispatch.cli.record:bounces",
        "Read bounce notifications from a mailbox into the journal.",
    ),
}


class WorkOrderGroup(click.Group):
    """A group whose help lists the commands in the order of the work, each with its
    whole one-line description (click would cut them at 45 characters), and that
    imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = {*super().list_commands(ctx), *COMMANDS}
        first = [name for name in ORDER if name in names]
        return first + sorted(name for name in names if name not in ORDER)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            where, short_help = COMMANDS[cmd_name]
            module, _, attribute = where.partition(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            command.short_help = short_help
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in COMMANDS and name not in self.commands:  # its line, not its module
                rows.append((name, COMMANDS[name][1]))
                continue
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands, in the order of the work"):
                formatter.write_dl(rows)


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
      dispatch init mailings/gala
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
