"""PDFs on every core: ``--jobs N`` renders the distinct PDFs in N processes, with the
same bytes as one process, and a worker that fails or dies is an error naming the letter.

The workers are real processes; a test hook (``dispatch.pdf_pool._before_render``, a
module-level function sent to each worker) makes one of them raise or die on a chosen
letter, as a crash in a C library or the out-of-memory killer would."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pypdf
import pytest

from dispatch import languages, pdf_pool
from dispatch.job import render_mailing
from dispatch.pdf_pool import PdfRenderError
from dispatch.templates import DEFAULT_TEMPLATES
from tests.conftest import MINIMAL_MAILING, WorkbookFactory, person
from tests.helpers import run
from tests.test_languages import PORTUGUESE, PORTUGUESE_MAILING

# A paragraph naming the addressee: every letter is distinct, so each has its own PDF.
PERSONAL = (
    MINIMAL_MAILING
    + """
[body.personal]
fr = "Cette lettre est adressée à {{ addressee.full_name }}."
en = "This letter is addressed to {{ addressee.full_name }}."
"""
)

NAMES = [("Anne", "Martin"), ("Zoé", "Lefèvre"), ("Rémi", "Caron"), ("Mei", "Lee"), ("Ivo", "Horn")]


def _record_pid(folder: Path, html: str) -> None:
    """The hook: each render leaves the pid of the process that made it."""
    (folder / f"{os.getpid()}-{len(list(folder.iterdir()))}").touch()


def _die_on(marker: str, html: str) -> None:
    if marker in html:
        os._exit(3)  # as a crash or a kill would: no exception, no clean-up


def _raise_on(marker: str, html: str) -> None:
    if marker in html:
        raise ValueError("the renderer choked")


@pytest.fixture
def personal(make_mailing: object, make_workbook: WorkbookFactory, tmp_path: Path) -> Path:
    """A mailing of five addressees whose letters all differ; POOL_MIN lowered so that
    five PDFs already go to the pool."""
    people = [
        person(f"{first.lower()}@example.org", first_name=first, last_name=last)
        for first, last in NAMES
    ]
    workbook = make_workbook(people)
    # no copy to SGC: none of these five is in that category (a copy nobody gets is refused)
    mailing = make_mailing(PERSONAL.replace('cc = ["SGC"]\n', ""))  # type: ignore[operator]
    text = mailing.read_text(encoding="utf-8")
    mailing.write_text(f'contacts = "{workbook}"\n' + text, encoding="utf-8")
    return Path(mailing)


@pytest.fixture(autouse=True)
def small_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_pool, "POOL_MIN", 2)


def _pdfs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.pdf")}


def test_pdfs_rendered_with_two_jobs_are_byte_for_byte_those_of_one(
    personal: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setattr(pdf_pool, "_before_render", partial(_record_pid, pids))
    for jobs in ("1", "2"):
        args = ["render", personal, "--format", "pdf", "--out", tmp_path / jobs]
        code, out, err = run(*args, "--jobs", jobs)
        assert code == 0, out + err
    one, two = _pdfs(tmp_path / "1"), _pdfs(tmp_path / "2")
    assert len(one) == len(NAMES)
    assert one == two
    # --jobs 2 rendered every PDF in worker processes (the hook runs only there), and in
    # more than one of them.
    workers = {p.name.split("-")[0] for p in pids.iterdir()}
    assert len(list(pids.iterdir())) == len(NAMES)
    assert str(os.getpid()) not in workers
    assert len(workers) == 2


def test_messages_carry_the_same_pdfs_with_two_jobs(personal: Path, tmp_path: Path) -> None:
    render_mailing(personal, tmp_path / "1", formats=("pdf", "eml"), jobs=1)
    render_mailing(personal, tmp_path / "2", formats=("pdf", "eml"), jobs=2)
    assert _pdfs(tmp_path / "1") == _pdfs(tmp_path / "2")
    attached = [p.read_bytes() for p in sorted((tmp_path / "2").rglob("*.eml"))]
    assert len(attached) == len(NAMES)
    assert all(b"application/pdf" in data for data in attached)


def test_a_worker_that_dies_is_an_error_naming_its_letter(
    personal: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_pool, "_before_render", partial(_die_on, "Zoé Lefèvre"))
    code, out, err = run(
        "render", personal, "--format", "pdf", "--out", tmp_path / "out", "-j", "2"
    )
    assert code == 1
    assert "Traceback" not in out + err
    message = " ".join((out + err).split())
    assert "The PDF of the letter to zoé@example.org (fr, row 3 of the workbook)" in message
    assert "stopped (it crashed or was killed)" in message


def test_an_error_raised_in_a_worker_names_its_letter(
    personal: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_pool, "_before_render", partial(_raise_on, "Rémi Caron"))
    with pytest.raises(PdfRenderError) as caught:
        render_mailing(personal, tmp_path / "out", formats=("pdf",), jobs=2)
    assert caught.value.letter == "the letter to rémi@example.org (fr, row 4 of the workbook)"
    assert "ValueError: the renderer choked" in str(caught.value)


def test_jobs_must_be_at_least_one(personal: Path) -> None:
    code, out, err = run("render", personal, "--jobs", "0")
    assert code == 2
    assert "--jobs" in out + err


@pytest.fixture
def portuguese(make_mailing: Callable[..., Path], make_workbook: WorkbookFactory) -> Iterator[Path]:
    """A Portuguese mailing whose language is only in its own templates folder, with a
    font of its own (DejaVu Serif, not the house font) and a letter per addressee."""
    mailing = make_mailing(
        PORTUGUESE_MAILING + '\n[body.personal]\npt = "Carta para {{ addressee.full_name }}."\n'
    )
    templates = mailing.parent / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    shutil.copytree(templates / "es", templates / "pt")
    (templates / "pt" / "language.toml").write_text(
        PORTUGUESE.replace("[dates]", 'fonts = ["DejaVu Serif"]\n\n[dates]'), encoding="utf-8"
    )
    for path in (templates / "pt").glob("*.html"):
        path.write_text(path.read_text("utf-8").replace('lang="es"', 'lang="pt"'), "utf-8")
    workbook = make_workbook(
        [
            person(f"{first.lower()}@example.org", first_name=first, last_name=last,
                   language="pt", civility="", salutation="")
            for first, last in NAMES
        ],
        categories=[["code", "pt"], ["MS", "Estados Membros"], ["AC", "Academia"]],
    )  # fmt: skip
    text = mailing.read_text(encoding="utf-8")
    mailing.write_text(f'contacts = "{workbook}"\n' + text, encoding="utf-8")
    yield mailing
    languages.unregister("pt")


def test_a_language_of_the_mailings_own_templates_is_known_to_the_workers(
    portuguese: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers register the mailing's languages as the parent does: a Portuguese
    letter has its file's font (and its dates kept together) with two jobs too."""
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setattr(pdf_pool, "_before_render", partial(_record_pid, pids))
    for jobs in ("1", "2"):
        args = ["render", portuguese, "--format", "pdf", "--out", tmp_path / jobs]
        code, out, err = run(*args, "--jobs", jobs)
        assert code == 0, out + err
    one, two = _pdfs(tmp_path / "1"), _pdfs(tmp_path / "2")
    assert len(one) == len(NAMES)
    assert one == two
    assert len(list(pids.iterdir())) == len(NAMES)  # all made by the workers
    for pdf in two.values():  # the font pt/language.toml names, embedded
        assert any("DejaVu" in name for name in _font_names(pdf)), _font_names(pdf)


def _font_names(pdf: bytes) -> set[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
