"""The two consoles every view writes to, and the words they share: numbers, counts,
lists of problems.

The consoles are made again when a command starts (:func:`use_consoles`), for the
terminal or log it writes to then; views reach them as ``consoles.out_console`` and
``consoles.err_console``, never through a name bound at import.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from rich.console import Console, ConsoleOptions, RenderableType
from rich.markup import escape
from rich.segment import Segment

from dispatch import numbers
from dispatch.errors import Problem, summarise
from dispatch.safe_text import terminal_safe

#: Width of the output when it goes to a file or a pipe (a log): tables take the room
#: their content needs (they are never padded to it), and lines are not wrapped at all.
LOG_WIDTH = 1000


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


def use_consoles() -> None:
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
    """``5 943``: thousands apart, with a space that never breaks a line (the one style
    of a run: :func:`dispatch.numbers.number`)."""
    return numbers.number(n)


def count(n: int, one: str, many: str) -> str:
    """``1 letter``, ``5 943 letters``."""
    return f"{number(n)} {one if n == 1 else many}"


def show_problems(title: str, problems: Sequence[Problem], *, style: str) -> None:
    """A title, then a line per problem on stderr; nothing when there is none."""
    if not problems:
        return
    err_console.print(f"[{style}]{title}[/]")
    for line in summarise(problems):  # the same problem on consecutive rows: one line
        err_console.print(f"- {terminal_safe(line)}", markup=False)


def show_warnings(warnings: Sequence[Problem]) -> None:
    """The warnings of a check, after its result."""
    show_problems("Warnings:", warnings, style="yellow")
