"""The preview folder: a small index, the letters described in letters.js, linked offline."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from dispatch.journal import Journal
from dispatch.output import render_files
from dispatch.prepare import prepare
from dispatch.preview import COLUMNS, PAGE_SIZE, write_index, write_preview
from tests.conftest import ROOT, WorkbookFactory, no_copy, person
from tests.helpers import run

MakeMailing = Callable[..., Path]


def letters_js(folder: Path) -> dict[str, Any]:
    """The data of letters.js, read back as the page reads it."""
    text = (folder / "letters.js").read_text(encoding="utf-8")
    prefix, suffix = "window.DISPATCH_PREVIEW=", ";\n"
    assert text.startswith(prefix) and text.endswith(suffix)
    data: dict[str, Any] = json.loads(text[len(prefix) : -len(suffix)])
    return data


def rows_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(data["columns"], row, strict=True)) for row in data["rows"]]


def test_the_sample_preview_links_every_letter_from_its_data_file(tmp_path: Path) -> None:
    out = tmp_path / "preview"
    code, _, stderr = run(
        "preview",
        str(ROOT / "mailings" / "tsb-352"),
        "--contacts",
        str(ROOT / "contacts.xlsx"),
        "--out",
        str(out),
        "--no-open",
        "--format",
        "html,eml",
    )
    assert code == 0, stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    for link in re.findall(r'(?:href|src)="([^"#]+)"', index):
        assert not link.startswith(("http:", "https:", "/")), link  # relative: works offline
        assert (out / unquote(link)).is_file(), link
    data = letters_js(out)
    rows = rows_of(data)
    assert data["formats"] == ["html", "eml"]
    assert len(rows) == len(list(out.glob("*/*.eml")))  # one row per letter, not per category
    for row in rows:
        for ext in data["formats"]:
            assert (out / row["lang"] / f"{row['stem']}.{ext}").is_file()
        for lang, other in row["other"].items():
            assert lang != row["lang"]
            page = (out / f"{other}.html").read_text(encoding="utf-8")
            assert f'<html lang="{lang}">' in page
    assert [r["lang"] for r in rows] == sorted((r["lang"] for r in rows), key=["fr", "en"].index)
    assert (
        "SGC" in index and "Aux Présidents et Vice-Présidents des commissions d&#39;études" in index
    )
    assert data["subjects"]["fr"].startswith("Sixième réunion de l’initiative")
    for name in ("preview.js", "preview.css", "letter.html"):
        assert (out / name).is_file()


def test_a_letter_row_has_the_salutation_the_copy_mark_and_no_repeated_subject(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, tmp_path: Path
) -> None:
    workbook = make_workbook(
        [
            person("anne.martin@example.org", categories="AC", salutation="Madame la Directrice"),
            person("chair@example.org", categories="SGC", first_name="Rémi", last_name="Caron"),
            person("both@example.org", categories="MS; SGC", language="en", first_name="Kim"),
        ]
    )
    prepared = prepare(make_mailing(), contacts_path=workbook)
    out = tmp_path / "preview"
    write_preview(prepared, out, ["html"])
    rows = {r["email"]: r for r in rows_of(letters_js(out))}
    assert rows["anne.martin@example.org"]["salutation"] == "Madame la Directrice,"
    assert rows["chair@example.org"]["salutation"] == "Madame, Monsieur,"
    assert rows["both@example.org"]["salutation"] == "Dear Sir/Madam,"
    assert rows["chair@example.org"]["copy"] == 1  # SGC is a cc category
    assert rows["anne.martin@example.org"]["copy"] == 0
    assert rows["both@example.org"]["copy"] == 0  # addressed (MS) and in copy (SGC)
    assert rows["both@example.org"]["categories"] == ["MS", "SGC"]
    assert {r["subject"] for r in rows.values()} == {""}  # the same per language: said once
    assert rows["anne.martin@example.org"]["name"] == "Mme Anne Martin"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<td lang="fr">Madame la Directrice,</td>' in index
    badges = {
        email: "cc</span>" in row
        for row in re.findall(r"<tr><td><a .*?</tr>", index, flags=re.DOTALL)
        for email in re.findall(r"<small>([^<]+)</small>", row)
    }
    # Without JavaScript the index's own rows show the mark: only the letter in copy has it.
    assert badges == {
        "anne.martin@example.org": False,
        "chair@example.org": True,
        "both@example.org": False,
    }
    assert "1 addressed in several categories" in index
    # The glossary's words: a letter "in copy" (a copy category), not "copies" (Cc).
    assert "<strong>1</strong> in copy (a copy category only)" in index
    assert "copies (cc)" not in index
    # The summary counts a letter in each of its categories, and links its filtered view.
    assert '<a href="#lang=en&amp;cat=SGC">SGC</a>' in index
    assert '<a href="#lang=fr&amp;cat=AC">AC</a>' in index


def test_the_other_language_is_written_once_per_distinct_text(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, tmp_path: Path
) -> None:
    people = [person(f"p{i}@example.org", language="fr" if i % 2 else "en") for i in range(12)]
    prepared = prepare(make_mailing(no_copy()), contacts_path=make_workbook(people))
    out = tmp_path / "preview"
    write_preview(prepared, out, ["html"])
    assert len(list((out / "other").rglob("*.html"))) == 2  # one French, one English
    rows = rows_of(letters_js(out))
    assert {tuple(r["other"]) for r in rows} == {("en",), ("fr",)}
    french_of_english = next(r for r in rows if r["lang"] == "en")["other"]["fr"]
    page = (out / f"{french_of_english}.html").read_text(encoding="utf-8")
    assert "Madame, Monsieur," in page and '<html lang="fr">' in page


def test_the_index_stays_small_and_lists_only_its_first_page(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, tmp_path: Path
) -> None:
    # The index holds the first page only: its weight at 300 letters is its weight at
    # 10 000. Long names and organisations make the longest file names (the worst case).
    people = [
        person(
            f"p{i:04}@example.org",
            first_name="Marie-Émilie-Alexandrine",
            last_name=f"de La Tour-Vieille-Montagne N{i:04}",
            organisation="Autorité nationale de régulation des télécommunications et des postes",
        )
        for i in range(PAGE_SIZE * 3)
    ]
    prepared = prepare(make_mailing(no_copy()), contacts_path=make_workbook(people))
    out = tmp_path / "preview"
    result = write_preview(prepared, out, ["html", "pdf", "eml"])
    assert result.index.stat().st_size < 50_000
    index = result.index.read_text(encoding="utf-8")
    assert index.count("<tr><td><a href=") == PAGE_SIZE
    assert f"p{PAGE_SIZE - 1:04}@example.org" in index and f"p{PAGE_SIZE:04}@" not in index
    assert len(rows_of(letters_js(out))) == PAGE_SIZE * 3
    assert result.letters == PAGE_SIZE * 3 and result.data == out / "letters.js"
    assert "<noscript>" in index and '<html lang="en">' in index


def test_warnings_are_returned_to_the_caller_and_shown_in_the_terminal(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, tmp_path: Path
) -> None:
    workbook = make_workbook()
    (workbook.parent / f".~lock.{workbook.name}#").write_text("someone,open", encoding="utf-8")
    out = tmp_path / "preview"
    args = ["preview", str(make_mailing()), "--contacts", str(workbook), "--out", str(out)]
    code, _, stderr = run(*args, "--no-open", "--format", "html")
    assert code == 0, stderr
    assert "Warnings:" in stderr and "LibreOffice" in stderr
    assert "may be open in LibreOffice" in (out / "index.html").read_text(encoding="utf-8")
    prepared = prepare(make_mailing(), contacts_path=workbook)
    written = write_index(prepared, tmp_path / "again", ["html"])
    assert [w.message for w in written.warnings] == [w.message for w in prepared.warnings]
    assert written.warnings


def test_states_after_a_send_come_from_the_journal_read_only(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory, tmp_path: Path
) -> None:
    from dispatch.compose import Composer, outgoing
    from dispatch.journal import journal_path

    prepared = prepare(make_mailing(), contacts_path=make_workbook())
    path = journal_path(prepared.mailing.folder)
    path.parent.mkdir(parents=True)
    composer = Composer(prepared, when=datetime.now(UTC), attach_pdf=False)
    with Journal.open(path) as journal:
        journal.plan([outgoing(composer, letter) for letter in prepared.letters])
        journal.mark_sending("anne.martin@example.org")
        journal.mark_sent("anne.martin@example.org", 250, "OK; refused: boss@example.org (550 no)")
        journal.mark_sending("john.smith@example.org")
        journal.mark_failed("john.smith@example.org", permanent=True, code=550, reply="no")
    before = path.stat().st_mtime_ns
    out = tmp_path / "preview"
    render_files(prepared, out, ["html"])
    write_index(prepared, out, ["html"])
    assert path.stat().st_mtime_ns == before
    states = {r["email"]: r["state"] for r in rows_of(letters_js(out))}
    assert states["anne.martin@example.org"] == "sent, copy refused"
    assert states["john.smith@example.org"] == "failed-permanent"
    assert states["prof.lee@example.org"] == "planned"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<option value="failed-permanent">' in index and "sent, copy refused 1" in index


def test_the_data_file_names_its_columns(tmp_path: Path) -> None:
    assert COLUMNS[:2] == ("lang", "stem")
    assert len(set(COLUMNS)) == len(COLUMNS)
