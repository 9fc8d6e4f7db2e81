"""What every command shares: the options that choose a mailing's inputs and
addressees, ``--format``, and the error handling that turns a
:class:`~dispatch.errors.DispatchError` into its message and exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dispatch.cli import consoles
from dispatch.cli.consoles import shown
from dispatch.errors import DispatchError, InvalidInput

if TYPE_CHECKING:
    from dispatch.job import Selection

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Run a command on this run's consoles (see :func:`~dispatch.cli.consoles.use_consoles`)
    and turn a DispatchError into its message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        consoles.use_consoles()
        try:
            return func(*args, **kwargs)
        except InvalidInput as exc:
            n = len(exc.problems)
            noun = "problem" if n == 1 else "problems"
            consoles.show_problems(
                f"{n} {noun} found; nothing was written or sent.",
                exc.problems,
                style="bold red",
            )
            consoles.show_warnings(exc.warnings)
            sys.exit(exc.exit_code)
        except DispatchError as exc:
            message = shown(exc, lines=True)
            consoles.err_console.print(f"[bold red]Error:[/] {message}", highlight=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            consoles.err_console.print("Interrupted (Ctrl-C).")
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


def _selection(
    contacts: Path | None,
    templates_dir: Path | None,
    only: tuple[str, ...],
    category: tuple[str, ...],
) -> Selection:
    from dispatch.job import Selection

    return Selection(contacts, templates_dir, only, category)


#: The MAILING argument and the four options that choose inputs and addressees.
MAILING_OPTIONS = (
    click.argument("mailing", type=click.Path(path_type=Path)),
    click.option(
        "--contacts",
        type=click.Path(path_type=Path, dir_okay=False),
        help="The contacts workbook (.xlsx, .ods or .csv). Default: the "
        "mailing's `contacts` key, else contacts.xlsx beside the mailing file, "
        "else ./contacts.xlsx.",
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
        selection = _selection(contacts, templates_dir, only, category)
        func(*args, selection=selection, **kwargs)

    command: Callable[..., None] = handle_errors(wrapper)
    for option in reversed(MAILING_OPTIONS):
        command = option(command)
    return command


def format_option(_ctx: click.Context, _param: click.Parameter, value: str) -> list[str]:
    """``--format html,txt`` as a list; an unknown format is a usage error (exit 2)."""
    from dispatch.output import parse_formats

    try:
        return parse_formats(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
