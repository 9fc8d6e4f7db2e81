"""1. Render with a column of the secretariat's own used in every letter (issue 22).

The text letters of N addressees, rendered as the render rows do, and again with one
more paragraph printing a column of the workbook's own (``Registration code``) in every
letter: every letter is then distinct, rendered on its own, where the sample mailing has
four distinct letters. The ratio says what that costs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from benchmarks.harness import Bench
from benchmarks.measure import Stats, ratio
from benchmarks.report import Row, Target
from benchmarks.workload import Workload

SECTION = "1 render"
FORMATS = "txt"
HEADER = "Registration code"
PARAGRAPH = """
[body.registration]
fr = "Votre code d'inscription : {{ addressee.registration_code }}."
en = "Your registration code: {{ addressee.registration_code }}."
"""


def own_column_workload(base: Workload, folder: Path) -> Workload:
    """``base`` with a column of its own in the workbook, printed by one more paragraph."""
    from openpyxl import load_workbook

    folder.mkdir(parents=True, exist_ok=True)
    book = load_workbook(base.workbook)
    sheet = book["Contacts"]
    column = sheet.max_column + 1
    sheet.cell(row=1, column=column, value=HEADER)
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=column, value=f"U4-{row:06d}")
    workbook = folder / base.workbook.name
    book.save(workbook)
    mailing = folder / base.mailing.name
    if mailing.exists():
        shutil.rmtree(mailing)
    shutil.copytree(base.mailing, mailing, ignore=shutil.ignore_patterns(".dispatch"))
    toml = mailing / "mailing.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace(
        f"contacts = {json.dumps(str(base.workbook.resolve()))}",
        f"contacts = {json.dumps(str(workbook.resolve()))}",
    )
    toml.write_text(text + PARAGRAPH, encoding="utf-8")
    return replace(base, workbook=workbook, mailing=mailing)


def run_section(bench: Bench) -> None:
    n = bench.config.txt_n
    base = bench.workload(n)
    own = own_column_workload(base, bench.root / f"workload-{n}-own-column")
    today: list[float] = []
    column: list[float] = []
    for i in range(bench.config.repeat):
        for workload, times, what in ((base, today, "as today"), (own, column, "own column")):
            out = bench.scratch("render-own-column-out")
            bench.log(f"dispatch render {FORMATS}, {n:,} addressees, {what}, run {i + 1}")
            times.append(bench.render(workload, out, FORMATS).seconds)
            shutil.rmtree(out)
    bench.report.add(
        Row(
            "render.own-column",
            SECTION,
            "dispatch render → txt, an own column in every letter",
            "letters/s",
            n=n,
            stats=Stats.of(column).inverse(n),
            note="every letter distinct",
            extra={"seconds": list(column), "today_seconds": list(today)},
        )
    )
    bench.report.add(
        Row(
            "render.ratio.own-column",
            SECTION,
            "render time with an own column / without (4 distinct letters)",
            "×",
            stats=ratio(column, today),
            target=Target("<=", 1.10),
            note="every letter distinct",
        )
    )
