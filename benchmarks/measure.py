"""Run a command as a user does and measure it: wall time and the child's own peak RSS.

Each run is a fresh process started by a tiny launcher (:data:`LAUNCHER`), which waits for
it with :func:`os.wait4` and reports that one child's time and ``ru_maxrss``. The launcher
is needed: Linux carries the RSS high-water mark of the process that calls ``exec`` into
the new program's ``ru_maxrss``, so a command started straight from the benchmark (which
holds 100 000 generated rows) would be charged the benchmark's own memory. The launcher
is a bare interpreter of a few MB, so the figure is the command's own. (``RUSAGE_CHILDREN``
would also be a maximum over every child ever waited for.) Statistics are the median, min
and max of the runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
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


LAUNCHER = """
import json, os, subprocess, sys, time
report = int(sys.argv[1])
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
with os.fdopen(report, "w") as out:
    json.dump({"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "code": code}, out)
sys.exit(0 if code == 0 else 1)
"""


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
    # As a user runs it: an installed package has its bytecode (pip compiles it), so a
    # setting that forbids writing .pyc files would make every run compile dispatch's
    # own modules again (0.3 s a run, measured), which no user pays.
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    if env:
        full_env.update(env)
    args = [str(a) for a in argv]
    report_read, report_write = os.pipe()
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", LAUNCHER, str(report_write), *args],
            env=full_env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if keep_output else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if keep_output else subprocess.PIPE,
            pass_fds=(report_write,),
            start_new_session=True,  # so that a timeout kills the command with its launcher
        )
    finally:
        os.close(report_write)
    _limit_memory(proc.pid)  # inherited by the command the launcher starts
    timer = threading.Timer(timeout, _kill_group, (proc.pid,))
    timer.start()
    try:
        pipe = proc.stdout if keep_output else proc.stderr
        assert pipe is not None
        # Read until the command closes it, so that a chatty one never blocks on a full pipe.
        data = pipe.read()
        pipe.close()
        with os.fdopen(report_read, "rb") as report:
            measured = report.read()
        proc.wait()
    finally:
        timer.cancel()
    wall = time.perf_counter() - start
    text = data.decode("utf-8", "replace")
    try:
        result = json.loads(measured)
        seconds, rss_kb, code = result["seconds"], result["maxrss_kb"], result["code"]
    except ValueError:  # the launcher was killed before it could report
        seconds, rss_kb, code = wall, 0, proc.returncode or -9
    if check and code != 0:
        if wall >= timeout:
            text += f"\n(killed after {timeout:.0f} s)"
        if "MemoryError" in text:
            text += f"\n(the command reached the {MEMORY_LIMIT / 1024**3:.0f} GB memory limit)"
        raise CommandFailed(args, code, text)
    return Sample(seconds=seconds, rss_mb=rss_kb / 1024, output=text)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


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
