"""3. Scale and memory: ``check`` and ``render --format eml`` at N and at 100 000.

Each command's time and the peak RSS of its process, and the ratio of the time at
100 000 over the time at N (linear growth gives 100 000 / N, 10 by default; the target
is 10 % above it). The runs at N come first (``run_base``); the big ones come last in a
run (``run_scale``) and get as many runs as the time budget allows, up to ``repeat``,
unless ``--scale-repeat`` says how many: a row with fewer runs says so.
"""

from __future__ import annotations

import math
import shutil

from benchmarks.harness import Bench
from benchmarks.measure import Sample, Stats, ratio, run
from benchmarks.peer import PeerUnavailable
from benchmarks.report import Row, Target

SECTION = "3 scale"
RSS_LIMIT_MB = 400
SLACK = 1.1  # the target on the time ratio: 10 % above linear


def _check(bench: Bench, n: int, runs: int) -> list[Sample]:
    workload = bench.workload(n)
    samples = []
    for i in range(runs):
        bench.log(f"dispatch check, {n:,} addressees, run {i + 1}")
        sample = bench.dispatch("check", workload.mailing)
        if "No problem found" not in sample.output:
            raise RuntimeError(f"dispatch check found problems:\n{sample.output[-800:]}")
        samples.append(sample)
    return samples


def _eml(bench: Bench, n: int, runs: int) -> list[Sample]:
    workload = bench.workload(n)
    samples = []
    for i in range(runs):
        out = bench.scratch(f"eml-{n}")
        bench.log(f"dispatch render --format eml, {n:,} addressees, run {i + 1}")
        samples.append(bench.render(workload, out, "eml"))
        shutil.rmtree(out)
    return samples


def run_base(bench: Bench) -> None:
    """The runs at N: the denominators of the scale ratios; and check against start-up."""
    n = bench.config.n
    bench.check_runs[n] = _check(bench, n, bench.config.repeat)
    bench.eml_render(n)
    _check_against_startup(bench)


def _check_against_startup(bench: Bench) -> None:
    """``dispatch check`` of a big workbook over ``dispatch --version``, run by run: what
    reading and validating costs beyond the imports every command pays. And, as the
    start-up issue pairs them, ``dispatch --version`` and that check each over
    ``mailmerge --version`` (the peer's start-up), run by run."""
    n = bench.config.check_n
    peer = bench.peer()
    checks = [s.seconds for s in _check(bench, n, bench.config.repeat)]
    versions: list[float] = []
    theirs: list[float] = []
    for i in range(bench.config.repeat):
        bench.log(f"dispatch --version, run {i + 1}")
        versions.append(bench.dispatch("--version").seconds)
        if not isinstance(peer, PeerUnavailable):
            bench.log(f"mailmerge --version, run {i + 1}")
            theirs.append(run([peer[0], "--version"], keep_output=False).seconds)
    bench.report.add(
        Row(
            "scale.version.time", SECTION, "dispatch --version: time", "s", stats=Stats.of(versions)
        )
    )
    _against_peer_startup(bench, n, versions, checks, theirs, peer)
    bench.report.add(
        Row(
            "scale.check.startup",
            SECTION,
            f"dispatch check of {n:,} rows / dispatch --version",
            "×",
            stats=ratio(checks, versions),
            target=Target("<=", 3),
            note=f"check {Stats.of(checks).median:.2f} s",
        )
    )


def _against_peer_startup(
    bench: Bench,
    n: int,
    versions: list[float],
    checks: list[float],
    theirs: list[float],
    peer: tuple[object, str] | PeerUnavailable,
) -> None:
    rows = [
        (
            "scale.startup.mailmerge",
            "dispatch --version / mailmerge --version (start-up)",
            versions,
            Target("<=", 1.5),
        ),
        (
            "scale.check.mailmerge",
            f"dispatch check of {n:,} rows / mailmerge --version",
            checks,
            Target("<=", 8),
        ),
    ]
    if isinstance(peer, PeerUnavailable):
        for key, label, _, target in rows:
            bench.report.add(Row(key, SECTION, label, "×", target=target, not_run=str(peer)))
        return
    bench.report.add(
        Row(
            "scale.version.mailmerge",
            SECTION,
            "mailmerge --version: time",
            "s",
            stats=Stats.of(theirs),
        )
    )
    for key, label, ours, target in rows:
        bench.report.add(Row(key, SECTION, label, "×", stats=ratio(ours, theirs), target=target))


def _planned_runs(bench: Bench, per_run: float, once: float, what: str) -> tuple[int, str]:
    """How many runs of ``per_run`` seconds (after ``once``) fit the time left; a note if fewer."""
    wanted = bench.config.repeat
    if bench.config.scale_repeat is not None:
        runs = bench.config.scale_repeat
        note = f"{runs} runs, set by --scale-repeat" if runs < wanted else ""
        return runs, note
    left = bench.remaining() - once
    # At least one run, whatever the budget: a row without a figure answers nothing.
    runs = max(1, min(wanted, math.floor(left / per_run))) if per_run > 0 else wanted
    if runs >= wanted:
        return runs, ""
    budget = f"{bench.config.budget_minutes:g}-minute budget"
    return runs, f"{runs} of {wanted} runs: the {budget} (~{per_run:.0f} s a run)"


def run_scale(bench: Bench) -> None:
    """The runs at 100 000, then every row of the section."""
    n, big = bench.config.n, bench.config.scale_n
    factor = big / n
    base_check = bench.check_runs.get(n) or _check(bench, n, bench.config.repeat)
    base_eml = bench.eml_render(n)
    linear = Target("<", round(factor * SLACK, 2))
    check_s = Stats.of([s.seconds for s in base_check])
    eml_s = Stats.of([s.seconds for s in base_eml])
    # Writing the big workbook costs about what reading it in `check` does.
    workbook_cost = check_s.median * factor
    for label, key, base, command, per_run in [
        ("dispatch check", "check", base_check, "check", check_s.median * factor),
        ("dispatch render --format eml", "eml", base_eml, "render", eml_s.median * factor),
    ]:
        once = 0 if bench.has_workload(big) else workbook_cost
        runs, note = _planned_runs(bench, per_run, once, f"dispatch {command} at {big:,}")
        samples = []
        if runs:
            samples = (_check if key == "check" else _eml)(bench, big, runs)
        base_stats = Stats.of([s.seconds for s in base])
        bench.report.add(
            Row(
                f"scale.{key}.time.n",
                SECTION,
                f"{label}: time",
                "s",
                n=n,
                stats=base_stats,
                note=f"peak RSS {Stats.of([s.rss_mb for s in base]).median:.0f} MB",
            )
        )
        if not samples:
            bench.report.add(
                Row(f"scale.{key}.time.big", SECTION, f"{label}: time", "s", n=big, not_run=note)
            )
            bench.report.add(
                Row(
                    f"scale.{key}.rss.big",
                    SECTION,
                    f"{label}: peak RSS",
                    "MB",
                    n=big,
                    target=Target("<", RSS_LIMIT_MB),
                    not_run=note,
                )
            )
            bench.report.add(
                Row(
                    f"scale.{key}.ratio",
                    SECTION,
                    f"{label}: time at {big:,} / time at {n:,}",
                    "×",
                    target=linear,
                    not_run=note,
                )
            )
            continue
        times = [s.seconds for s in samples]
        bench.report.add(
            Row(
                f"scale.{key}.time.big",
                SECTION,
                f"{label}: time",
                "s",
                n=big,
                stats=Stats.of(times),
                note=note,
            )
        )
        bench.report.add(
            Row(
                f"scale.{key}.rss.big",
                SECTION,
                f"{label}: peak RSS",
                "MB",
                n=big,
                stats=Stats.of([s.rss_mb for s in samples]),
                target=Target("<", RSS_LIMIT_MB),
                note=note,
            )
        )
        bench.report.add(
            Row(
                f"scale.{key}.ratio",
                SECTION,
                f"{label}: time at {big:,} / time at {n:,}",
                "×",
                stats=ratio(times, [s.seconds for s in base]),
                target=linear,
                note=f"linear is {factor:g}" + (f"; {note}" if note else ""),
            )
        )
