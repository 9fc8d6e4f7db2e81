"""The printed letter, over every PDF of every sample mailing: the end of the letter never
starts a page alone, every link's target can be read on paper, every PDF is tagged and
declares PDF/A, and the letterhead is there."""

from __future__ import annotations

import functools
import io
import re
import subprocess
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pypdf
import pytest

from tests.helpers import run

pytestmark = pytest.mark.heavy  # every sample to PDF, read back with poppler

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(p.parent for p in (ROOT / "mailings").glob("*/mailing.toml"))
WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Letter:
    sample: str
    pdf: Path
    html: str

    @property
    def name(self) -> str:
        return f"{self.sample}/{self.pdf.name}"


def _render(sample: Path, out: Path) -> None:
    # a sample with a workbook of its own (the six languages) is rendered with it
    own = (sample / "contacts.xlsx").exists()
    code, stdout, stderr = run(
        "render",
        str(sample),
        *([] if own else ["--contacts", str(ROOT / "contacts.xlsx")]),
        "--out",
        str(out),
        "--format",
        "html,pdf",
    )
    assert code == 0, stdout + stderr


@pytest.fixture(scope="module")
def letters(tmp_path_factory: pytest.TempPathFactory) -> list[Letter]:
    """Every letter of every sample, as PDF and as HTML (rendered once for the module)."""
    found: list[Letter] = []
    for sample in SAMPLES:
        out = tmp_path_factory.mktemp(sample.name)
        _render(sample, out)
        for pdf in sorted(out.rglob("*.pdf")):
            html = pdf.with_suffix(".html").read_text(encoding="utf-8")
            found.append(Letter(sample.name, pdf, html))
    assert len(found) >= 5 * 10
    return found


@functools.cache
def pages_text(pdf: Path) -> list[str]:
    """The text layer of each page, as pdftotext reads it (what a reader copies); read once."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    return out.split("\f")[:-1]


def first_line(page: str, reference: str) -> str:
    """The first line of a page's own text: the running head (reference, page number) aside."""
    for line in page.splitlines():
        line = WHITESPACE.sub(" ", line).strip()
        if not line or line == reference or re.fullmatch(r"[-–]\s*\d+\s*[-–]", line):
            continue
        return line
    return ""


def _texts(html: str, css_class: str) -> list[str]:
    pattern = rf'<p class="{css_class}">(.*?)</p>'
    return [
        WHITESPACE.sub(" ", unescape(re.sub(r"<[^>]*>", "", t))).strip()
        for t in re.findall(pattern, html, re.DOTALL)
    ]


def _reference(html: str) -> str:
    found = re.search(r'<dl class="reference"><dt>.*?</dt><dd>(.*?)</dd>', html, re.DOTALL)
    assert found is not None
    return unescape(re.sub(r"<[^>]*>", "", found.group(1))).strip()


def test_no_page_starts_with_the_closing_or_the_signatures(letters: list[Letter]) -> None:
    bad: list[str] = []
    for letter in letters:
        ending = _texts(letter.html, "closing") + _texts(letter.html, "signed-mention")
        ending += _texts(letter.html, "name")
        ending = [e for e in ending if e]
        assert ending, letter.name
        reference = _reference(letter.html)
        for number, page in enumerate(pages_text(letter.pdf)[1:], 2):
            line = first_line(page, reference)
            if any(line and e.startswith(line[:40]) for e in ending):
                bad.append(f"{letter.name} page {number}: {line!r}")
    assert bad == []


def test_every_link_target_is_legible_on_paper(letters: list[Letter]) -> None:
    missing: list[str] = []
    links = 0
    for letter in letters:
        body = letter.html.split("<body", 1)[1]
        text = WHITESPACE.sub("", "".join(pages_text(letter.pdf)))
        for url, words in re.findall(r'<a\s[^>]*href="(https?://[^"]+)"[^>]*>([^<]*)', body):
            links += 1
            # a www. address is printed as typed, and links to https://
            printed = words if words.startswith("www.") else url
            if WHITESPACE.sub("", unescape(printed)) not in text:
                missing.append(f"{letter.name}: {url}")
    assert links > 50  # the samples do link to their pages
    assert missing == []


def test_a_bare_url_is_printed_once(letters: list[Letter]) -> None:
    for letter in letters:
        body = letter.html.split("<body", 1)[1]
        text = WHITESPACE.sub("", "".join(pages_text(letter.pdf)))
        for url, words in re.findall(r'<a\s[^>]*href="(https?://[^"]+)"[^>]*>([^<]*)</a>', body):
            if unescape(words) == unescape(url):
                assert text.count(WHITESPACE.sub("", unescape(url))) == body.count(
                    f">{words}</a>"
                ), f"{letter.name}: {url}"


def test_every_pdf_is_tagged_and_declares_pdf_a_with_its_metadata(
    letters: list[Letter],
) -> None:
    for letter in letters:
        reader = pypdf.PdfReader(io.BytesIO(letter.pdf.read_bytes()))
        root = reader.trailer["/Root"]
        assert "/StructTreeRoot" in root, letter.name
        assert root["/MarkInfo"]["/Marked"], letter.name
        lang = re.search(r'<html lang="([a-z]+)"', letter.html)
        assert lang is not None
        assert str(root["/Lang"]) == lang.group(1), letter.name
        xmp = reader.xmp_metadata
        assert xmp is not None, letter.name
        raw = xmp.stream.get_data().decode("utf-8")
        assert re.search(r"pdfaid:part(?:>|=\")3", raw), letter.name
        info = reader.metadata
        assert info is not None
        assert info.title and _reference(letter.html) in info.title, letter.name
        assert info.author, letter.name
        assert info.subject, letter.name
        for page in reader.pages:
            fonts = page["/Resources"].get("/Font", {})
            for font in fonts.values():
                descendant = font.get_object()
                descriptor = (
                    descendant["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                    if "/DescendantFonts" in descendant
                    else descendant.get("/FontDescriptor")
                )
                if descriptor is not None:
                    descriptor = descriptor.get_object()
                    assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_the_letterhead_is_on_page_1_with_its_footer_and_not_after(
    letters: list[Letter],
) -> None:
    import tomllib

    letterhead = tomllib.loads((ROOT / "mailings" / "letterhead.toml").read_text("utf-8"))
    for letter in letters:
        pages = pages_text(letter.pdf)
        lang = _lang(letter)
        (organisation,) = letterhead["organisation"][lang]
        flat = re.sub("[\u202a-\u202e]", "", pages[0])  # pdftotext's marks of direction
        # -raw would not help: an Arabic line comes out in pieces, its words still in order
        assert all(word in flat for word in organisation.split()), letter.name
        assert "secretariat@example.org" in pages[0], letter.name
        assert all("secretariat@example.org" not in p for p in pages[1:]), letter.name


def test_page_2_and_after_carry_the_reference_and_the_page_number(
    letters: list[Letter],
) -> None:
    seen = 0
    for letter in letters:
        reference = _reference(letter.html)
        pages = pages_text(letter.pdf)
        assert reference not in pages[0].splitlines()[:1], letter.name
        for number, page in enumerate(pages[1:], 2):
            lines = [WHITESPACE.sub("", line) for line in page.splitlines() if line.strip()]
            assert WHITESPACE.sub("", reference) in lines[:3], (letter.name, lines[:3])
            assert f"-{number}-" in lines, (letter.name, lines)
            seen += 1
    assert seen > 0


def _hyphenated_lines(pdf: Path) -> list[list[str]]:
    """Per page, each line as pdftotext reads it; a line cut by hyphenation ends in U+2010."""
    return [page.splitlines() for page in pages_text(pdf)]


def test_at_most_two_hyphenated_lines_in_a_row(letters: list[Letter]) -> None:
    worst: list[str] = []
    for letter in letters:
        for page in _hyphenated_lines(letter.pdf):
            run = 0
            for line in page:
                run = run + 1 if line.rstrip().endswith("\u2010") else 0
                if run > 2:
                    worst.append(f"{letter.name}: {line!r}")
    assert worst == []


def test_no_proper_name_acronym_or_word_with_a_capital_is_hyphenated(
    letters: list[Letter],
) -> None:
    cut: list[str] = []
    for letter in letters:
        for page in _hyphenated_lines(letter.pdf):
            for line in page:
                if line.rstrip().endswith("\u2010"):
                    word = line.rstrip()[:-1].split()[-1]
                    if any(c.isupper() or c.isdigit() for c in word):
                        cut.append(f"{letter.name}: {word}")
    assert cut == []


def _lang(letter: Letter) -> str:
    found = re.search(r'<html lang="([a-z]+)"', letter.html)
    assert found, letter.name
    return found.group(1)


def test_english_letters_are_not_hyphenated_and_french_ones_are(letters: list[Letter]) -> None:
    hyphenated = {"fr": 0, "en": 0}
    for letter in letters:
        lang = _lang(letter)
        if lang not in hyphenated:
            continue  # the other languages: hyphenated by their patterns, or not at all
        hyphenated[lang] += sum(
            line.rstrip().endswith("\u2010")
            for page in _hyphenated_lines(letter.pdf)
            for line in page
        )
    assert hyphenated["en"] == 0
    assert hyphenated["fr"] > 0
