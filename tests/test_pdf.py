"""The PDF of a letter: A4, the letter's text as a reader would copy it, page numbers from
page 2, the house font embedded, and each distinct letter rendered once."""

from __future__ import annotations

import io
import itertools
import logging
import re
from html import escape
from pathlib import Path
from typing import Any

import pypdf
import pytest

from dispatch.errors import DispatchError, OutputError
from dispatch.pdf import (
    DEFAULT_STYLESHEET,
    FontMissingError,
    PdfRenderer,
    check_fonts,
    font_family_of,
    render_pdf,
)

NNBSP = "\u202f"  # narrow no-break space, inside « » and before ; : ! ? in French
NBSP = "\u00a0"
HOUSE_FONT = "Liberation Serif"

SIGNATORIES = [
    ("Chaesub Lee", ["Directeur du Bureau de la normalisation", "des télécommunications"]),
    ("Doreen Bogdan-Martin", ["Directrice du Bureau de développement", "des télécommunications"]),
]
ANNEXES = ["Projet d'ordre du jour", "Formulaire d'inscription"]
INITIATIVE = f"«{NNBSP}Tous unis pour des villes intelligentes et durables{NNBSP}»"

# The text of circular TSB 352 (a real seed letter), long enough for two pages.
PARAGRAPHS = [
    "J'ai l'honneur de vous informer que l'Union internationale des télécommunications "
    "(UIT), en collaboration avec la Commission économique des Nations Unies pour l'Europe "
    "(CEE-ONU) et le Programme des Nations Unies pour les établissements humains "
    f"(ONU-Habitat), organise la sixième réunion de l'initiative {INITIATIVE} (U4SSC). "
    f"Cette réunion se déroulera de manière virtuelle le 7{NBSP}décembre 2021, de "
    f"10{NBSP}h{NBSP}00 à 15{NBSP}h{NBSP}30 (heure de Genève).",
    "La réunion aura lieu en anglais seulement.",
    f"L'initiative {INITIATIVE} (U4SSC), prise par les Nations Unies, est soutenue par "
    "17 institutions et programmes des Nations Unies en vue d'atteindre l'Objectif de "
    f"développement durable 11, «{NNBSP}Faire en sorte que les villes et les "
    "établissements humains soient ouverts à tous, sûrs, résilients et durables"
    f"{NNBSP}». L'initiative U4SSC constitue un cadre d'envergure mondiale pour promouvoir "
    "les politiques publiques et encourager l'utilisation des TIC pour faciliter et "
    "simplifier la transition vers des villes intelligentes et durables.",
    f"Les principaux objectifs de la réunion sont les suivants{NBSP}:</p><ul>"
    "<li>Examiner les activités mises en œuvre dans le cadre de l'initiative U4SSC.</li>"
    "<li>Rendre compte des travaux des groupes thématiques de l'initiative U4SSC.</li>"
    "<li>Approuver le mandat et le programme de travail annuel de l'initiative U4SSC "
    "(2021-2022).</li>"
    "<li>Présenter les résultats les plus récents obtenus dans le cadre de l'initiative.</li>"
    "</ul><p>",
    "La participation à la réunion est ouverte aux États Membres, aux Membres de Secteur et "
    "aux Associés de l'UIT ainsi qu'aux établissements universitaires participant aux "
    "travaux de l'UIT, et à toute personne issue d'un pays Membre de l'UIT qui souhaite "
    "contribuer aux travaux. Il peut s'agir de personnes qui sont aussi membres "
    "d'organisations internationales, régionales ou nationales. La participation est "
    "gratuite.",
    "Les informations relatives à la réunion, notamment le projet de programme, les "
    "intervenants, les modalités de connexion à distance et le lien pour l'inscription, "
    "seront communiquées sur la page web consacrée à cette manifestation. Ce site web sera "
    "actualisé à intervalles réguliers, à mesure que parviendront des informations "
    "nouvelles ou modifiées. Les participants sont priés de consulter régulièrement le site "
    f"pour prendre connaissance des dernières informations{NNBSP}; l'inscription au "
    "webinaire est obligatoire.",
]


def letter_html(*, extra: str = "") -> str:
    """A French circular shaped like the lead's templates (templates/fr/base.html)."""
    numbered = "\n".join(
        f'<div class="numbered"><span class="num">{i}</span>'
        f'<div class="text"><p>{text}</p></div></div>'
        for i, text in enumerate(PARAGRAPHS, start=1)
    )
    signatories = "\n".join(
        '<div class="signatory"><p class="signed-mention">[Original signé]</p>'
        f'<p class="name">{escape(name)}</p>'
        + "".join(f'<p class="title">{escape(line)}</p>' for line in title)
        + "</div>"
        for name, title in SIGNATORIES
    )
    annex_list = "".join(
        f"<li>Annexe {i}{NBSP}: {escape(title)}</li>" for i, title in enumerate(ANNEXES, 1)
    )
    annex_pages = "".join(
        f'<section class="annexes-page"><h2 class="annex-number">Annexe {i}</h2>'
        f'<h3 class="annex-title">{escape(title)}</h3>'
        "<p>Ouverture de la réunion et adoption de l'ordre du jour.</p></section>"
        for i, title in enumerate(ANNEXES, 1)
    )
    return f"""<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>Circulaire TSB 352</title></head>
<body>
<article class="letter">
<header class="letterhead">
<div class="unit-line">Bureau de la normalisation</div>
<div class="unit-line">des télécommunications</div>
</header>
<div class="meta">
<div class="meta-left">
<p class="place-date">Genève, le 13 octobre 2021</p>
<dl class="reference"><dt>Réf.{NBSP}:</dt><dd>Circulaire TSB 352</dd></dl>
<dl class="contact">
<dt>Tél.{NBSP}:</dt><dd>+41 22 730 6301</dd>
<dt>Télécopie{NBSP}:</dt><dd>+41 22 730 5853</dd>
<dt>Courriel{NBSP}:</dt><dd><a href="mailto:u4ssc@itu.int">u4ssc@itu.int</a></dd>
</dl>
</div>
<div class="meta-right">
<ul class="addressees">
<li>Aux administrations des États Membres de l'Union{NNBSP};</li>
<li>Aux Membres du Secteur UIT-T{NNBSP};</li>
<li>Aux Associés de l'UIT-T{NNBSP};</li>
<li>Aux établissements universitaires participant aux travaux de l'UIT</li>
</ul>
<p class="copies-label">Copie{NBSP}:</p>
<ul class="copies">
<li>Aux Présidents et Vice-Présidents des commissions d'études{NNBSP};</li>
<li>À la Directrice du Bureau de développement des télécommunications</li>
</ul>
</div>
</div>
<p class="subject"><span class="label">Objet{NBSP}:</span> <strong>Sixième réunion de
l'initiative {INITIATIVE} (réunion virtuelle, 7{NBSP}décembre 2021)</strong></p>
<p class="salutation">Madame, Monsieur,</p>
<div class="body">
{numbered}
</div>
<p class="closing">Veuillez agréer, Madame, Monsieur, l'assurance de notre considération
distinguée.</p>
<div class="signatories">
{signatories}
</div>
<ul class="annex-list">{annex_list}</ul>
{annex_pages}
{extra}
</article>
</body>
</html>
"""


@pytest.fixture(scope="module")
def letter_pdf() -> bytes:
    return render_pdf(letter_html())


@pytest.fixture(scope="module")
def pages(letter_pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(letter_pdf))
    return [page.extract_text() for page in reader.pages]


def test_the_letter_is_two_pages_and_each_annex_has_its_own(pages: list[str]) -> None:
    assert len(pages) == 2 + len(ANNEXES)
    for i, title in enumerate(ANNEXES, start=1):
        annex_page = pages[1 + i]
        assert f"Annexe {i}" in annex_page
        assert title in annex_page


def test_every_page_is_a4(letter_pdf: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(letter_pdf))
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (
            595,
            842,
        )


def test_place_date_and_reference_are_on_the_first_page(pages: list[str]) -> None:
    assert f"Genève, le 13{NBSP}octobre{NBSP}2021" in pages[0]  # a date stays on one line
    assert "Circulaire TSB 352" in pages[0]
    assert f"Réf.{NBSP}:" in pages[0]
    assert "u4ssc@itu.int" in pages[0]


@pytest.mark.parametrize("name", [name for name, _ in SIGNATORIES])
def test_each_signatory_signs_the_letter(pages: list[str], name: str) -> None:
    letter = "\n".join(pages[:2])
    assert name in letter
    assert letter.count("[Original signé]") == len(SIGNATORIES)


def test_the_annex_list_names_every_annex(pages: list[str]) -> None:
    for i, title in enumerate(ANNEXES, start=1):
        assert f"Annexe {i}{NBSP}: {title}" in pages[1]


def test_page_numbers_start_on_page_two(pages: list[str]) -> None:
    def numbers(text: str) -> list[str]:
        # the running head: the reference on the left, the number on the right
        found = (re.search(r"- \d+ -$", line.strip()) for line in text.splitlines())
        return [m.group() for m in found if m]

    assert numbers(pages[0]) == []
    for number, text in enumerate(pages[1:], start=2):
        assert numbers(text) == [f"- {number} -"]


def test_french_typography_survives_in_the_text(pages: list[str]) -> None:
    text = "\n".join(pages)
    assert "œuvre" in text
    assert INITIATIVE in text  # « », each with a narrow no-break space inside
    assert f"UIT-T{NNBSP};" in text
    assert f"10{NBSP}h{NBSP}00" in text


def test_only_the_house_font_is_embedded(letter_pdf: bytes) -> None:
    """No glyph of the letter fell back to another font (the font covers French)."""
    reader = pypdf.PdfReader(io.BytesIO(letter_pdf))
    embedded: set[str] = set()
    for page in reader.pages:
        resources: Any = page["/Resources"]
        fonts: Any = resources["/Font"]
        for font in fonts.values():
            # "/ABCDEF+Liberation-Serif-Bold": a subset of the font, under a random tag.
            embedded.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    assert embedded, "no font in the PDF"
    assert all(name.startswith("Liberation-Serif") for name in embedded), embedded


def test_french_words_are_hyphenated_in_the_letter_text() -> None:
    narrow = "<style>.body p { width: 4cm }</style>"
    html = (
        '<html lang="fr"><head>' + narrow + '</head><body><div class="body"><p>'
        "anticonstitutionnellement, les télécommunications internationales.</p></div>"
        "</body></html>"
    )
    text = pypdf.PdfReader(io.BytesIO(render_pdf(html))).pages[0].extract_text()
    assert "\u2010\n" in text  # a hyphen at a line's end, put there by the hyphenator
    assert text.replace("\u2010\n", "").startswith("anticonstitutionnellement")


@pytest.mark.parametrize(
    "word",
    ["Anticonstitutionnellement", "Partner2Connect", "ONU-Femmes", "Télécommunications"],
)
def test_words_with_a_capital_or_a_digit_are_never_hyphenated(word: str) -> None:
    narrow = "<style>.body p { width: 3cm }</style>"
    html = (
        f'<html lang="fr"><head>{narrow}</head><body><div class="body"><p>'
        f"les {word} les</p></div></body></html>"
    )
    text = pypdf.PdfReader(io.BytesIO(render_pdf(html))).pages[0].extract_text()
    assert "\u2010" not in text
    assert word in text


def test_every_pdf_is_tagged_pdf_a_with_language_and_metadata() -> None:
    html = (
        '<html lang="fr"><head><title>Circulaire TSB 352 – Réunion</title>'
        '<meta name="author" content="UIT – TSB"><meta name="description" content="Réunion">'
        "</head><body><p>Madame, Monsieur,</p></body></html>"
    )
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(html)))
    root: Any = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert str(root["/Lang"]) == "fr"
    assert "/OutputIntents" in root  # the sRGB profile PDF/A asks for
    xmp: Any = reader.xmp_metadata
    raw = xmp.stream.get_data().decode("utf-8")
    assert re.search(r"pdfaid:part(?:>|=\")3", raw)
    assert re.search(r"pdfaid:conformance(?:>|=\")U", raw)
    info: Any = reader.metadata
    assert info.title == "Circulaire TSB 352 – Réunion"
    assert info.author == "UIT – TSB"
    assert info.subject == "Réunion"


def test_a_link_gets_its_target_as_a_clickable_footnote_and_a_bare_url_none() -> None:
    html = (
        '<html lang="fr"><body><p>Inscrivez-vous <a href="https://example.org/inscription">'
        'ici</a> ou sur <a href="https://example.org/a">https://example.org/a</a>.</p>'
        "</body></html>"
    )
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(html)))
    text = reader.pages[0].extract_text()
    assert "https://example.org/inscription" in text
    assert text.count("https://example.org/a") == 1  # the bare URL, not repeated
    targets = [
        annot.get_object()["/A"]["/URI"]
        for annot in reader.pages[0].get("/Annots", [])
        if "/A" in annot.get_object()
    ]
    assert targets.count("https://example.org/inscription") >= 2  # the words and the note
    assert "https://example.org/a" in targets


def test_the_same_letter_gives_the_same_bytes() -> None:
    html = letter_html(extra="<p>Une autre lettre.</p>")
    assert render_pdf(html) == render_pdf(html)


def test_the_house_font_is_installed() -> None:
    assert check_fonts() == HOUSE_FONT
    assert font_family_of(DEFAULT_STYLESHEET.read_text(encoding="utf-8")) == HOUSE_FONT


def test_a_missing_font_stops_before_any_render(tmp_path: Path) -> None:
    css = tmp_path / "print.css"
    css.write_text('html { font-family: "Nonexistent Letter Font", serif }\n', encoding="utf-8")
    with pytest.raises(FontMissingError) as caught:
        PdfRenderer(stylesheet=css)
    error = caught.value
    assert isinstance(error, OutputError)
    assert isinstance(error, DispatchError)
    assert error.family == "Nonexistent Letter Font"
    message = str(error)
    assert message.startswith('print.css: the letter\'s font "Nonexistent Letter Font"')
    assert "is not installed" in message


def test_the_missing_house_font_points_to_the_set_up_script() -> None:
    message = str(FontMissingError(HOUSE_FONT, DEFAULT_STYLESHEET))
    assert message.startswith('print.css: the letter\'s font "Liberation Serif" is not installed')
    assert "scripts/system-deps.sh" in message
    assert "fonts-liberation2" in message


@pytest.mark.parametrize(
    ("css", "family"),
    [
        ('html { font-family: "Liberation Serif", serif }', "Liberation Serif"),
        ("body{font-family:Carlito,sans-serif}", "Carlito"),
        ("/* font-family: Commented Out */ p { font-family: 'Noto Serif' }", "Noto Serif"),
        ("html { font-family: serif }", None),
        ("html { color: black }", None),
    ],
    ids=["quoted", "bare", "after-a-comment", "generic", "none"],
)
def test_the_letter_font_is_the_first_family_named(css: str, family: str | None) -> None:
    assert font_family_of(css) == family


def test_weasyprint_warnings_are_collected_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    renderer = PdfRenderer()
    html = '<p style="frobnicate: 3">Madame, Monsieur,</p>'
    with caplog.at_level(logging.DEBUG):
        renderer.render(html)
        renderer.render(html + " ")
    assert not [r for r in caplog.records if r.name.startswith("weasyprint")]
    assert len([w for w in renderer.warnings if "frobnicate" in w]) == 1


def test_letters_never_fetch_from_the_network() -> None:
    renderer = PdfRenderer()
    pdf = renderer.render('<p>Logo<img src="http://127.0.0.1:9/logo.png"></p>')
    assert pdf.startswith(b"%PDF-")
    assert any("127.0.0.1:9/logo.png" in w for w in renderer.warnings)


def test_relative_images_are_found_from_the_base_url(tmp_path: Path) -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10"/></svg>'
    )
    (tmp_path / "logo.svg").write_text(svg, encoding="utf-8")
    renderer = PdfRenderer(base_url=tmp_path)
    renderer.render('<html lang="fr"><p><img src="logo.svg" alt="logo"></p></html>')
    assert renderer.warnings == []  # a tagged PDF wants the language: the letters have it


def test_a_letter_cannot_pull_a_local_file_from_outside_its_folders_into_the_pdf(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.css").write_text("body { color: red } /* PRIVATE-KEY */", encoding="utf-8")
    mailing = tmp_path / "mailing"
    mailing.mkdir()
    (mailing / "ok.css").write_text("p { margin: 0 }", encoding="utf-8")
    html = (
        '<html><head><link rel="stylesheet" href="../secret/key.css">'
        '<link rel="stylesheet" href="ok.css"></head>'
        "<body><p>Genève, le 13 octobre 2021</p></body></html>"
    )
    renderer = PdfRenderer(base_url=mailing)
    pdf = renderer.render(html)
    assert pdf.startswith(b"%PDF")
    assert any("outside the templates and mailing folders" in w for w in renderer.warnings)
    assert not any("ok.css" in w for w in renderer.warnings)


def _line_tops(pdf: bytes, tmp_path: Path) -> list[float]:
    """The top of each line of page 1, as pdftotext's layout reads them (in points)."""
    import subprocess

    path = tmp_path / "lines.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-bbox-layout", "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [float(y) for y in re.findall(r'<line xMin="[^"]+" yMin="([^"]+)"', out)]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_superscript_does_not_change_the_spacing_of_its_line(lang: str, tmp_path: Path) -> None:
    words = "la session de l’Assemblée générale des Nations Unies se tiendra " * 6
    html = (
        f'<html lang="{lang}"><body><div class="body"><p>{words} 76<sup>e</sup> '
        f"session, le 1<sup>er</sup> jour, {words}</p></div></body></html>"
    )
    tops = _line_tops(render_pdf(html), tmp_path)
    assert len(tops) >= 6
    gaps = {round(b - a, 1) for a, b in itertools.pairwise(tops)}
    assert len(gaps) == 1, gaps  # every line of the paragraph the same distance apart
