"""What every workload shares: the settings of a run, its scratch folder, the commands.

:class:`Bench` builds each workload once (workbooks take seconds to write), finds the
``dispatch`` command of this virtualenv and the peer's, runs the SMTP sink when a
workload needs it, keeps the measurements two sections share (the ``.eml`` render of N
addressees is the base of the scale ratio and the reference of the PDF target), and
holds the report.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.measure import CommandFailed, Sample, run
from benchmarks.peer import PEER_VENV, PeerUnavailable, ensure_mailmerge
from benchmarks.report import Report
from benchmarks.sink import Sink
from benchmarks.workload import REPO, Workload, sample_letters, write_peer_inputs

SECTIONS = ("render", "send", "scale", "pdf", "journal")
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass(frozen=True)
class Config:
    """How big and how often: every figure is the median of ``repeat`` runs."""

    # Sized so that make bench, fresh clone and set-up included, ends within 15 minutes on
    # 2 cores (the peer renders ~150 letters/s and sends ~55 messages/s: at the issue's
    # 10 000 its five runs alone would take over an hour). `make bench-full` runs the
    # issue's sizes: 10 000 everywhere, 100 000 for scale.
    n: int = 4_000
    scale_n: int = 100_000
    send_n: int | None = 800  # None: n
    repeat: int = 5
    scale_repeat: int | None = None  # None: as many as the budget allows, up to `repeat`
    budget_minutes: float = 13.0  # the set-up of a fresh clone takes about one more
    only: tuple[str, ...] = SECTIONS
    concurrency: tuple[int, ...] = (1, 4, 8)
    pdf_distinct: int = 10
    txt_n: int = 5_000  # addressees of the text-letter comparison with the peer
    check_n: int = 20_000  # rows of the workbook whose check is set against start-up
    # Personal letters (every one distinct, so every one its own PDF) rendered with
    # --jobs 1 and --jobs 2; the 10 000 take over an hour on one core
    # (`make bench-full`), so `make bench` renders a sample of them.
    personal_n: int = 120
    personal_repeat: int = 3
    install_peer: bool = True  # False: a peer not yet installed is not run (no network)
    results: Path = RESULTS
    workdir: Path | None = None
    peer_venv: Path = PEER_VENV
    dispatch: Path | None = None  # None: the `dispatch` beside this Python

    @property
    def messages(self) -> int:
        return self.send_n if self.send_n is not None else self.n

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "scale_n": self.scale_n,
            "send_n": self.messages,
            "repeat": self.repeat,
            "scale_repeat": self.scale_repeat if self.scale_repeat is not None else "auto",
            "budget_minutes": self.budget_minutes,
            "only": list(self.only),
            "concurrency": list(self.concurrency),
            "pdf_distinct": self.pdf_distinct,
            "txt_n": self.txt_n,
            "check_n": self.check_n,
            "personal_n": self.personal_n,
            "personal_repeat": self.personal_repeat,
        }


_WROTE = re.compile(r"Wrote (\d+) files")


@dataclass
class Bench:
    """One run of the benchmarks."""

    config: Config
    report: Report
    root: Path
    started: float = field(default_factory=time.monotonic)
    _stack: ExitStack = field(default_factory=ExitStack)
    _workloads: dict[tuple[int, bool], Workload] = field(default_factory=dict)
    _peer: tuple[Path, str] | PeerUnavailable | None = None
    _peer_inputs: dict[tuple[int, int, bool], Path] = field(default_factory=dict)
    _sample: Path | None = None
    _sink: Sink | None = None
    check_runs: dict[int, list[Sample]] = field(default_factory=dict)
    eml_runs: dict[int, list[Sample]] = field(default_factory=dict)
    eml_dirs: dict[int, Path] = field(default_factory=dict)
    sent_mailing: Path | None = None  # a mailing whose every message was sent
    sent_messages: int = 0  # how many messages that mailing has

    # -- the run as a whole -----------------------------------------------------------

    @classmethod
    def open(cls, config: Config) -> Bench:
        if config.workdir is not None:
            config.workdir.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="dispatch-bench-", dir=config.workdir))
        return cls(config=config, report=Report(config=config.to_json()), root=root)

    def close(self) -> None:
        self._stack.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        """Seconds left of the budget."""
        return self.config.budget_minutes * 60 - self.elapsed()

    def log(self, text: str) -> None:
        print(f"[{self.elapsed():6.0f} s] {text}", file=sys.stderr, flush=True)

    def scratch(self, name: str) -> Path:
        """An empty folder of that name in the run's temporary folder."""
        path = self.root / name
        if path.exists():
            shutil.rmtree(path)
        return path

    # -- the commands -------------------------------------------------------------------

    @property
    def dispatch_command(self) -> Path:
        if self.config.dispatch is not None:
            return self.config.dispatch
        return Path(sys.executable).parent / "dispatch"

    def dispatch(self, *args: str | Path, env: dict[str, str] | None = None) -> Sample:
        """Run ``dispatch ARGS`` as a user does: a fresh process, from the repository."""
        return run([self.dispatch_command, *args], env=env, cwd=REPO)

    def has_command(self, name: str) -> bool:
        """Whether this dispatch has the subcommand ``name`` (``send`` came late)."""
        try:
            run([self.dispatch_command, name, "--help"], cwd=REPO)
        except CommandFailed:
            return False
        return True

    def render(self, workload: Workload, out: Path, formats: str, *extra: str) -> Sample:
        """``dispatch render`` of ``workload`` into ``out``; checks every file was written."""
        sample = self.dispatch(
            "render", workload.mailing, "--out", out, "--format", formats, *extra
        )
        wrote = _WROTE.search(sample.output)
        per_letter = len([f for f in formats.split(",") if f != "ics"])
        expected = workload.n * per_letter
        if wrote is None or int(wrote.group(1)) < expected:
            raise CommandFailed(
                ["dispatch", "render", str(workload.mailing)],
                0,
                f"expected {expected} files, the render said: {sample.output[-400:]}",
            )
        return sample

    # -- the workloads ------------------------------------------------------------------

    def workload(self, n: int, *, personal: bool = False) -> Workload:
        key = (n, personal)
        if key not in self._workloads:
            self.log(f"writing a workbook of {n:,} addressees{' (personal)' if personal else ''}")
            folder = self.root / f"workload-{n}{'-personal' if personal else ''}"
            self._workloads[key] = Workload.build(folder, n, personal=personal)
        return self._workloads[key]

    def has_workload(self, n: int) -> bool:
        return (n, False) in self._workloads

    def peer(self) -> tuple[Path, str] | PeerUnavailable:
        """The ``mailmerge`` executable and version, or why it is not available."""
        if self._peer is None:
            self.log("checking the peer, mailmerge, in its own virtualenv")
            try:
                self._peer = ensure_mailmerge(
                    self.config.peer_venv, install=self.config.install_peer
                )
            except PeerUnavailable as exc:
                self._peer = exc
            else:
                self.report.machine["mailmerge"] = self._peer[1]
        return self._peer

    def keep_sample(self, out: Path) -> None:
        """Keep one ``.eml`` per language of a render in ``out``: the peer's template."""
        if self._sample is not None:
            return
        sample = self.root / "sample-messages"
        for lang_dir in sorted(p for p in out.iterdir() if p.is_dir()):
            first = next(iter(sorted(lang_dir.glob("*.eml"))), None)
            if first is not None:
                (sample / lang_dir.name).mkdir(parents=True, exist_ok=True)
                shutil.copy2(first, sample / lang_dir.name / first.name)
        self._sample = sample

    def peer_inputs(self, workload: Workload, port: int = 9, *, text_only: bool = False) -> Path:
        """The peer's template, database and config for ``workload``, sending to ``port``.

        The template is our own message (text, HTML, the PDF and calendar attached), one
        per language, taken from a render of this run, so both tools make messages alike.
        """
        key = (workload.n, port, text_only)
        if key not in self._peer_inputs:
            if self._sample is None:
                self.keep_sample(self.eml_messages(workload.n))
            assert self._sample is not None
            folder = self.root / f"peer-{workload.n}-{port}{'-text' if text_only else ''}"
            letters = sample_letters(self._sample, folder / "attachments")
            self._peer_inputs[key] = write_peer_inputs(
                folder, letters, workload.rows, port, text_only=text_only
            )
        return self._peer_inputs[key]

    def sink(self) -> Sink:
        """The SMTP sink, started on first use and stopped at the end of the run."""
        if self._sink is None:
            self._sink = self._stack.enter_context(Sink())
            self.log(f"SMTP sink listening on 127.0.0.1:{self._sink.port}")
        return self._sink

    # -- measurements two sections share --------------------------------------------------

    def eml_render(self, n: int) -> list[Sample]:
        """``dispatch render --format eml`` of n addressees, ``repeat`` times (once).

        The files of the last run are kept: the send floor sends those very messages.
        """
        if n not in self.eml_runs:
            workload = self.workload(n)
            samples = []
            for i in range(self.config.repeat):
                out = self.scratch(f"eml-{n}")
                self.log(f"dispatch render --format eml, {n:,} addressees, run {i + 1}")
                samples.append(self.render(workload, out, "eml"))
                self.keep_sample(out)
                if i + 1 < self.config.repeat:
                    shutil.rmtree(out)
            self.eml_runs[n] = samples
            self.eml_dirs[n] = out
        return self.eml_runs[n]

    def eml_messages(self, n: int) -> Path:
        """A folder with the ``.eml`` of n addressees, rendered once if need be."""
        if n not in self.eml_dirs:
            out = self.scratch(f"eml-{n}-messages")
            self.log(f"rendering the {n:,} messages the floor sends")
            self.render(self.workload(n), out, "eml")
            self.keep_sample(out)
            self.eml_dirs[n] = out
        return self.eml_dirs[n]
