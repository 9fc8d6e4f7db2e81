"""4. PDF: distinct PDF letters per second, and PDFs for N addressees sharing 4 letters.

The rate comes from a *personal* mailing (a paragraph names the addressee, so every letter
is distinct): ``render --format pdf`` and ``render --format html`` of the same K
addressees run side by side, and K over the difference of their times is the rate of the
PDF rendering alone, whole processes both. Then ``render --format pdf`` of the N
addressees of the main workload, who share 4 distinct letters, is compared with what it
should cost: 4 renders at that rate plus the ``.eml`` render of the same N (which writes
as many files, each with its PDF attached). Target: within 2 times that.

Last, personal letters to html, txt, eml and pdf with ``--jobs 1`` and ``--jobs 2``:
letters per second, the peak memory of the largest process (a worker's or the main
one's), and the speed-up (target: ``--jobs 2`` at least 1.7 times ``--jobs 1``). The
secretariat's personal columns (issue 22) do not exist yet: the personal mailing
approximates them with a paragraph naming each addressee, which makes every letter,
and so every PDF, distinct.
"""

from __future__ import annotations

import shutil

from benchmarks.harness import Bench
from benchmarks.measure import Stats, ratio
from benchmarks.report import Row, Target
from benchmarks.workload import DISTINCT_LETTERS

SECTION = "4 pdf"
PERSONAL_FORMATS = "html,txt,eml,pdf"


def run_section(bench: Bench) -> None:
    from benchmarks.languages import run_languages

    _run_shared(bench)
    run_languages(bench)  # the six languages against French and English (issue 23)
    _run_personal(bench)


def _run_personal(bench: Bench) -> None:
    k = bench.config.personal_n
    personal = bench.workload(k, personal=True)
    seconds: dict[int, list[float]] = {1: [], 2: []}
    rss: dict[int, list[float]] = {1: [], 2: []}
    for i in range(bench.config.personal_repeat):
        for jobs in (1, 2):
            bench.log(f"render {PERSONAL_FORMATS} --jobs {jobs}, {k} personal, run {i + 1}")
            out = bench.scratch("pdf-personal")
            sample = bench.render(personal, out, PERSONAL_FORMATS, "--jobs", str(jobs))
            shutil.rmtree(out)
            seconds[jobs].append(sample.seconds)
            rss[jobs].append(sample.rss_mb)
    note = "approximated: a paragraph names each addressee (issue 22's columns not yet there)"
    for jobs in (1, 2):
        bench.report.add(
            Row(
                f"pdf.personal.jobs{jobs}",
                SECTION,
                f"personal letters → {PERSONAL_FORMATS.replace(',', '+')}, --jobs {jobs}",
                "letters/s",
                n=k,
                stats=Stats.of(seconds[jobs]).inverse(k),
                note=f"peak RSS {Stats.of(rss[jobs]).median:.0f} MB (largest process); {note}",
                extra={"seconds": seconds[jobs], "peak_rss_mb": rss[jobs]},
            )
        )
    bench.report.add(
        Row(
            "pdf.personal.speedup",
            SECTION,
            "personal letters per second, --jobs 2 / --jobs 1",
            "×",
            stats=ratio(seconds[1], seconds[2]),
            target=Target(">=", 1.7),
        )
    )


def _run_shared(bench: Bench) -> None:
    n, k = bench.config.n, min(bench.config.pdf_distinct, bench.config.n)
    personal = bench.workload(k, personal=True)
    rates: list[float] = []
    for i in range(bench.config.repeat):
        bench.log(f"dispatch render --format pdf and html, {k} distinct letters, run {i + 1}")
        out = bench.scratch("pdf-distinct")
        with_pdf = bench.render(personal, out, "pdf")
        shutil.rmtree(out)
        without = bench.render(personal, out, "html")
        shutil.rmtree(out)
        rates.append(k / max(with_pdf.seconds - without.seconds, 1e-6))
    rate = Stats.of(rates)
    bench.report.add(
        Row(
            "pdf.distinct",
            SECTION,
            "distinct PDF letters rendered",
            "letters/s",
            n=k,
            stats=rate,
            note="render pdf minus render html of the same personal letters",
        )
    )

    workload = bench.workload(n)
    pdf_times: list[float] = []
    for i in range(bench.config.repeat):
        bench.log(f"dispatch render --format pdf, {n:,} addressees, run {i + 1}")
        out = bench.scratch("pdf-n")
        pdf_times.append(bench.render(workload, out, "pdf").seconds)
        shutil.rmtree(out)
    eml_times = [s.seconds for s in bench.eml_render(n)]
    references = [DISTINCT_LETTERS / r + eml for r, eml in zip(rates, eml_times, strict=False)]
    bench.report.add(
        Row(
            "pdf.shared.time",
            SECTION,
            f"dispatch render --format pdf, {DISTINCT_LETTERS} distinct letters",
            "s",
            n=n,
            stats=Stats.of(pdf_times),
        )
    )
    bench.report.add(
        Row(
            "pdf.shared.reference",
            SECTION,
            f"{DISTINCT_LETTERS} PDF renders (at the rate above) + render --format eml",
            "s",
            n=n,
            stats=Stats.of(references),
        )
    )
    ratios = [t / ref for t, ref in zip(pdf_times, references, strict=False)]
    bench.report.add(
        Row(
            "pdf.shared.ratio",
            SECTION,
            "PDF render time / that reference",
            "×",
            stats=Stats.of(ratios),
            target=Target("<=", 2),
        )
    )
