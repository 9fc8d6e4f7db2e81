"""The benchmarks cannot rot: the whole harness runs on 200 addressees, once each.

No timing is asserted (the benchmarks never do); this checks that every section runs
against the real commands and that the table and its JSON have the promised shape.
It reaches no network: the peer, mailmerge, is installed by ``make bench`` only; when it
is missing here, its rows say "not run" and every other row is still checked.
"""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from benchmarks.cli import parse, run_all

pytestmark = pytest.mark.slow

SECTIONS = {"1 render", "2 send", "3 scale", "4 pdf", "5 journal"}
COMPARISONS = [
    "render.ratio.mailmerge",
    "render.ratio.txt",
    "render.ratio.eml",
    "scale.check.startup",
    "scale.startup.mailmerge",
    "scale.check.mailmerge",
    "send.ratio.floor.c1",
    "send.ratio.mailmerge.c1",
    "scale.check.ratio",
    "scale.check.rss.big",
    "scale.eml.ratio",
    "scale.eml.rss.big",
    "pdf.shared.ratio",
    "pdf.personal.speedup",
    "journal.rerun",
]
ROW_KEYS = {
    "id", "section", "label", "unit", "n", "runs", "median", "min", "max", "values",
    "target", "status", "note",
}  # fmt: skip


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], str, bool]:
    tmp = tmp_path_factory.mktemp("bench")
    config = parse(
        [
            "--n", "200", "--scale-n", "400", "--repeat", "1", "--scale-repeat", "1",
            "--concurrency", "1", "--pdf-distinct", "1", "--txt-n", "200", "--check-n", "400",
            "--personal-n", "2", "--personal-repeat", "1",
            "--no-peer-install",
            "--results", str(tmp / "latest.json"), "--workdir", str(tmp / "work"),
        ]
    )  # fmt: skip
    bench, ok = run_all(config)
    path = bench.report.write(config.results)
    out = io.StringIO()
    bench.report.print(Console(file=out, width=240))
    return json.loads(path.read_text()), out.getvalue(), ok


def test_every_section_runs_to_the_end(smoke: tuple[dict[str, object], str, bool]) -> None:
    data, _, ok = smoke
    rows = data["rows"]
    assert isinstance(rows, list)
    errors = [row for row in rows if row["id"].endswith(".error")]
    assert ok and not errors, errors
    assert {row["section"] for row in rows} == SECTIONS


def test_the_json_has_every_row_with_its_statistics_and_target(
    smoke: tuple[dict[str, object], str, bool],
) -> None:
    data, _, _ = smoke
    assert {"schema", "started", "seconds", "machine", "config", "summary", "rows", "notes"} <= set(
        data
    )
    config = data["config"]
    assert isinstance(config, dict)
    assert (config["n"], config["scale_n"], config["send_n"], config["repeat"]) == (
        200,
        400,
        200,
        1,
    )
    rows = {row["id"]: row for row in data["rows"]}  # type: ignore[attr-defined]
    for row in rows.values():
        assert set(row) >= ROW_KEYS, row
        assert row["status"] in {"pass", "short", "info", "not run"}
        if row["status"] != "not run":
            assert row["runs"] >= 1
            assert row["min"] <= row["median"] <= row["max"]
    for key in COMPARISONS:
        assert key in rows, key
        assert rows[key]["target"], key
    # dispatch's own rows are always measured; the send rows once `dispatch send` exists
    for key in [
        "render.dispatch",
        "render.txt.dispatch",
        "scale.check.startup",
        "scale.check.ratio",
        "scale.eml.ratio",
        "pdf.shared.ratio",
        "render.eml.dispatch",
        "pdf.personal.jobs1",
        "pdf.personal.jobs2",
        "pdf.personal.speedup",
    ]:
        assert rows[key]["status"] != "not run", rows[key]


def test_the_table_shows_each_row_and_whether_its_target_is_met(
    smoke: tuple[dict[str, object], str, bool],
) -> None:
    data, table, _ = smoke
    for column in ["Measurement", "Median", "Min", "Max", "Target", "Result"]:
        assert column in table
    rows = data["rows"]
    assert isinstance(rows, list)
    for row in rows:
        if row["target"] and row["status"] != "not run":
            assert row["status"] in table
    assert "Targets:" in table
