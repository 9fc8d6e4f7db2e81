"""Issue 13, hole 12: a letter's PDF embeds only the annexes the mailing names."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from dispatch import paths
from dispatch.pdf import PdfRenderer
from tests.test_sandbox_and_paths import SECRET, run, site, with_paragraph  # noqa: F401

JOURNAL_BYTES = f"SQLite format 3 {SECRET} journal".encode()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A mailing folder: its journal, its workbook and one annex."""
    mailing = tmp_path / "mailing"
    paths.journal_dir(mailing).mkdir(parents=True)
    (paths.journal_path(mailing)).write_bytes(JOURNAL_BYTES)
    (mailing / "contacts.xlsx").write_bytes(f"PK workbook {SECRET}".encode())
    (mailing / "programme.txt").write_text("Programme of the meeting", encoding="utf-8")
    return mailing


def attachments(pdf: bytes) -> dict[str, bytes]:
    """Every file embedded in ``pdf``: the document's and the pages' (``rel=attachment``)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    found = {name: contents[0] for name, contents in reader.attachments.items()}
    for page in reader.pages:
        for annotation in page.get("/Annots", []) or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") == "/FileAttachment":
                spec = annotation["/FS"].get_object()
                found[str(spec.get("/UF", spec.get("/F")))] = (
                    spec["/EF"]["/F"].get_object().get_data()
                )
    return found


LINKS = (
    '<p>Madame, Monsieur,<a rel="attachment" href=".dispatch/journal.sqlite3">j</a>'
    '<a rel="attachment" href="contacts.xlsx">c</a>'
    '<a rel="attachment" href="programme.txt">p</a></p>'
)


def test_only_the_annexes_the_mailing_names_are_embedded(folder: Path) -> None:
    renderer = PdfRenderer(base_url=folder, files=[folder / "programme.txt"])
    pdf = renderer.render(LINKS)

    assert attachments(pdf) == {"programme.txt": b"Programme of the meeting"}
    assert SECRET.encode() not in pdf
    refused = [w for w in renderer.warnings if "is not one of the mailing's annexes" in w]
    assert len(refused) == 2


def test_without_a_list_of_files_the_hidden_journal_is_still_refused(folder: Path) -> None:
    renderer = PdfRenderer(base_url=folder)
    pdf = renderer.render(LINKS)

    embedded = attachments(pdf)
    assert JOURNAL_BYTES not in embedded.values()
    assert "programme.txt" in embedded  # the folder's ordinary files: as before
    assert any("is a hidden file of the mailing folder" in w for w in renderer.warnings)


def test_a_body_paragraph_cannot_attach_the_journal_or_the_workbook_to_the_pdf(
    site: Path,  # noqa: F811
) -> None:
    mailing = with_paragraph(
        site,
        '<a rel="attachment" href=".dispatch/journal.sqlite3">j</a>'
        '<a rel="attachment" href="mailing.toml">m</a>',
    )
    dispatch_dir = mailing.parent / ".dispatch"
    dispatch_dir.mkdir()
    (dispatch_dir / "journal.sqlite3").write_bytes(JOURNAL_BYTES)
    out = site / "out"
    code, output = run(
        "render", mailing, "--contacts", site / "contacts.xlsx", "--out", out, "--format", "pdf"
    )
    assert code == 0, output
    pdfs = list(out.rglob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        assert attachments(pdf.read_bytes()) == {}
