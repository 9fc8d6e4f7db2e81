"""5. Journal cost: ``dispatch send`` again on a mailing of N messages already sent.

Nothing is left to send. Two rows: the inputs unchanged (the journal's fingerprint of
them answers, see dispatch/fingerprint.py: the target row), and the mailing file edited
by a comment, so that dispatch loads, checks and renders the whole mailing and compares
it with the journal before saying so (the long way, for information). The sink must
receive nothing. The mailing has the N addressees of the main rows (not ``--send-n``):
the last one the send section delivered if it is that big, else one sent here first
(untimed).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.harness import Bench
from benchmarks.measure import Stats
from benchmarks.report import Row, Target
from benchmarks.send import NO_SEND, send_with_dispatch
from benchmarks.workload import fresh_copy

SECTION = "5 journal"
UNCHANGED = "unchanged since the last run"


def run_section(bench: Bench) -> None:
    n = bench.config.n
    label = "dispatch send again, all already sent (nothing to do)"
    if not bench.has_command("send"):
        bench.report.add(
            Row("journal.rerun", SECTION, label, "s", n=n, target=Target("<", 2), not_run=NO_SEND)
        )
        return
    mailing = bench.sent_mailing if bench.sent_messages == n else None
    if mailing is None:
        mailing = fresh_copy(bench.workload(n).mailing, bench.root / "journal-sent")
        bench.log(f"dispatch send of {n:,} messages, so that there is nothing left to send")
        send_with_dispatch(bench, mailing, max(bench.config.concurrency), n)
    times = [_rerun(bench, mailing, i, short=True) for i in range(bench.config.repeat)]
    bench.report.add(
        Row("journal.rerun", SECTION, label, "s", n=n, stats=Stats.of(times), target=Target("<", 2),
            note="inputs unchanged: the journal's fingerprint answers")
    )  # fmt: skip
    # The long way: the mailing file edited (a comment), so everything is read, rendered
    # and compared with the journal again; still nothing to send.
    toml = mailing / "mailing.toml"
    original = toml.read_text(encoding="utf-8")
    long_way = []
    for i in range(bench.config.repeat):
        toml.write_text(f"{original}\n# edited {i}\n", encoding="utf-8")
        long_way.append(_rerun(bench, mailing, i, short=False))
    toml.write_text(original, encoding="utf-8")
    bench.report.add(
        Row("journal.rerun.checked", SECTION, "the same, mailing file edited (all checked again)",
            "s", n=n, stats=Stats.of(long_way), note="reads, renders and compares everything")
    )  # fmt: skip


def _rerun(bench: Bench, mailing: Path, run: int, *, short: bool) -> float:
    """One ``dispatch send`` with nothing to send: its time, checked at the sink and
    checked to have taken the short way (``short``) or the long one."""
    sink = bench.sink()
    way = "inputs unchanged" if short else "mailing file edited"
    bench.log(f"dispatch send again, {way}, nothing to send, run {run + 1}")
    before = sink.count
    sample = bench.dispatch("send", mailing, "--yes", env=sink.environment())
    if sink.count != before:
        raise RuntimeError(f"a re-run sent {sink.count - before} messages again")
    if (UNCHANGED in sample.output) != short:
        raise RuntimeError(f"a re-run ({way}) did not take the {'short' if short else 'long'} way")
    return sample.seconds
