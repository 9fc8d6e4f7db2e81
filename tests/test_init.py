"""``dispatch init``: a new mailing that checks and renders at once, from any folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from dispatch.contacts import CONTACT_COLUMNS
from dispatch.starter import SAMPLE_NAMES
from tests.conftest import ROOT
from tests.helpers import run

EVERY_FORMAT = "html,txt,eml,pdf,ics"


@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def dispatch(*args: str | Path) -> Ran:
    return Ran(*run(*args))


@pytest.mark.parametrize("kind", ["invitation", "consultation"])
def test_a_new_mailing_checks_and_renders_every_format_at_once(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    made = dispatch("init", "m", "--kind", kind)
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "contacts.xlsx",
        "letterhead.toml",
        "mailing.toml",
    ]
    checked = dispatch("check", "m")
    assert checked.exit_code == 0, checked.output
    assert f"the {kind} templates" in checked.stdout
    rendered = dispatch("render", "m", "--format", EVERY_FORMAT)
    assert rendered.exit_code == 0, rendered.output
    out = tmp_path / "m" / "out"
    suffixes = {p.suffix for p in out.rglob("*") if p.is_file()}
    wanted = {".html", ".txt", ".eml", ".pdf"} | ({".ics"} if kind == "invitation" else set())
    assert wanted <= suffixes
    assert {p.parent.name for p in out.rglob("*.pdf")} == {"fr", "en"}


def test_the_starter_mailing_file_says_what_each_field_is(tmp_path: Path) -> None:
    assert dispatch("init", tmp_path / "m").exit_code == 0
    text = (tmp_path / "m" / "mailing.toml").read_text(encoding="utf-8")
    assigned = [
        line
        for line in text.splitlines()
        if "=" in line.split("#")[0] and not line.startswith((" ", "fr =", "en ="))
    ]
    tables = [line for line in text.splitlines() if line.startswith("[")]
    for line in assigned + tables:
        assert "#" in line, f"no comment says what this is: {line}"
    assert 'contacts = "contacts.xlsx"' in text and 'file = "letterhead.toml"' in text


def test_the_starter_workbook_has_both_sheets_fictional_rows_and_dropdowns(
    tmp_path: Path,
) -> None:
    assert dispatch("init", tmp_path / "m").exit_code == 0
    book = openpyxl.load_workbook(tmp_path / "m" / "contacts.xlsx")
    assert book.sheetnames == ["Contacts", "Categories"]
    contacts, categories = book["Contacts"], book["Categories"]
    header = [c.value for c in contacts[1]]
    assert header == list(CONTACT_COLUMNS)
    assert [c.value for c in categories[1]] == ["code", "fr", "en"]
    emails = [row[0] for row in contacts.iter_rows(min_row=2, values_only=True)]
    assert len(emails) >= 3 and all(str(e).endswith("@example.org") for e in emails)
    validations = contacts.data_validations.dataValidation
    lists = {str(v.sqref): v.formula1 for v in validations if v.type == "list"}
    language = f"{chr(ord('A') + header.index('language'))}2"
    active = f"{chr(ord('A') + header.index('active'))}2"
    assert any(ref.startswith(language) and '"fr,en' in f for ref, f in lists.items()), lists
    assert any(ref.startswith(active) and f == '"yes,no"' for ref, f in lists.items()), lists


def test_init_never_writes_over_a_file_and_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "contacts.xlsx").write_bytes(b"my own workbook")
    refused = dispatch("init", folder)
    assert refused.exit_code == 2
    said = f"{folder / 'contacts.xlsx'}: already exists; dispatch init never writes over a file"
    assert said in refused.stderr
    assert (folder / "contacts.xlsx").read_bytes() == b"my own workbook"
    assert sorted(p.name for p in folder.iterdir()) == ["contacts.xlsx"]  # nothing else written


def test_an_unknown_sample_is_named_with_the_ones_there_are(tmp_path: Path) -> None:
    refused = dispatch("init", tmp_path / "m", "--sample", "tsb-353")
    assert refused.exit_code == 2
    assert "'tsb-353' is not a sample of dispatch. Choose one of" in refused.stderr
    assert "tsb-352" in refused.stderr and not (tmp_path / "m").exists()


@pytest.mark.heavy
def test_every_sample_of_the_repository_ships_and_checks_once_copied(tmp_path: Path) -> None:
    in_repository = sorted(p.parent.name for p in (ROOT / "mailings").glob("*/mailing.toml"))
    assert list(SAMPLE_NAMES) == in_repository
    for name in SAMPLE_NAMES:
        assert dispatch("init", tmp_path / name, "--sample", name).exit_code == 0
        checked = dispatch("check", tmp_path / name)
        assert checked.exit_code == 0, (name, checked.output)


@pytest.mark.heavy
def test_a_copied_sample_renders_the_four_signatory_letter_identically(
    tmp_path: Path,
) -> None:
    ours = tmp_path / "repository"
    copied = tmp_path / "copied"
    # The repository's own sample, as it stands.
    shutil.copytree(ROOT / "mailings", tmp_path / "r" / "mailings", ignore=_SKIP)
    shutil.copy(ROOT / "contacts.xlsx", tmp_path / "r" / "contacts.xlsx")
    original = dispatch(
        "render", tmp_path / "r" / "mailings" / "wsis-2021", "--out", ours, "--format", "html,txt"
    )
    assert original.exit_code == 0, original.output
    assert dispatch("init", tmp_path / "m", "--sample", "wsis-2021").exit_code == 0
    again = dispatch("render", tmp_path / "m", "--out", copied, "--format", "html,txt")
    assert again.exit_code == 0, again.output

    letters = sorted(p.relative_to(ours) for p in ours.rglob("*") if p.is_file())
    assert letters and letters == sorted(
        p.relative_to(copied) for p in copied.rglob("*") if p.is_file()
    )
    for letter in letters:
        assert (ours / letter).read_bytes() == (copied / letter).read_bytes(), letter
    signatures = (ours / letters[0]).read_text(encoding="utf-8").count('class="signatory"')
    assert signatures == 4


_SKIP = shutil.ignore_patterns(".dispatch", "out", "approved")


def test_run_from_inside_the_mailing_folder_says_and_writes_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert dispatch("init", tmp_path / "gala").exit_code == 0
    monkeypatch.chdir(tmp_path)
    outside = dispatch("check", "gala")
    monkeypatch.chdir(tmp_path / "gala")
    inside = dispatch("check", ".")
    assert inside.exit_code == outside.exit_code == 0
    assert inside.stdout == outside.stdout
    assert inside.stdout.startswith("gala: ready")

    rendered = dispatch("render", ".")
    assert rendered.exit_code == 0, rendered.output
    assert f"to {tmp_path / 'gala' / 'out'}/" in rendered.stdout
    assert (tmp_path / "gala" / "out" / "fr").is_dir()
    assert not (tmp_path / "gala" / "out" / "gala").exists()


def test_a_problem_found_from_inside_the_folder_names_a_real_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert dispatch("init", tmp_path / "gala").exit_code == 0
    mailing = tmp_path / "gala" / "mailing.toml"
    text = mailing.read_text(encoding="utf-8")
    mailing.write_text(
        text + '\n[[annexes]]\ntitle = { fr = "Programme", en = "Programme" }\n'
        'file = "programme.pdf"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path / "gala")
    checked = dispatch("check", ".")
    assert checked.exit_code == 2
    assert f"Put the file in {tmp_path / 'gala'}, or correct its name." in checked.stderr
    assert "Put the file in ." not in checked.stderr


def test_kind_and_sample_together_are_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    refused = dispatch("init", tmp_path / "m", "--kind", "consultation", "--sample", "tsb-352")
    assert refused.exit_code == 2
    assert "--kind starts a blank mailing, --sample copies one: give one." in refused.stderr
    assert not (tmp_path / "m").exists()
