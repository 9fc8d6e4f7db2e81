"""The one list of a mailing's inputs (issue 20, item 9): what the fingerprint, the approval
and the output guard read. Real mailing folders, templates and workbooks."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from dispatch.inputs import mailing_inputs
from dispatch.mailing import load_mailing
from tests.conftest import MINIMAL_MAILING, ROOT, WorkbookFactory

MakeMailing = Callable[..., Path]

LETTERHEAD = '\n[letterhead]\nfile = "../letterhead.toml"\n'
ANNEX = 'annexes = [{ title = { fr = "Programme", en = "Programme" }, file = "programme.pdf" }]\n'


def own_templates(folder: Path) -> Path:
    for lang in ("fr", "en"):
        shutil.copytree(ROOT / "templates" / lang, folder / lang)
    shutil.copy(ROOT / "templates" / "print.css", folder / "print.css")
    return folder


def test_the_list_names_every_file_the_letters_are_made_from_and_nothing_else(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    path = make_mailing(
        ANNEX + 'templates = "."\n' + MINIMAL_MAILING + LETTERHEAD,
        files={"programme.pdf": b"%PDF-1.4 annex"},
    )
    folder = path.parent
    (folder.parent / "letterhead.toml").write_text('logo = "logo.svg"\n', encoding="utf-8")
    (folder.parent / "logo.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    own_templates(folder)
    (folder / "fr" / "notes-du-directeur.txt").write_text("not a template of this letter")
    (folder / "approved" / "20261201T100000Z" / "messages" / "fr").mkdir(parents=True)
    (folder / "approved" / "20261201T100000Z" / "manifest.json").write_text("{}")
    workbook = make_workbook()
    mailing = load_mailing(path)

    listed = {item.label: item.recorded for item in mailing_inputs(mailing, workbook, folder)}

    assert listed == {
        "mailing": "mailing.toml",
        "workbook": "../../contacts.xlsx",
        "letterhead": "../letterhead.toml",
        "logo": "../logo.svg",
        "template fr/invitation.html": "fr/invitation.html",
        "template fr/invitation.txt": "fr/invitation.txt",
        "template fr/base.html": "fr/base.html",
        "template fr/base.txt": "fr/base.txt",
        "template en/invitation.html": "en/invitation.html",
        "template en/invitation.txt": "en/invitation.txt",
        "template en/base.html": "en/base.html",
        "template en/base.txt": "en/base.txt",
        "template print.css": "print.css",
        "language fr": "fr/language.toml",  # the language files of the folder (issue 23)
        "language en": "en/language.toml",
        "annex programme.pdf": "programme.pdf",
    }


def test_a_template_named_by_a_variable_makes_the_folder_count_but_not_the_records(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    path = make_mailing('templates = "."\n' + MINIMAL_MAILING)
    folder = own_templates(path.parent)
    base = folder / "fr" / "base.html"
    base.write_text(base.read_text() + '{% include "fr/" ~ lang ~ ".html" ignore missing %}\n')
    (folder / "fr" / "extra.html").write_text("<p>maybe included</p>")
    (folder / "approved" / "20261201T100000Z").mkdir(parents=True)
    (folder / "approved" / "20261201T100000Z" / "manifest.json").write_text("{}")
    (folder / ".dispatch").mkdir()
    (folder / ".dispatch" / "journal.sqlite3").write_bytes(b"")

    listed = {i.label for i in mailing_inputs(load_mailing(path), make_workbook(), folder)}

    assert "template fr/extra.html" in listed
    assert not any("approved/" in label or ".dispatch" in label for label in listed), listed


def test_the_bundled_templates_are_recorded_wherever_dispatch_is_installed(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    from dispatch.templates import DEFAULT_TEMPLATES

    mailing = load_mailing(make_mailing())
    listed = {
        i.label: i.recorded for i in mailing_inputs(mailing, make_workbook(), DEFAULT_TEMPLATES)
    }
    assert listed["template fr/base.html"] == "dispatch:templates/fr/base.html"
    assert not any(place.startswith("/") for place in listed.values()), listed
