"""The one table a run prints, and the same as JSON (``benchmarks/results/latest.json``).

A row is a measurement (a rate, a time, a peak memory), or a comparison made in the same
run (a ratio of two measurements), with its target when the issue sets one and whether it
is met: ``pass`` or ``short``. A row that could not be measured says ``not run`` and why.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import platform
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from benchmarks.measure import Stats

Status = Literal["pass", "short", "info", "not run"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
_SHOWN = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}


@dataclass(frozen=True)
class Target:
    """A bound the issue sets on a row's median: ``Target(">=", 3)``."""

    op: str
    value: float

    def met(self, measured: float) -> bool:
        return _COMPARE[self.op](measured, self.value)

    def __str__(self) -> str:
        return f"{_SHOWN[self.op]} {self.value:g}"


@dataclass
class Row:
    """One line of the table."""

    id: str  # stable key in the JSON, e.g. "render.ratio.mailmerge"
    section: str  # "1 render", "2 send"...
    label: str
    unit: str
    n: int | None = None
    stats: Stats | None = None
    target: Target | None = None
    note: str = ""
    not_run: str = ""  # why this row has no measurement
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        if self.stats is None:
            return "not run"
        if self.target is None:
            return "info"
        return "pass" if self.target.met(self.stats.median) else "short"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "section": self.section,
            "label": self.label,
            "unit": self.unit,
            "n": self.n,
            "runs": self.stats.runs if self.stats else 0,
            "median": self.stats.median if self.stats else None,
            "min": self.stats.min if self.stats else None,
            "max": self.stats.max if self.stats else None,
            "values": list(self.stats.values) if self.stats else [],
            "target": str(self.target) if self.target else None,
            "status": self.status,
            "note": self.note,
        }
        if self.not_run:
            out["not_run"] = self.not_run
        if self.extra:
            out["extra"] = self.extra
        return out


def _number(value: float, unit: str) -> str:
    if unit == "×":
        return f"{value:.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


_STYLE = {"pass": "bold green", "short": "bold red", "info": "", "not run": "yellow"}


def table(rows: list[Row], title: str) -> Table:
    """The rich table of ``rows``."""
    out = Table(title=title, title_justify="left", show_lines=False)
    for name, justify in [
        ("#", "left"),
        ("Measurement", "left"),
        ("N", "right"),
        ("Runs", "right"),
        ("Median", "right"),
        ("Min", "right"),
        ("Max", "right"),
        ("Unit", "left"),
        ("Target", "left"),
        ("Result", "left"),
    ]:
        out.add_column(name, justify=justify)  # type: ignore[arg-type]
    section = ""
    for row in rows:
        if row.section != section and section:
            out.add_section()
        shown_section = row.section if row.section != section else ""
        section = row.section
        stats = row.stats
        label = row.label + (f" [dim]({row.note})[/]" if row.note else "")
        if row.not_run:
            label += f" [yellow]— {row.not_run}[/]"
        status = row.status
        style = _STYLE[status]
        out.add_row(
            shown_section,
            label,
            f"{row.n:,}" if row.n else "",
            str(stats.runs) if stats else "0",
            _number(stats.median, row.unit) if stats else "—",
            _number(stats.min, row.unit) if stats else "",
            _number(stats.max, row.unit) if stats else "",
            row.unit,
            str(row.target) if row.target else "",
            f"[{style}]{status}[/]" if style else ("" if status == "info" else status),
        )
    return out


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gb = round(pages / 1024**3, 1)
    except (ValueError, OSError):
        pass

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    commit = _git("rev-parse", "--short", "HEAD")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "dispatch": version("dispatch"),
        "aiosmtplib": version("aiosmtplib"),
        "aiosmtpd": version("aiosmtpd"),
        "weasyprint": version("weasyprint"),
        "commit": commit or None,
        "code": code_version(),
    }


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def code_version() -> str:
    """The commit of dispatch's code and templates, with ``+changes`` for edits not committed.

    Compared at the start and the end of a run: other people may change the code meanwhile.
    ``BENCH_CODE_VERSION`` names it instead, for a copy of the code outside git.
    """
    if os.environ.get("BENCH_CODE_VERSION"):
        return os.environ["BENCH_CODE_VERSION"]
    commit = _git("rev-parse", "--short", "HEAD")
    changes = _git("diff", "HEAD", "--", "dispatch", "templates")
    if not changes:
        return commit
    return f"{commit}+changes-{hashlib.sha256(changes.encode()).hexdigest()[:8]}"


@dataclass
class Report:
    """Every row of a run, with where and how it ran."""

    config: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    machine: dict[str, Any] = field(default_factory=machine)
    seconds: float = 0.0

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def title(self) -> str:
        m = self.machine
        return (
            f"dispatch benchmarks — {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, "
            f"Python {m['python']} — {self.seconds / 60:.1f} min"
        )

    def print(self, console: Console) -> None:
        console.print(table(self.rows, self.title()))
        summary = self.summary()
        console.print(
            f"Targets: [bold green]{summary['pass']} pass[/], [bold red]{summary['short']} "
            f"short[/], [yellow]{summary['not run']} not run[/]."
        )
        for note in self.notes:
            console.print(f"- {note}", markup=False, highlight=False)

    def summary(self) -> dict[str, int]:
        counts = {"pass": 0, "short": 0, "not run": 0}
        for row in self.rows:
            if row.status == "not run":
                counts["not run"] += 1
            elif row.target is not None:
                counts[row.status] += 1
        return counts

    def to_json(self, *, partial: bool = False) -> dict[str, Any]:
        return {
            "schema": 1,
            "partial": partial,
            "started": self.started.isoformat(timespec="seconds"),
            "seconds": round(self.seconds, 1),
            "machine": self.machine,
            "config": self.config,
            "summary": self.summary(),
            "rows": [row.to_json() for row in self.rows],
            "notes": self.notes,
        }

    def write(self, path: Path, *, partial: bool = False) -> Path:
        """Write the JSON; ``partial`` while the run is still going (sections to come)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(partial=partial), indent=2, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
        return path
