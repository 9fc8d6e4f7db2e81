"""1. Render throughput: dispatch against the peer, letters per second, whole process.

dispatch renders the sample invitation for N addressees to HTML, text and ``.eml``
(typography, PDF attached); mailmerge renders the same addressees, with a template of our
own letter (text, HTML, the same attachments), in a dry run, its output discarded. The
runs alternate, dispatch then mailmerge, so that both see the same machine.
"""

from __future__ import annotations

import shutil

from benchmarks.harness import Bench
from benchmarks.measure import Stats, ratio, run
from benchmarks.peer import PeerUnavailable
from benchmarks.report import Row, Target

SECTION = "1 render"
FORMATS = "html,txt,eml"


def run_section(bench: Bench) -> None:
    _run_all_formats(bench)
    _run_text(bench)


def _run_text(bench: Bench) -> None:
    """``render --format txt`` against the peer's raw dry run: text letters of one length.

    And ``render --format html,txt,eml`` (the PDF in every message) of the same
    addressees against the same run of the peer, as the performance issue pairs them."""
    n = bench.config.txt_n
    workload = bench.workload(n)
    peer = bench.peer()
    ours: list[float] = []
    emls: list[float] = []
    theirs: list[float] = []
    for i in range(bench.config.repeat):
        out = bench.scratch("render-txt-out")
        bench.log(f"dispatch render txt, {n:,} addressees, run {i + 1}")
        ours.append(bench.render(workload, out, "txt").seconds)
        shutil.rmtree(out)
        bench.log(f"dispatch render {FORMATS}, {n:,} addressees, run {i + 1}")
        emls.append(bench.render(workload, out, FORMATS).seconds)
        shutil.rmtree(out)
        if not isinstance(peer, PeerUnavailable):
            folder = bench.peer_inputs(workload, text_only=True)
            bench.log(f"mailmerge --dry-run --no-limit raw, {n:,} addressees, run {i + 1}")
            theirs.append(
                run(
                    [
                        peer[0],
                        *("--template", "template.txt", "--database", "database.csv"),
                        *("--config", "server.conf", "--dry-run", "--no-limit"),
                        *("--output-format", "raw"),
                    ],
                    cwd=folder,
                    keep_output=False,
                ).seconds
            )
    bench.report.add(
        Row(
            "render.txt.dispatch",
            SECTION,
            "dispatch render → txt",
            "letters/s",
            n=n,
            stats=Stats.of(ours).inverse(n),
            extra={"seconds": list(ours)},
        )
    )
    bench.report.add(
        Row(
            "render.eml.dispatch",
            SECTION,
            f"dispatch render → {FORMATS.replace(',', '+')} (PDF in every message)",
            "letters/s",
            n=n,
            stats=Stats.of(emls).inverse(n),
            extra={"seconds": list(emls)},
        )
    )
    label = "mailmerge --dry-run --no-limit --output-format raw (text)"
    versus = "dispatch / mailmerge, text letters per second"
    eml_versus = f"dispatch {FORMATS.replace(',', '+')} / mailmerge raw text, letters per second"
    target = Target(">=", 1.5)
    eml_target = Target(">=", 0.5)
    if isinstance(peer, PeerUnavailable):
        bench.report.add(
            Row("render.txt.mailmerge", SECTION, label, "letters/s", n=n, not_run=str(peer))
        )
        bench.report.add(
            Row("render.ratio.txt", SECTION, versus, "×", target=target, not_run="no peer")
        )
        bench.report.add(
            Row("render.ratio.eml", SECTION, eml_versus, "×", target=eml_target, not_run="no peer")
        )
        return
    bench.report.add(
        Row(
            "render.txt.mailmerge",
            SECTION,
            label,
            "letters/s",
            n=n,
            stats=Stats.of(theirs).inverse(n),
            extra={"seconds": list(theirs)},
        )
    )
    bench.report.add(
        Row("render.ratio.txt", SECTION, versus, "×", stats=ratio(theirs, ours), target=target)
    )
    bench.report.add(
        Row(
            "render.ratio.eml",
            SECTION,
            eml_versus,
            "×",
            stats=ratio(theirs, emls),
            target=eml_target,
        )
    )


def _run_all_formats(bench: Bench) -> None:
    n = bench.config.n
    workload = bench.workload(n)
    peer = bench.peer()
    ours: list[float] = []
    rss: list[float] = []
    theirs: list[float] = []
    for i in range(bench.config.repeat):
        out = bench.scratch("render-out")
        bench.log(f"dispatch render {FORMATS}, {n:,} addressees, run {i + 1}")
        sample = bench.render(workload, out, FORMATS)
        bench.keep_sample(out)
        shutil.rmtree(out)
        ours.append(sample.seconds)
        rss.append(sample.rss_mb)
        if not isinstance(peer, PeerUnavailable):
            folder = bench.peer_inputs(workload)
            bench.log(f"mailmerge --dry-run --no-limit, {n:,} addressees, run {i + 1}")
            peer_sample = run(
                [
                    peer[0],
                    "--template",
                    "template.txt",
                    "--database",
                    "database.csv",
                    "--config",
                    "server.conf",
                    "--dry-run",
                    "--no-limit",
                    "--output-format",
                    "text",
                ],
                cwd=folder,
                keep_output=False,
            )
            theirs.append(peer_sample.seconds)
    bench.report.add(
        Row(
            "render.dispatch",
            SECTION,
            f"dispatch render → {FORMATS.replace(',', '+')}",
            "letters/s",
            n=n,
            stats=Stats.of(ours).inverse(n),
            extra={"seconds": list(ours), "peak_rss_mb": list(rss)},
        )
    )
    peer_label = "mailmerge --dry-run --no-limit (text+HTML+PDF+ics)"
    versus = "dispatch / mailmerge, letters per second"
    if isinstance(peer, PeerUnavailable):
        bench.report.add(
            Row("render.mailmerge", SECTION, peer_label, "letters/s", n=n, not_run=str(peer))
        )
        bench.report.add(
            Row(
                "render.ratio.mailmerge",
                SECTION,
                versus,
                "×",
                target=Target(">=", 3),
                not_run="no peer",
            )
        )
        return
    bench.report.add(
        Row(
            "render.mailmerge",
            SECTION,
            peer_label,
            "letters/s",
            n=n,
            stats=Stats.of(theirs).inverse(n),
            extra={"seconds": list(theirs)},
        )
    )
    # Letters per second in the same run: theirs time over ours, run by run.
    bench.report.add(
        Row(
            "render.ratio.mailmerge",
            SECTION,
            versus,
            "×",
            stats=ratio(theirs, ours),
            target=Target(">=", 3),
        )
    )
