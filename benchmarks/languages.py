"""4 pdf, six languages: the PDF of a letter in any of the six languages against French
and English (issue 23: at most 1.5 times, CJK and Arabic font subsetting included).

``dispatch render mailings/tsb-352-six --format pdf`` minus ``--format html`` of the same
letters, per letter: once for all its letters (every language), once for its French and
English addressees only. The ratio of the two is the row's measure.
"""

from __future__ import annotations

import shutil

from benchmarks.harness import Bench
from benchmarks.measure import Stats
from benchmarks.report import Row, Target
from benchmarks.workload import REPO

SECTION = "4 pdf"
SAMPLE = REPO / "mailings" / "tsb-352-six"
#: the sample's French and English addressees (its workbook, contacts.xlsx beside it)
LATIN = ("marie.dubois@example.org", "john.smith@example.org", "lab@univ.example.edu")
LETTERS = 8


def _pdf_seconds(bench: Bench, only: tuple[str, ...]) -> float:
    extra = [arg for address in only for arg in ("--only", address)]
    times = {}
    for formats in ("pdf", "html"):
        out = bench.scratch("pdf-languages")
        times[formats] = bench.dispatch(
            "render", SAMPLE, "--out", out, "--format", formats, *extra
        ).seconds
        shutil.rmtree(out)
    return max(times["pdf"] - times["html"], 1e-6)


def run_languages(bench: Bench) -> None:
    ratios: list[float] = []
    for i in range(bench.config.repeat):
        bench.log(
            f"dispatch render {SAMPLE.name} --format pdf, six languages and fr/en, run {i + 1}"
        )
        six = _pdf_seconds(bench, ()) / LETTERS
        latin = _pdf_seconds(bench, LATIN) / len(LATIN)
        ratios.append(six / latin)
    bench.report.add(
        Row(
            "pdf.languages.ratio",
            SECTION,
            "a PDF letter in the six languages / in French and English",
            "x",
            n=LETTERS,
            stats=Stats.of(ratios),
            target=Target("<=", 1.5),
            note="render pdf minus render html of mailings/tsb-352-six, per letter",
        )
    )
