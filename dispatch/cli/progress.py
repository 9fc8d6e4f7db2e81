"""The progress of a job's long steps, as a command shows it: a bar in a terminal, one
line per step in a log."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from dispatch.cli.consoles import number
from dispatch.progress import Step
from dispatch.safe_text import terminal_safe

if TYPE_CHECKING:
    from dispatch.delivery.results import DeliveryEvent

#: In a log, a step gets its line from this many items on: a short run's log (and the
#: exact error output scripts compare) stays free of lines like "Reading the workbook:
#: 3 rows in 0.0 s". A terminal shows every step.
LOG_MIN_ITEMS = 100


class RateColumn(ProgressColumn):
    """Items a second, or a minute when slower than one a second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("")
        if speed >= 1:
            return Text(f"{speed:.0f}/s")
        return Text(f"{speed * 60:.0f}/min")


class Steps:
    """The progress of a job's long steps (the ``progress`` callback of the jobs).

    In a terminal, a bar per step with its count, rate and time remaining; in a log
    (no terminal), nothing while it runs. Once a step ends, one line says what it did:
    ``Rendering: 5 943 letters in 16.2 s`` (in a log, for steps of
    :data:`LOG_MIN_ITEMS` items or more). ``on_event`` adds the counts
    of a delivery to the sending bar, and with ``verbose`` a line per message.
    """

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.bars: Progress | None = None
        self.task: TaskID | None = None
        self.step: Step | None = None
        self.started = 0.0
        self.done = 0
        self.total: int | None = None
        self.detail = ""

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._end()

    def __call__(self, step: Step, done: int, total: int | None) -> None:
        if step is not self.step:
            self._end()
            self.step, self.started, self.detail = step, time.monotonic(), ""
            if self.console.is_terminal:
                self._start_bar(step, total)
        self.done, self.total = done, total
        if self.bars is not None and self.task is not None:
            self.bars.update(self.task, completed=done, total=total, detail=self.detail)
        if total is not None and done == total and step is not Step.SENDING:
            self._end()

    def _start_bar(self, step: Step, total: int | None) -> None:
        self.bars = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            RateColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.bars.start()
        self.task = self.bars.add_task(step.label, total=total, detail="")

    def _end(self) -> None:
        """The line that says what the current step did; the bar goes."""
        if self.step is None:
            return
        step, self.step = self.step, None
        if self.bars is not None:
            # The bar goes between steps: nothing redraws the screen while `send` shows
            # its plan and asks for confirmation.
            self.bars.stop()
            self.bars, self.task = None, None
        if not self.console.is_terminal and max(self.done, self.total or 0) < LOG_MIN_ITEMS:
            return
        if self.done == 0:
            return  # nothing was read or made (a workbook that cannot be opened): no line
        elapsed = time.monotonic() - self.started
        count = number(self.done)
        if self.total is not None and self.done != self.total:
            count = f"{count} of {number(self.total)}"
        line = f"{step.label}: {count} {step.unit} in {elapsed:.1f} s"
        if self.detail:
            line += f" ({self.detail})"
        self.console.print(line, markup=False, highlight=False)

    def on_event(self, event: DeliveryEvent) -> None:
        """A delivery's counts on the sending bar; a line per message with ``verbose``."""
        parts = [f"failed {event.failed}" if event.failed else "", ""]
        parts[1] = f"unknown {event.unknown}" if event.unknown else ""
        self.detail = " · ".join(part for part in parts if part)
        if self.verbose and event.key is not None:
            code = "" if event.code is None else f" {event.code}"
            self.console.print(
                terminal_safe(f"{event.key}: {event.kind}{code} {event.reason}".rstrip()),
                markup=False,
                highlight=False,
            )
        if event.kind == "stopping":  # at once: the wait can last up to --timeout
            self.console.print(terminal_safe(event.reason), markup=False, highlight=False)
