"""``python -m benchmarks``: run the workloads, print one table, write it as JSON.

Sizes and repetitions come from the options, else from ``BENCH_*`` environment variables,
else from the issue's defaults (N = 10 000, 100 000 for the scale rows, 5 runs each).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from benchmarks import columns, journal, pdf, render, scale, send
from benchmarks.harness import RESULTS, SECTIONS, Bench, Config
from benchmarks.report import Row, code_version

ORDER = {"1 render": 1, "2 send": 2, "3 scale": 3, "4 pdf": 4, "5 journal": 5}


def _env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else default


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _sections(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown section {', '.join(unknown)}: choose from {', '.join(SECTIONS)}"
        )
    return chosen


def parse(argv: Sequence[str] | None = None) -> Config:
    defaults = Config()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--n",
        type=int,
        default=_env_int("BENCH_N", defaults.n),
        help="addressees of the main rows (BENCH_N; default %(default)s)",
    )
    parser.add_argument(
        "--scale-n",
        type=int,
        default=_env_int("BENCH_SCALE_N", defaults.scale_n),
        help="addressees of the scale rows (BENCH_SCALE_N; default %(default)s)",
    )
    parser.add_argument(
        "--send-n",
        type=int,
        default=_env_int("BENCH_SEND_N", None),
        help=f"messages of the send rows (BENCH_SEND_N; default {defaults.send_n:,}, "
        "or N if smaller)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=_env_int("BENCH_REPEAT", defaults.repeat),
        help="runs per figure; the median is shown (BENCH_REPEAT; default %(default)s)",
    )
    parser.add_argument(
        "--scale-repeat",
        type=int,
        default=_env_int("BENCH_SCALE_REPEAT", None),
        help="runs of the scale rows (BENCH_SCALE_REPEAT; default: as many as "
        "the budget allows, up to --repeat)",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=float(os.environ.get("BENCH_BUDGET_MINUTES", defaults.budget_minutes)),
        help="time the whole run should fit in (default %(default)s)",
    )
    parser.add_argument(
        "--only",
        type=_sections,
        default=defaults.only,
        help=f"comma-separated sections: {','.join(SECTIONS)}",
    )
    parser.add_argument(
        "--concurrency",
        type=_ints,
        default=defaults.concurrency,
        help="connections of the send rows (default 1,4,8)",
    )
    parser.add_argument(
        "--pdf-distinct",
        type=int,
        default=defaults.pdf_distinct,
        help="distinct letters of the PDF rate (default %(default)s)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="the JSON written (default benchmarks/results/latest.json)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the temporary workloads go (default: the system's)",
    )
    parser.add_argument(
        "--peer-venv",
        type=Path,
        default=defaults.peer_venv,
        help="the virtualenv of the peer, mailmerge (made if missing)",
    )
    parser.add_argument(
        "--txt-n",
        type=int,
        default=defaults.txt_n,
        help="addressees of the text-letter comparison with the peer (default %(default)s)",
    )
    parser.add_argument(
        "--check-n",
        type=int,
        default=defaults.check_n,
        help="rows of the workbook checked against start-up (default %(default)s)",
    )
    parser.add_argument(
        "--personal-n",
        type=int,
        default=defaults.personal_n,
        help="personal letters (each its own PDF) rendered with --jobs 1 and 2 "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--personal-repeat",
        type=int,
        default=defaults.personal_repeat,
        help="runs of the personal-letter rows (default %(default)s)",
    )
    parser.add_argument(
        "--no-peer-install",
        action="store_true",
        help="never install the peer (no network): its rows are not run if it is missing",
    )
    args = parser.parse_args(argv)
    if min(args.n, args.scale_n, args.repeat) < 1:
        parser.error("--n, --scale-n and --repeat must be at least 1")
    return replace(
        defaults,
        n=args.n,
        scale_n=args.scale_n,
        send_n=args.send_n if args.send_n is not None else min(defaults.messages, args.n),
        repeat=args.repeat,
        scale_repeat=args.scale_repeat,
        budget_minutes=args.budget_minutes,
        only=args.only,
        concurrency=args.concurrency,
        pdf_distinct=args.pdf_distinct,
        results=args.results,
        workdir=args.workdir,
        peer_venv=args.peer_venv,
        txt_n=args.txt_n,
        check_n=args.check_n,
        personal_n=args.personal_n,
        personal_repeat=args.personal_repeat,
        install_peer=not args.no_peer_install,
    )


def run_all(config: Config) -> tuple[Bench, bool]:
    """Run the chosen sections; the bench (with its report) and whether all of them ran.

    The runs at 100 000 come last, so that the budget left for them is known.
    """
    bench = Bench.open(config)
    steps: list[tuple[str, str, Callable[[Bench], None]]] = [
        ("render", "1 render", render.run_section),
        ("render", "1 render", columns.run_section),
        ("scale", "3 scale", scale.run_base),
        ("pdf", "4 pdf", pdf.run_section),
        ("send", "2 send", send.run_section),
        ("journal", "5 journal", journal.run_section),
        ("scale", "3 scale", scale.run_scale),
    ]
    ok = True
    try:
        for name, section, step in steps:
            if name not in config.only:
                continue
            try:
                step(bench)
                bench.report.seconds = bench.elapsed()
                bench.report.write(config.results, partial=True)  # what ran so far survives
            except Exception as exc:  # noqa: BLE001 - one broken section must not hide the rest
                ok = False
                traceback.print_exc()
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                bench.report.add(
                    Row(
                        f"{name}.error",
                        section,
                        f"{step.__module__}.{step.__name__}",
                        "",
                        not_run=f"failed: {first}",
                    )
                )
    finally:
        bench.report.seconds = bench.elapsed()
        bench.close()
    bench.report.rows.sort(key=lambda row: ORDER.get(row.section, 9))
    return bench, ok


def main(argv: Sequence[str] | None = None) -> int:
    config = parse(argv)
    bench, ok = run_all(config)
    report = bench.report
    now = code_version()
    if now != report.machine["code"]:
        report.notes.append(
            f"dispatch changed during the run ({report.machine['code']} at the start, {now} at "
            "the end): the figures may mix two versions. Run again."
        )
    if config.messages != config.n:
        report.notes.append(f"The send rows use {config.messages:,} messages.")
    report.notes.append(
        "Ratios are taken run by run (the i-th runs of both side by side): median, min and "
        "max of those. Rates are N over the whole process's wall time, except the floor "
        "(its sending loop alone) and the PDF rate (the PDF part of a render)."
    )
    path = report.write(config.results)
    console = Console(width=None if sys.stdout.isatty() else 200)
    report.print(console)
    console.print(f"Written to {path}")
    return 0 if ok else 1
