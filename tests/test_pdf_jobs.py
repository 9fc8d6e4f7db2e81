"""PDFs on every core: ``--jobs N`` renders the distinct PDFs in N processes, with the
same bytes as one process, and a worker that fails or dies is an error naming the letter.

The workers are real processes; a test hook (``dispatch.pdf_pool._before_render``, a
module-level function sent to each worker) makes one of them raise or die on a chosen
letter, as a crash in a C library or the out-of-memory killer would."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import pytest

from dispatch import pdf_pool
from dispatch.job import render_mailing
from dispatch.pdf_pool import PdfRenderError
from tests.conftest import MINIMAL_MAILING, WorkbookFactory, person
from tests.helpers import run

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
    mailing = make_mailing(PERSONAL)  # type: ignore[operator]
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
