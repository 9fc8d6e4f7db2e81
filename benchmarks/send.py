"""2. Send throughput: dispatch, the floor and the peer, to the same SMTP sink.

For each concurrency (1, 4 and 8 connections): ``dispatch send`` of a fresh copy of the
mailing (a new journal, journal on); beside it the floor, a bare aiosmtplib loop
(:mod:`benchmarks.floor`) sending the very messages dispatch renders, over as many
connections, with no journal. mailmerge sends the same addressees too, one connection
per message as it does. Every run is checked at the sink: all N arrived.

Like against like: the floor's time is its sending alone (first connection to last
QUIT, its messages already in memory), so dispatch / floor takes dispatch's own
sending time, which ``dispatch send`` prints ("Sent N of N in S s": from reading the
journal to the last reply, journal commits included). The whole process (start-up,
validation, rendering and the PDFs) is its own row, and the ratio to mailmerge, whose
time is its whole process too, uses it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from benchmarks.harness import Bench
from benchmarks.measure import CommandFailed, Stats, ratio, run
from benchmarks.peer import PeerUnavailable
from benchmarks.report import Row, Target
from benchmarks.sink import Sink
from benchmarks.workload import REPO, fresh_copy

SECTION = "2 send"
# "Sent 4 000 of 4 000 messages in 12.9 s.": counts grouped by no-break spaces.
_COUNT = r"([\d\u00a0\u202f ,]+)"
_SENT = re.compile(rf"Sent {_COUNT} of {_COUNT} (?:messages? )?in ([\d.]+) s")
NO_SEND = "dispatch has no `send` command yet"


def _delivered(sink: Sink, before: int, expected: int, who: str) -> None:
    got = sink.count - before
    if got != expected:
        raise RuntimeError(f"{who}: the sink received {got} messages, not {expected}")


def _reason(exc: Exception, concurrency: int) -> str:
    if isinstance(exc, CommandFailed):
        lines = [line for line in exc.output.strip().splitlines() if line.strip()]
        last = lines[-1].strip() if lines else ""
        return f"failed at {concurrency} conn. (exit {exc.code}): {last[:160]}"
    return f"failed at {concurrency} conn.: {exc}"


def _int(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def send_with_dispatch(
    bench: Bench, mailing: Path, concurrency: int, messages: int | None = None
) -> tuple[float, float]:
    """``dispatch send MAILING --yes --concurrency C`` to the sink.

    Its wall time, and the time of its sending as it reports it.
    """
    sink = bench.sink()
    before = sink.count
    sample = bench.dispatch(
        "send", mailing, "--yes", "--concurrency", str(concurrency), env=sink.environment()
    )
    expected = bench.config.messages if messages is None else messages
    _delivered(sink, before, expected, f"dispatch send -c {concurrency}")
    found = _SENT.search(sample.output)
    if found is None or _int(found[1]) != expected:
        raise RuntimeError(f"dispatch send did not say it sent {expected}: {sample.output[-300:]}")
    return sample.seconds, float(found[3])


def _samples_seconds(bench: Bench, mailing: Path, *extra: str | Path) -> float:
    """Wall time of ``dispatch send MAILING --to`` (one sample a language) to the sink."""
    sink = bench.sink()
    before = sink.count
    sample = bench.dispatch(
        "send", mailing, *extra, "--to", "me@example.org", env=sink.environment()
    )
    if sink.count == before:
        raise RuntimeError(f"dispatch send --to sent no sample: {sample.output[-300:]}")
    return sample.seconds


def samples_rows(bench: Bench, mailing: Path, n: int) -> None:
    """``send --to`` on N addressees against the repository's 68-row sample: samples
    render only the samples, so N should cost at most twice the sample (issue 27)."""
    small = REPO / "mailings" / "tsb-352"
    contacts = REPO / "contacts.xlsx"
    large: list[float] = []
    base: list[float] = []
    why = ""
    for i in range(bench.config.repeat):
        bench.log(f"dispatch send --to, {n:,} addressees and the sample, run {i + 1}")
        try:
            large.append(_samples_seconds(bench, mailing))
            base.append(_samples_seconds(bench, small, "--contacts", contacts))
        except (CommandFailed, RuntimeError) as exc:
            why = _reason(exc, 1)
            break
    add = bench.report.add
    add(
        Row("send.samples.large", SECTION, "dispatch send --to (samples)", "s", n=n,
            stats=None if why else Stats.of(large), not_run=why)
    )  # fmt: skip
    add(
        Row("send.samples.sample", SECTION, "dispatch send --to (samples), the 68-row sample",
            "s", n=68, stats=None if why else Stats.of(base), not_run=why)
    )  # fmt: skip
    add(
        Row("send.samples.ratio", SECTION, f"send --to: {n:,} rows / 68 rows", "×",
            stats=None if why else ratio(large, base), target=Target("<=", 2), not_run=why)
    )  # fmt: skip


def run_section(bench: Bench) -> None:
    n = bench.config.messages
    workload = bench.workload(n)
    has_send = bench.has_command("send")
    messages = bench.eml_messages(n)
    sink = bench.sink()
    peer = bench.peer()
    concurrency = bench.config.concurrency
    ours: dict[int, list[float]] = {c: [] for c in concurrency}  # its sending
    whole: dict[int, list[float]] = {c: [] for c in concurrency}  # its whole process
    floor: dict[int, list[float]] = {c: [] for c in concurrency}
    theirs: list[float] = []
    failed = ""  # why dispatch send failed: it is not run again (its failures are not flaky)
    for i in range(bench.config.repeat):
        for c in concurrency:
            if has_send and not failed:
                bench.log(f"dispatch send, {n:,} messages, {c} connections, run {i + 1}")
                mailing = fresh_copy(workload.mailing, bench.root / f"send-{c}")
                before = sink.count
                try:
                    seconds, sending = send_with_dispatch(bench, mailing, c)
                    whole[c].append(seconds)
                    ours[c].append(sending)
                except (CommandFailed, RuntimeError) as exc:
                    failed = _reason(exc, c)
                    bench.log(f"dispatch send failed: {failed}")
                if sink.count - before == n:  # all delivered: the journal row can re-run it
                    bench.sent_mailing, bench.sent_messages = mailing, n
            bench.log(f"floor: bare aiosmtplib, {n:,} messages, {c} connections, run {i + 1}")
            before = sink.count
            sample = run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.floor",
                    "--port",
                    str(sink.port),
                    "--concurrency",
                    str(c),
                    messages,
                ],
                cwd=Path(__file__).resolve().parent.parent,
            )
            _delivered(sink, before, n, f"floor -c {c}")
            floor[c].append(float(json.loads(sample.output.strip().splitlines()[-1])["seconds"]))
        if not isinstance(peer, PeerUnavailable):
            bench.log(f"mailmerge --no-dry-run --no-limit, {n:,} messages, run {i + 1}")
            folder = bench.peer_inputs(workload, port=sink.port)
            before = sink.count
            peer_sample = run(
                [
                    peer[0],
                    "--template",
                    "template.txt",
                    "--database",
                    "database.csv",
                    "--config",
                    "server.conf",
                    "--no-dry-run",
                    "--no-limit",
                    "--output-format",
                    "text",
                ],
                cwd=folder,
                keep_output=False,
            )
            _delivered(sink, before, n, "mailmerge")
            theirs.append(peer_sample.seconds)

    def why_not(c: int) -> str:
        """Why dispatch's rows at ``c`` connections have no figure, or ""."""
        if not has_send:
            return NO_SEND
        if len(ours[c]) < bench.config.repeat:
            return failed or "fewer runs than asked"
        return ""

    add = bench.report.add
    for c in concurrency:
        why = why_not(c)
        conn = f"{c} connection{'s' if c > 1 else ''}"
        add(
            Row(f"send.dispatch.c{c}", SECTION, f"dispatch send, journal on, {conn}: sending",
                "msgs/s", n=n, stats=None if why else Stats.of(ours[c]).inverse(n),
                note="as it reports it", not_run=why)
        )  # fmt: skip
        add(
            Row(f"send.dispatch.whole.c{c}", SECTION,
                f"dispatch send, journal on, {conn}: whole process", "msgs/s", n=n,
                stats=None if why else Stats.of(whole[c]).inverse(n),
                note="with start-up, checks, PDFs", not_run=why)
        )  # fmt: skip
        add(
            Row(f"send.floor.c{c}", SECTION, f"floor: bare aiosmtplib loop, {conn}, no journal",
                "msgs/s", n=n, stats=Stats.of(floor[c]).inverse(n))
        )  # fmt: skip
        add(
            Row(f"send.ratio.floor.c{c}", SECTION, f"dispatch / floor, {conn}", "×",
                stats=None if why else ratio(floor[c], ours[c]), target=Target(">=", 0.8),
                not_run=why)
        )  # fmt: skip
    if has_send:
        samples_rows(bench, fresh_copy(workload.mailing, bench.root / "send-samples"), n)
    peer_label = "mailmerge --no-dry-run (a connection per message)"
    if isinstance(peer, PeerUnavailable):
        add(Row("send.mailmerge", SECTION, peer_label, "msgs/s", n=n, not_run=str(peer)))
    else:
        add(
            Row("send.mailmerge", SECTION, peer_label, "msgs/s", n=n,
                stats=Stats.of(theirs).inverse(n))
        )  # fmt: skip
    for c in concurrency:
        why = why_not(c) or ("" if theirs else "no peer")
        add(
            Row(f"send.ratio.mailmerge.c{c}", SECTION, f"dispatch ({c} conn.) / mailmerge", "×",
                stats=None if why else ratio(theirs, whole[c]), target=Target(">=", 3),
                not_run=why)
        )  # fmt: skip
