"""The six official languages as a reader sees them (issue 23): each language's typography
in text and HTML, and the six-language sample's letters through their PDF's text layer,
their embedded fonts and a picture of their first page."""

from __future__ import annotations

import email
import re
import subprocess
from email import policy
from pathlib import Path
from typing import Any

import pypdf
import pytest
from fontTools.ttLib import TTFont  # WeasyPrint's own dependency

from dispatch.typography import isolate_left_to_right, typeset, typeset_html
from tests.helpers import run

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "mailings" / "tsb-352-six"
NBSP, NNBSP = "\u00a0", "\u202f"
LRI, PDI = "\u2066", "\u2069"

# ---------------------------------------------------------------------------------------
# Typography, language by language (templates/<code>/language.toml, [typography])

TYPOGRAPHY = [
    # Spanish: « » with “ ” inside, no space inside quotes, ¿ ¡ kept
    ("es", 'Dijo "hola"', "Dijo «hola»"),
    ("es", 'Dijo "una "gran" idea".', "Dijo «una “gran” idea»."),
    ("es", "¿Vendrá? ¡Sí!", "¿Vendrá? ¡Sí!"),
    ("es", "la CEPE-ONU dijo...", "la CEPE-ONU dijo…"),
    # Russian: « » with „ “ inside, a no-break space before a dash
    ("ru", 'Он сказал "да"', "Он сказал «да»"),
    ("ru", 'Он сказал "это "умный" город"', "Он сказал «это „умный“ город»"),
    ("ru", "Участие бесплатное — регистрация", f"Участие бесплатное{NBSP}— регистрация"),
    # Chinese: full-width punctuation after Chinese, no space between Chinese characters
    ("zh", "会议将在日内瓦举行, 欢迎参加.", "会议将在日内瓦举行，欢迎参加。"),
    ("zh", "请注册: 谢谢! 为什么?", "请注册：谢谢！为什么？"),
    ("zh", '"携手打造智慧可持续城市"倡议', "“携手打造智慧可持续城市”倡议"),
    ("zh", "版本 1.5, ITU-T", "版本 1.5, ITU-T"),  # a number and Latin text keep theirs
    # typed spaces: none between Chinese and Chinese, Latin words keep theirs
    ("zh", "会议 将在 日内瓦 举行, 欢迎 ITU 参加.", "会议将在日内瓦举行，欢迎 ITU 参加。"),
    # Arabic: ، ؛ ؟ after Arabic, numbers and Latin text as they are
    ("ar", "هل توافقون? نعم, بالتأكيد; شكرا", "هل توافقون؟ نعم، بالتأكيد؛ شكرا"),
    ("ar", "النسخة 1,5 من ITU-T, Rev. 2", f"النسخة 1,5 من ITU-T, Rev.{NBSP}2"),
    ("ar", 'مبادرة "متحدون"', "مبادرة «متحدون»"),
]


@pytest.mark.parametrize(
    ("lang", "typed", "printed"), TYPOGRAPHY, ids=[f"{t[0]}-{i}" for i, t in enumerate(TYPOGRAPHY)]
)
def test_each_language_has_its_own_typography_in_text_and_html(
    lang: str, typed: str, printed: str
) -> None:
    assert typeset(typed, lang) == printed
    assert typeset(printed, lang) == printed  # idempotent
    assert str(typeset_html(f"<p>{typed}</p>", lang)) == f"<p>{printed}</p>"


def test_left_to_right_runs_of_arabic_plain_text_are_isolated() -> None:
    text = "الهاتف: +41 22 730 6301، العنوان: https://www.itu.int/ar. (ITU) في 7 ديسمبر 2021"
    assert isolate_left_to_right(text) == (
        f"الهاتف: {LRI}+41 22 730 6301{PDI}، العنوان: {LRI}https://www.itu.int/ar{PDI}. "
        f"({LRI}ITU{PDI}) في 7 ديسمبر 2021"
    )


# ---------------------------------------------------------------------------------------
# The six-language sample, rendered once


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("six")
    code, stdout, stderr = run("render", SAMPLE, "--out", folder, "--format", "html,txt,eml,pdf")
    assert code == 0, stdout + stderr
    return folder


def _first(out: Path, lang: str, suffix: str) -> Path:
    # the Member State's letter: the first file of the language's folder with a person
    found = sorted((out / lang).glob(f"*{suffix}"))
    assert found, f"no {suffix} in {lang}"
    return max(found, key=lambda p: p.stat().st_size)


DATE_LINES = {
    "fr": "Genève, le 13 octobre 2021",
    "en": "Geneva, 13 October 2021",
    "es": "Ginebra, el 13 de octubre de 2021",
    "ru": f"Женева, 13 октября 2021{NNBSP}г.",
    "zh": "日内瓦，2021年10月13日",
    "ar": "جنيف، 13 أكتوبر 2021",
}
SCRIPTS = {
    "fr": r"[A-Za-zé]",
    "en": r"[A-Za-z]",
    "es": r"[A-Za-zñá]",
    "ru": r"[\u0400-\u04ff]",
    "zh": r"[\u4e00-\u9fff]",
    "ar": r"[\u0600-\u06ff]",
}
ADDRESSEE_LINES = {
    "fr": "Aux Administrations des États Membres de l'Union",
    "en": "Administrations of Member States of the Union",
    "es": "A las Administraciones de los Estados Miembros de la Unión",
    "ru": "Администрациям Государств – Членов Союза",
    "zh": "致国际电联各成员国主管部门",
    "ar": "إلى إدارات الدول الأعضاء في الاتحاد",
}


def _pdftotext(pdf: Path, *args: str) -> str:
    return subprocess.run(
        ["pdftotext", "-l", "1", "-enc", "UTF-8", *args, str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _flat(text: str) -> str:
    text = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", text)  # bidi controls
    return re.sub(r"[ \t\n\u00a0\u202f]+", " ", text.replace("\u2019", "'"))


def _logical(pdf: Path) -> str:
    """Page 1's text as pypdf extracts it: Arabic words in logical order."""
    return str(pypdf.PdfReader(pdf).pages[0].extract_text())


@pytest.mark.parametrize("lang", list(DATE_LINES))
def test_each_language_prints_its_date_line_script_and_category_line(out: Path, lang: str) -> None:
    pdf = _first(out, lang, ".pdf")
    text = _pdftotext(pdf)
    flat = _flat(text)
    if lang == "ar":
        # a number in an Arabic line comes out where it is seen: the line's words, in order
        line = next(ln for ln in _logical(pdf).splitlines() if "أكتوبر" in ln)
        assert set(line.replace("أكتوبر13", "أكتوبر 13").split()) == {
            "جنيف،",
            "13",
            "أكتوبر",
            "2021",
        }
    else:
        assert _flat(DATE_LINES[lang]) in flat
    assert len(re.findall(SCRIPTS[lang], text)) > 200, "the letter is not in its script"
    assert _flat(ADDRESSEE_LINES[lang]) in flat.replace("; ", " ").replace(";", "")


@pytest.mark.parametrize("lang", list(DATE_LINES))
def test_every_pdf_is_pdf_a_tagged_with_its_language_and_embeds_every_font(
    out: Path, lang: str
) -> None:
    reader = pypdf.PdfReader(_first(out, lang, ".pdf"))
    root: Any = reader.trailer["/Root"]
    assert str(root["/Lang"]) == lang
    assert "/StructTreeRoot" in root
    raw = reader.xmp_metadata.stream.get_data().decode("utf-8")  # type: ignore[union-attr]
    assert re.search(r"pdfaid:part(?:>|=\")3", raw)
    assert re.search(r"pdfaid:conformance(?:>|=\")U", raw)
    for font in _fonts(reader):
        descriptor = font["/FontDescriptor"]
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font


def _fonts(reader: pypdf.PdfReader) -> list[Any]:
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():  # type: ignore[index]
            font = font.get_object()
            found += [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
    return found


def _covered(reader: pypdf.PdfReader) -> set[int]:
    """The characters the embedded fonts have a glyph for: the cmap (via fontTools) of the
    installed font each embedded subset was made from. (A subset of an Arabic font has the
    contextual forms it used, not always the letter's own glyph: its cmap says less.)"""
    covered: set[int] = set()
    for font in _fonts(reader):
        # "/ABCDEF+Noto-Serif-CJK-SC-Bold": a subset of the family's bold
        name = str(font["/BaseFont"]).split("+", 1)[-1].replace("-", " ")
        family = re.sub(r" (Bold|Italic|Regular)$", "", re.sub(r" (Bold|Italic)$", "", name))
        path, index, found = subprocess.run(
            ["fc-match", "--format", "%{file}|%{index}|%{family[0]}", family],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("|")
        assert found.casefold() == family.casefold(), (name, found)
        with TTFont(path, fontNumber=int(index or 0), lazy=True) as ttf:
            covered |= set(ttf.getBestCmap())
    return covered


def _notdef_used(reader: pypdf.PdfReader) -> list[str]:
    """Fonts whose text uses glyph 0 (.notdef, the empty box of a missing character)."""
    used = []
    for font in _fonts(reader):
        parent = font  # a descendant's ToUnicode is on its Type 0 parent: look at both
        for page in reader.pages:
            for top in page["/Resources"]["/Font"].values():  # type: ignore[index]
                top = top.get_object()
                if font in [d.get_object() for d in top.get("/DescendantFonts", [])]:
                    parent = top
        cmap = parent.get("/ToUnicode")
        data = cmap.get_object().get_data() if cmap is not None else b""
        mapped = b"".join(re.findall(rb"beginbf(?:char|range)(.*?)endbf", data, re.S))
        if re.search(rb"(?m)^<0000>", mapped):
            used.append(str(font["/BaseFont"]))
    return used


@pytest.mark.parametrize("lang", list(DATE_LINES))
def test_no_character_of_the_letter_lacks_a_glyph_in_the_embedded_fonts(
    out: Path, lang: str
) -> None:
    """No tofu: every character of the first page's text is in an embedded font's cmap."""
    pdf = _first(out, lang, ".pdf")
    reader = pypdf.PdfReader(pdf)
    assert _notdef_used(reader) == []
    covered = _covered(reader)
    text = _flat(_pdftotext(pdf))
    missing = {c for c in text if not c.isspace() and ord(c) not in covered}
    assert not missing, f"{lang}: no glyph for {sorted(missing)}"


def test_the_arabic_letter_reads_right_to_left_and_extracts_in_logical_order(out: Path) -> None:
    pdf = _first(out, "ar", ".pdf")
    text = _logical(pdf)
    # logical order: the words come out as written, not reversed
    assert "حضرات السادة،" in text
    assert "يشرفني أن أحيطكم علماً" in text
    assert "+41 22 730 6301" in text  # a telephone number keeps its direction
    # mirrored: the reference block on the right half, the addressees on the left
    # -bbox writes each word as drawn, its letters left to right: compare both ways
    words = [(w.strip(":"), x) for w, x in _words(pdf)]
    words += [(w[::-1], x) for w, x in words]
    width = float(pypdf.PdfReader(pdf).pages[0].mediabox.width)
    assert min(x for w, x in words if w == "المرجع") > width / 2
    assert max(x for w, x in words if w == "إدارات") < width / 2
    signer = [x for w, x in words if w == "مدير"]
    assert signer and signer[0] > width / 2  # the signatory on the right


def test_the_left_to_right_letters_keep_the_reference_block_on_the_left(out: Path) -> None:
    pdf = _first(out, "zh", ".pdf")
    width = float(pypdf.PdfReader(pdf).pages[0].mediabox.width)
    words = _words(pdf)
    assert min(x for w, x in words if w.startswith("文")) < width / 2


def _words(pdf: Path) -> list[tuple[str, float]]:
    """Each word of page 1 and where it starts (x, points from the left)."""
    xml = _pdftotext(pdf, "-bbox")
    return [
        (m.group(2), float(m.group(1)))
        for m in re.finditer(r'<word xMin="([0-9.]+)"[^>]*>([^<]*)</word>', xml)
    ]


@pytest.mark.parametrize("lang", ["ar", "zh"])
def test_the_first_page_is_drawn(out: Path, lang: str, tmp_path: Path) -> None:
    """pdftoppm draws the first page (the README's pictures come from the same output)."""
    pdf = _first(out, lang, ".pdf")
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    (png,) = tmp_path.glob("p*.png")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 5_000  # not a blank page


def test_the_arabic_message_carries_lang_and_dir_and_a_readable_text_part(out: Path) -> None:
    message = email.message_from_bytes(
        _first(out, "ar", ".eml").read_bytes(), policy=policy.default
    )
    html = text = ""
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_content()  # type: ignore[attr-defined]
        elif part.get_content_type() == "text/plain":
            text = part.get_content()  # type: ignore[attr-defined]
    assert re.search(r'<html lang="ar" dir="rtl">', html)
    assert re.search(r'<article class="letter" dir="rtl" lang="ar"', html)
    assert f"{LRI}+41 22 730 6301{PDI}" in text
    assert "حضرات السادة،" in text


def test_check_lists_letters_per_language_and_category() -> None:
    code, stdout, stderr = run("check", SAMPLE, columns=200)
    assert code == 0, stdout + stderr
    header = next(line for line in stdout.splitlines() if "Category" in line)
    assert re.findall(r"\b(fr|en|es|ru|zh|ar)\b", header) == ["fr", "en", "es", "ru", "zh", "ar"]
    ms = next(line for line in stdout.splitlines() if line.strip("│ ").startswith("MS"))
    assert re.findall(r"│\s+(\d+)\s", ms)[:6] == ["1"] * 6


def test_no_chinese_line_starts_with_closing_punctuation(out: Path) -> None:
    """CJK line breaking: a line never opens with ， 。 ： ； ！ ？ ） ” 、 (kinsoku)."""
    lines = [
        line.strip()
        for pdf in sorted((out / "zh").glob("*.pdf"))
        for line in subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-layout", str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        if line.strip()
    ]
    assert len(lines) > 20
    assert [line for line in lines if line[0] in "，。：；！？）”、"] == []


def test_a_language_file_may_ask_for_arabic_indic_digits() -> None:
    from dataclasses import replace
    from datetime import date

    from dispatch import languages
    from dispatch.formatting import format_date, format_number

    arabic = languages.get("ar")
    eastern = replace(arabic, code="ar", formatting=replace(arabic.formatting, digits="arab"))
    languages.register(eastern)
    try:
        assert format_date(date(2021, 12, 7), "ar") == "٧ ديسمبر ٢٠٢١"
        assert format_number(2.5, "ar") == "٢٫٥"  # CLDR's Arabic decimal separator
    finally:
        languages.register(arabic)
    assert format_date(date(2021, 12, 7), "ar") == "7 ديسمبر 2021"  # Western by default
