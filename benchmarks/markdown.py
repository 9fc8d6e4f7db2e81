"""The table of a run as Markdown, for the README: ``python -m benchmarks.markdown [JSON]``.

Reads ``benchmarks/results/latest.json`` (or the file given) and prints the same rows as
the terminal table, with the machine they were measured on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "×":
        return f"{value:.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    lines = [
        f"Measured on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, "
        f"Python {m['python']}, dispatch at {m.get('code') or m.get('commit')}, "
        f"mailmerge {m.get('mailmerge', '—')}; the whole run took "
        f"{data['seconds'] / 60:.0f} min. Each figure is the median of the runs shown (min–max).",
        "",
        "| # | Measurement | N | Runs | Median (min–max) | Target | Result |",
        "|---|---|--:|--:|--:|---|---|",
    ]
    section = ""
    for row in data["rows"]:
        shown = row["section"] if row["section"] != section else ""
        section = row["section"]
        unit = row["unit"]
        if row["median"] is None:
            figure = "—"
        else:
            figure = f"{_number(row['median'], unit)} {unit}"
            if row["runs"] > 1:
                figure += f" ({_number(row['min'], unit)}–{_number(row['max'], unit)})"
        label = row["label"] + (f" ({row['note']})" if row["note"] else "")
        if row.get("not_run"):
            label += f" — {row['not_run']}"
        result = {"pass": "**pass**", "short": "**short**", "info": ""}.get(
            row["status"], row["status"]
        )
        n = f"{row['n']:,}" if row["n"] else ""
        lines.append(
            f"| {shown} | {label} | {n} | {row['runs']} | {figure} | {row['target'] or ''} "
            f"| {result} |"
        )
    lines += ["", *[f"- {note}" for note in data.get("notes", [])]]
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    print(markdown(json.loads(path.read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
