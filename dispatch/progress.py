"""How a long job tells its caller how far it has come, without printing anything.

A job that reads thousands of rows or renders thousands of letters takes seconds to
minutes; the core reports its steps through a callback, and the caller (the command
line shows a bar in a terminal and one line per step in a log) decides what to show::

    def show(step: Step, done: int, total: int | None) -> None:
        print(step.label, done, total)

    check_mailing("mailings/gala", progress=show)

The contract: each step is reported with ``done == 0`` when it starts, then as it
advances, and with ``done == total`` once when it ends (``total`` is None while the
size of a step is not known yet, as while a workbook is read). Steps come one after
another, never interleaved.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

__all__ = ["OnProgress", "Step", "counted", "finish", "start"]


class Step(enum.Enum):
    """A long step of a job; its value is what a person reads ("Rendering: ...")."""

    READING = "Reading the workbook"
    CHECKING = "Checking the letters"
    RENDERING = "Rendering"
    PDFS = "Making PDFs"
    PREPARING = "Preparing the messages"
    SENDING = "Sending"
    FREEZING = "Freezing the approved messages"
    PACKING = "Packing the archive"
    MAILBOX = "Reading the mailbox"

    @property
    def label(self) -> str:
        return self.value

    @property
    def unit(self) -> str:
        """What the step counts, in the plural."""
        return _UNITS[self]


_UNITS = {
    Step.READING: "rows",
    Step.CHECKING: "letters",
    Step.RENDERING: "letters",
    Step.PDFS: "PDFs",
    Step.PREPARING: "messages",
    Step.SENDING: "messages",
    Step.FREEZING: "messages",
    Step.PACKING: "messages",
    Step.MAILBOX: "messages",
}

#: The callback a job takes as ``progress``: the step, how many done, how many in all.
OnProgress = Callable[[Step, int, "int | None"], None]

T = TypeVar("T")


def start(progress: OnProgress | None, step: Step, total: int | None = None) -> None:
    """Say that ``step`` starts (no-op without a callback)."""
    if progress is not None:
        progress(step, 0, total)


def finish(progress: OnProgress | None, step: Step, done: int) -> None:
    """Say that ``step`` ended after ``done`` items."""
    if progress is not None:
        progress(step, done, done)


def counted(items: Iterable[T], progress: OnProgress | None, step: Step, total: int) -> Iterator[T]:
    """Yield ``items``, reporting ``step`` before the first and after each one.

    The last report has ``done == total`` only if every item was consumed: a step that
    stops early on an error does not claim to be finished.
    """
    if progress is None:
        yield from items
        return
    progress(step, 0, total)
    for done, item in enumerate(items, start=1):
        yield item
        progress(step, done, total)
