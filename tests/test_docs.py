"""The README tells the truth: its tour runs, its commands exist, its tables are complete."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from dispatch.cli import main
from dispatch.contacts import CONTACT_COLUMNS
from dispatch.filters import FILTERS
from dispatch.mailing import Mailing
from tests.conftest import ROOT
from tests.helpers import run, use_relay
from tests.smtp_server import Sink

README = (ROOT / "README.md").read_text(encoding="utf-8")


def tour_commands() -> list[list[str]]:
    block = README.split("## A five-minute tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith("dispatch ")]


def test_the_two_commands_are_in_the_readme() -> None:
    assert "make demo" in README and "make test" in README


@pytest.mark.heavy
def test_the_tour_runs_on_the_bundled_sample(
    sample_copy: Path,
    sink: Sink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(sample_copy)
    use_relay(monkeypatch, sink.port)
    commands = tour_commands()
    assert [c[0] for c in commands][:5] == ["init", "check", "render", "preview", "send"]
    for args in commands:
        if args[0] == "preview":
            args = [*args, "--no-open"]
        if args[0] == "send" and "--to" not in args:
            args = [*args, "--yes"]
        code, out, err = run(*args)
        assert code == 0, (args, out, err)
    pdf = re.search(r"xdg-open (\S+\.pdf)", README)
    assert pdf is not None and (sample_copy / pdf.group(1)).is_file()
    assert (sample_copy / "report.xlsx").is_file()
    real = [r for r in sink.recorder.accepted() if r.rcpt_tos != ("me@example.org",)]
    assert len(real) == len({r.rcpt_tos for r in real})  # nobody twice, re-run included


@pytest.mark.heavy
def test_the_python_example_runs_on_the_bundled_sample(
    sample_copy: Path,
    sink: Sink,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    block = README.split("## Use it from Python", 1)[1].split("```python", 1)[1]
    code = block.split("```", 1)[0]
    monkeypatch.chdir(sample_copy)
    use_relay(monkeypatch, sink.port)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    letters = len(sink.recorder.accepted())
    assert letters > 0 and (sample_copy / "out" / "tsb-352").is_dir()
    printed = capsys.readouterr().out
    assert f"{letters} letters, " in printed
    assert "delivered 0 {}" in printed
    assert f"{letters} sent; 0 failed or unknown" in printed


def test_every_command_of_the_cli_is_in_the_readme() -> None:
    assert isinstance(main, click.Group)
    names = main.list_commands(click.Context(main))  # every command, loaded or not yet
    assert "send" in names
    for name in names:
        assert f"dispatch {name}" in README, name


def test_every_workbook_column_is_documented() -> None:
    for column in CONTACT_COLUMNS:
        assert f"`{column}`" in README, column


def test_every_mailing_field_is_documented() -> None:
    # The field reference moved to docs/fields.md (tests/test_fields_doc.py checks it
    # whole, nested tables included); the README names every top-level field and links it.
    fields = (ROOT / "docs" / "fields.md").read_text(encoding="utf-8")
    for name, field in Mailing.model_fields.items():
        if not field.exclude:
            assert f"| `{name}` |" in fields, name
            assert any(f"`{form}`" in README for form in (name, f"[{name}]", f"[[{name}]]")), name


def first_mailing_commands() -> list[list[str]]:
    part = README.split("## Your first mailing in ten minutes", 1)[1].split("\n## ", 1)[0]
    lines = [
        line.split("#")[0]
        for block in part.split("```sh")[1:]
        for line in block.split("```", 1)[0].splitlines()
    ]
    return [shlex.split(line)[1:] for line in lines if line.startswith("dispatch ")]


def test_the_first_mailing_runs_as_the_readme_tells_it(
    tmp_path: Path, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    use_relay(monkeypatch, sink.port)
    commands = first_mailing_commands()
    assert [c[0] for c in commands] == ["init", "check", "preview", "send", "send", "status"]
    for args in commands:
        if args[0] == "preview":
            args = [*args, "--no-open"]
        if args[0] == "send" and "--to" not in args:
            args = [*args, "--yes"]
        code, out, err = run(*args)
        assert code == 0, (args, out, err)
    assert (tmp_path / "gala" / "out" / "preview" / "index.html").is_file()
    real = [r for r in sink.recorder.accepted() if r.rcpt_tos != ("me@example.org",)]
    assert len(real) == 3  # the starter's three letters, each once


def test_the_readme_says_how_to_install_and_what_the_pdf_needs() -> None:
    install = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    for words in (
        "pipx install dispatch",
        "dispatch[keyring]",
        "Debian",
        "Fedora",
        "Homebrew",
        "Windows",
        "attach_pdf = false",
    ):
        assert words in install, words
    assert (
        README.index("## Install")
        < README.index("## Your first mailing")
        < README.index("## A five-minute tour")
    )


def test_every_filter_is_documented() -> None:
    for name in FILTERS:
        assert f"`{name}`" in README, name
