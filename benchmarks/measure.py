"""Run a command as a user does and measure it: wall time and the child's own peak RSS.

Each run is a fresh child process, waited for with :func:`os.wait4`, which returns the
resource usage of that child alone (``RUSAGE_CHILDREN`` would be a maximum over every
child this process ever had). Statistics are the median, min and max of the runs.
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class CommandFailed(RuntimeError):
    """A measured command exited with an error: its output says why."""

    def __init__(self, argv: Sequence[str], code: int, output: str) -> None:
        self.argv = list(argv)
        self.code = code
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(f"{' '.join(map(str, argv))} exited with {code}:\n{tail}")


@dataclass(frozen=True)
class Sample:
    """One run of a command: seconds of wall time, peak resident memory in MB, output."""

    seconds: float
    rss_mb: float
    output: str = ""


# A runaway child must fail on its own, not take the machine (and other people's work) down.
MEMORY_LIMIT = 6 * 1024**3  # bytes of address space
TIMEOUT = 30 * 60  # seconds


def _limit_memory(pid: int) -> None:
    # Set from outside (prlimit) rather than in a preexec_fn, which is unsafe with threads.
    with contextlib.suppress(OSError, AttributeError):
        resource.prlimit(pid, resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(
    argv: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    keep_output: bool = True,
    check: bool = True,
    timeout: float = TIMEOUT,
) -> Sample:
    """Run ``argv`` in a fresh child; its wall time and peak RSS (``ru_maxrss``, in KB on Linux).

    ``keep_output=False`` sends stdout to /dev/null (a peer's dry run prints every message);
    stderr is always kept, so that a failure can be explained. The child gets at most
    :data:`MEMORY_LIMIT` of address space and ``timeout`` seconds; past them it fails.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    args = [str(a) for a in argv]
    start = time.perf_counter()
    proc = subprocess.Popen(
        args,
        env=full_env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if keep_output else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if keep_output else subprocess.PIPE,
    )
    _limit_memory(proc.pid)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        pipe = proc.stdout if keep_output else proc.stderr
        assert pipe is not None
        # Read until the child closes it, so that a chatty child never blocks on a full pipe.
        data = pipe.read()
        pipe.close()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = data.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        if seconds >= timeout:
            text += f"\n(killed after {timeout:.0f} s)"
        if "MemoryError" in text:
            text += f"\n(the child reached the {MEMORY_LIMIT / 1024**3:.0f} GB memory limit)"
        raise CommandFailed(args, proc.returncode, text)
    return Sample(seconds=seconds, rss_mb=usage.ru_maxrss / 1024, output=text)


@dataclass(frozen=True)
class Stats:
    """Median, min and max of a series of values, and how many there were."""

    median: float
    min: float
    max: float
    runs: int
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise ValueError("no values to summarise")
        return cls(
            median=statistics.median(values),
            min=min(values),
            max=max(values),
            runs=len(values),
            values=tuple(values),
        )

    def scaled(self, factor: float) -> Stats:
        return Stats.of([v * factor for v in self.values])

    def inverse(self, numerator: float) -> Stats:
        """``numerator / value`` for each value: seconds into a rate, say."""
        return Stats.of([numerator / v for v in self.values])


def ratio(a: Sequence[float], b: Sequence[float]) -> Stats:
    """``a / b`` run by run: the i-th runs of both were made side by side.

    The median, min and max are those of the per-run ratios. When the series differ in
    length (fewer runs at 100 000), each value of ``a`` is divided by the median of ``b``.
    """
    if not a or not b:
        raise ValueError("no runs to compare")
    if len(a) == len(b):
        return Stats.of([x / y for x, y in zip(a, b, strict=True)])
    base = statistics.median(b)
    return Stats.of([x / base for x in a])
