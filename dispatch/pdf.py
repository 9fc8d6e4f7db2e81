"""Letters as A4 PDF: the same HTML as the e-mail, laid out by WeasyPrint (CSS paged media).

The page rules, the fonts and the French hyphenation come from ``templates/print.css``:
WeasyPrint reads ``@page`` (A4, margins, page numbers from page 2) and hyphenates with
pyphen where the CSS says ``hyphens: auto`` and the HTML has ``lang="fr"``. Fonts are
embedded in the PDF, so the letter prints the same anywhere.

Never a silent fallback font: before the first render the family named in the stylesheet
must be known to fontconfig, or :class:`FontMissingError` says which one and how to
install it (``scripts/system-deps.sh``). A mailing sends the same letter to many people,
so :class:`PdfRenderer` renders each distinct HTML once and hands out the same bytes
again: 10 000 addressees sharing 4 letters cost 4 renders.

>>> renderer = PdfRenderer()
>>> html = '<html lang="fr"><p>Madame, Monsieur,</p></html>'
>>> renderer.render(html)[:5], renderer.render(html) == renderer.render(html)
(b'%PDF-', True)
"""

from __future__ import annotations

import functools
import html as _html
import logging
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dispatch import languages
from dispatch.errors import OutputError
from dispatch.pdf_libraries import PdfLibraryMissing, load_weasyprint
from dispatch.resources import TEMPLATES
from dispatch.typography import keep_together, unbroken_dates

__all__ = [
    "DEFAULT_STYLESHEET",
    "FontMissingError",
    "PdfLibraryMissing",
    "PdfRenderer",
    "check_fonts",
    "font_family_of",
    "installed_font_families",
    "print_html",
    "render_pdf",
]

PDF_VARIANT = "pdf/a-3u"
"""Every PDF is PDF/A-3u (archival: fonts embedded, metadata in XMP, Unicode text) and
tagged (a structure tree, the language: readable by a screen reader). PDF/A-3 rather than
2: a letter may embed its annexes (``<a rel="attachment">``), which only PDF/A-3 allows."""

DEFAULT_STYLESHEET: Path = TEMPLATES / "print.css"
"""The house stylesheet, applied to every PDF (parsed once per process).

The templates also include it inline for the e-mail; the same rules applied twice give the
same layout (the inline copy costs about 2 % of a render), so one HTML serves both.
"""

# Generic CSS families always resolve to something: nothing to check for them.
_GENERIC = frozenset(
    {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "ui-serif"}
)
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_FONT_FAMILY = re.compile(r"font-family\s*:\s*([^;{}]+)", re.IGNORECASE)

# The Debian package that holds a font, for the error message.
_FONT_PACKAGES = {
    "liberation serif": "fonts-liberation2",
    "noto serif cjk sc": "fonts-noto-cjk",
    "noto naskh arabic": "fonts-noto-core",
}

# WeasyPrint fetches images and stylesheets through this; letters never need the network,
# and a render of 10 000 letters must not wait on (or leak to) a remote server.
_ALLOWED_PROTOCOLS = ("file", "data")


class FontMissingError(OutputError):
    """The letter's font is not installed: the PDF would come out in another font."""

    def __init__(self, family: str, stylesheet: Path | None = None) -> None:
        self.family = family
        self.stylesheet = stylesheet
        where = f"{stylesheet.name}: " if stylesheet is not None else ""
        package = _FONT_PACKAGES.get(family.casefold())
        how = (
            f"your system's package manager (Debian, Ubuntu: apt install {package}; the "
            'README\'s "Install" section names it for each system; in a checkout of dispatch, '
            "scripts/system-deps.sh as root)"
            if package
            else "your package manager"
        )
        super().__init__(
            f'{where}the letter\'s font "{family}" is not installed (fontconfig does not '
            f"know it), so the PDF would silently use another font. Install it with {how}, "
            "or name an installed font in the stylesheet, and run again."
        )


def font_family_of(css: str) -> str | None:
    """The letter's font: the first family of the first ``font-family`` in ``css``.

    Generic families (``serif``...) and a stylesheet without ``font-family`` give None.

    >>> font_family_of('html { font-family: "Liberation Serif", serif }')
    'Liberation Serif'
    """
    match = _FONT_FAMILY.search(_COMMENT.sub("", css))
    if match is None:
        return None
    first = match.group(1).split(",")[0].strip().strip("\"'").strip()
    if not first or first.lower() in _GENERIC:
        return None
    return first


@functools.cache
def installed_font_families() -> frozenset[str]:
    """Every font family fontconfig knows, case-folded; read once per process.

    Asks the fontconfig library that WeasyPrint itself uses (so the answer is what the
    renderer will see), and ``fc-list`` should that internal interface ever change.
    """
    try:
        return _families_from_library()
    except (ImportError, AttributeError, OSError):
        return _families_from_fc_list()


def _families_from_library() -> frozenset[str]:
    from weasyprint.text.ffi import ffi, fontconfig

    families: set[str] = set()
    config = fontconfig.FcInitLoadConfigAndFonts()
    if config == ffi.NULL:
        raise OSError("fontconfig could not load its configuration")
    try:
        fonts = fontconfig.FcConfigGetFonts(config, fontconfig.FcSetSystem)
        value = ffi.new("FcChar8 **")
        for i in range(0 if fonts == ffi.NULL else fonts.nfont):
            n = 0
            # A font has one family per language it names itself in: take them all.
            while (
                fontconfig.FcPatternGetString(fonts.fonts[i], b"family", n, value)
                == fontconfig.FcResultMatch
            ):
                families.add(ffi.string(value[0]).decode("utf-8", "replace").casefold())
                n += 1
    finally:
        fontconfig.FcConfigDestroy(config)
    return frozenset(families)


def _families_from_fc_list() -> frozenset[str]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return frozenset()
    listing = subprocess.run(
        [fc_list, "--format", "%{family}\n"], capture_output=True, text=True, check=False
    ).stdout
    return frozenset(
        name.strip().casefold() for line in listing.splitlines() for name in line.split(",")
    )


@functools.cache
def check_fonts(stylesheet: Path = DEFAULT_STYLESHEET) -> str | None:
    """Check that the font ``stylesheet`` names is installed; return its family.

    Called before the first render (and cheap to call again: the answer is cached), so a
    run stops before anything is written rather than send letters in a fallback font.
    Raises :class:`FontMissingError` naming the family.
    """
    family = font_family_of(stylesheet.read_text(encoding="utf-8"))
    if family is not None and family.casefold() not in installed_font_families():
        raise FontMissingError(family, stylesheet)
    return family


class _Collector(logging.Handler):
    """Keeps WeasyPrint's warnings (unknown CSS, unreadable image) instead of printing them."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.into:
            self.into.append(message)


@contextmanager
def _quiet_weasyprint(into: list[str]) -> Iterator[None]:
    """Route the ``weasyprint`` logger to ``into`` for the time of a render.

    WeasyPrint logs a warning per unsupported CSS property per render; a mailing renders
    many letters and the CLI must stay readable, so the messages are collected (once each)
    for the caller to show, and its progress messages are not even produced.
    """
    logger = logging.getLogger("weasyprint")
    handler = _Collector(into)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


@contextmanager
def _icc_profile_leak_ignored() -> Iterator[None]:
    """WeasyPrint 70 opens its sRGB profile (the output intent PDF/A requires) and never
    closes it: CPython closes it at once and says so with a ResourceWarning, which a
    strict run (pytest's ``filterwarnings = error``) turns into an error. That one
    warning, and only it, is ignored while a PDF is written."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"unclosed file .*sRGB2014\.icc", category=ResourceWarning
        )
        yield


class _Engine:
    """What every render shares: the font configuration, the parsed stylesheet, the images.

    Building these costs more than a small letter's layout, so one engine per stylesheet
    lives for the whole process (see :func:`_engine`).
    """

    def __init__(self, stylesheet: Path | None) -> None:
        load_weasyprint()
        if stylesheet is not None:
            check_fonts(stylesheet)
        from weasyprint import CSS, URLFetcher
        from weasyprint.text.fonts import FontConfiguration

        self.font_config: Any = FontConfiguration()
        self.url_fetcher: Any = _confined_fetcher(URLFetcher)
        self.url_fetcher.roots = [] if stylesheet is None else [stylesheet.resolve().parent]
        self.url_fetcher.base = None
        self.url_fetcher.files = None
        self.image_cache: dict[str, Any] = {}
        self.warnings: list[str] = []
        # The templates put the house stylesheet inline too, for the e-mail (see
        # DEFAULT_STYLESHEET): the exact copy is left out of what WeasyPrint reads.
        self.css_text = (
            None if stylesheet is None else stylesheet.read_text(encoding="utf-8").strip()
        )
        self.language_css: dict[str, Any] = {}  # per language: its file's fonts
        with _quiet_weasyprint(self.warnings):
            self.stylesheets: list[Any] = (
                []
                if stylesheet is None
                else [
                    CSS(
                        filename=str(stylesheet),
                        font_config=self.font_config,
                        url_fetcher=self.url_fetcher,
                    )
                ]
            )

    def write(
        self,
        html: str,
        base_url: str | Path | None,
        warnings: list[str],
        files: frozenset[Path] | None = None,
    ) -> bytes:
        from weasyprint import HTML

        self.url_fetcher.base = None
        if base_url is not None and not str(base_url).startswith(("http:", "https:")):
            self.url_fetcher.base = Path(str(base_url).removeprefix("file://")).resolve()
        self.url_fetcher.files = files
        with _quiet_weasyprint(warnings), _icc_profile_leak_ignored():
            document = HTML(
                string=print_html(_without_copy(html, self.css_text)),
                base_url=None if base_url is None else str(base_url),
                url_fetcher=self.url_fetcher,
            )
            pdf: bytes = document.write_pdf(
                stylesheets=self.stylesheets + self._fonts_of(html),
                font_config=self.font_config,
                cache=self.image_cache,
                pdf_variant=PDF_VARIANT,
                pdf_tags=True,
            )
        return pdf

    def _fonts_of(self, html: str) -> list[Any]:
        """The fonts the letter's language file names, first choice first, as a style
        sheet; :class:`FontMissingError` if the first one is not installed."""
        from weasyprint import CSS

        found = _LANG.search(html)
        code = found.group(1).lower() if found else ""
        if not languages.is_known(code) or not languages.get(code).fonts:
            return []
        if code not in self.language_css:
            language = languages.get(code)
            if language.fonts[0].casefold() not in installed_font_families():
                raise FontMissingError(language.fonts[0], language.source)
            families = ", ".join(f'"{font}"' for font in language.fonts)
            rule = f"html:lang({code}) {{ font-family: {families}, serif; }}"
            self.language_css[code] = CSS(string=rule, font_config=self.font_config)
        return [self.language_css[code]]


_STYLE = re.compile(r"<style>(.*?)</style>\s*", re.DOTALL | re.IGNORECASE)


def _without_copy(html: str, css: str | None) -> str:
    """The letter's HTML without its inline copy of the house stylesheet, which the engine
    applies already, parsed once: WeasyPrint would parse the copy again for each PDF (a
    seventh of a two-page letter's render, by profile). Only an exact copy is left out,
    so the layout is the same; any other style stays.

    >>> _without_copy("<head><style>p {}</style></head>", "p {}")
    '<head></head>'
    """
    if not css:
        return html
    found = _STYLE.search(html)
    if found is None or found.group(1).strip() != css:
        return html
    return html[: found.start()] + html[found.end() :]


_BODY = re.compile(r"<body\b.*?(?=</body>|\Z)", re.DOTALL | re.IGNORECASE)
_TOKEN = re.compile(r"(<[^>]*>)")
_EXTERNAL_LINK = re.compile(
    r"""<a\s[^>]*?\bhref\s*=\s*"(https?://[^"]+)"[^>]*>(.*?)</a\s*>""", re.DOTALL | re.IGNORECASE
)
# A word that hyphenation would cut (7 letters or more: hyphenate-limit-chars in
# print.css); those with a capital or a digit are not cut (see _wrap_proper).
_PROPER = re.compile(r"(?<![&#\w\u2011-])\w[\w\u2011-]{5,}\w(?![\w\u2011])")
_URL_HEAD = re.compile(
    r"((?:[a-z][a-z0-9+.-]*://|www\.)[^/?#\s]+)(.*)", re.DOTALL | re.IGNORECASE
)  # "https://www.itu.int", "www.wsis.org": scheme and host on one line


def _url_html(url: str) -> str:
    """A URL as printed text: its scheme and host kept on one line."""
    m = _URL_HEAD.match(url)
    if m is None:
        return _html.escape(url, quote=False)
    head, rest = m.groups()
    return f'<span class="url-head">{_html.escape(head, quote=False)}</span>' + _html.escape(
        rest, quote=False
    )


def _same_target(text: str, url: str) -> bool:
    def bare(u: str) -> str:
        u = re.sub(r"^[a-z]+://", "", u.strip(), flags=re.IGNORECASE)
        return u.removeprefix("www.").rstrip("/").casefold()

    return bare(text) == bare(url)


def _link_for_print(m: re.Match[str]) -> str:
    url = _html.unescape(m.group(1))
    inner = m.group(2)
    text = _html.unescape(re.sub(r"<[^>]*>", "", inner))
    if _same_target(text, url):
        if "<" in inner:
            return m.group(0)
        opening = m.group(0)[: m.start(2) - m.start(0)]
        return f"{opening}{_url_html(text)}</a>"
    note = f'<a href="{_html.escape(url)}">{_url_html(url)}</a>'
    return f'{m.group(0)}<span class="link-note">{note}</span>'


_PROPER_OR_URL = re.compile(rf"(?:https?://|www\.)\S+|(?P<word>{_PROPER.pattern})")


def _wrap_proper(m: re.Match[str]) -> str:
    word = m.group("word")
    if word is None or not any(c.isupper() or c.isdigit() for c in word):
        return m.group()  # a URL (kept whole by the link code), or a lower-case word
    return f'<span class="nohyph">{word}</span>'


# Where print.css hyphenates: the letter's text and the annex pages (elsewhere nothing is
# cut, and a word is best left in one piece of the text layer).
_HYPHENATED = re.compile(
    r'<div class="body">.*?(?=<p class="closing">|\Z)|<section class="annexes-page">.*?</section>',
    re.DOTALL,
)


def _no_hyphens(body: str) -> str:
    return _HYPHENATED.sub(lambda m: _no_hyphens_in(m.group()), body)


_LANG = re.compile(r'<html\b[^>]*\blang="([A-Za-z]+)', re.IGNORECASE)
_RAW = re.compile(r"(<(?:style|script|title)\b.*?</(?:style|script|title)\s*>|<[^>]*>)", re.S)


def _keep_dates_together(html: str, body: str) -> str:
    """Dates held on one line ("17 mai 2021"): typography.keep_together on the text."""
    lang = _LANG.search(html)
    if lang is None:
        return body
    code = lang.group(1).lower()
    if not languages.is_known(code):
        return body

    unbroken = unbroken_dates(code)

    def keep(text: str) -> str:
        text = keep_together(text, code)
        if unbroken is not None:  # 2021年12月7日: no space to hold, a span on one line
            text = unbroken.sub(lambda m: f'<span class="nowrap">{m.group()}</span>', text)
        return text

    return "".join(
        piece if not piece or piece.startswith("<") else _nowrap_hyphens(keep(piece))
        for piece in _RAW.split(body)
    )


# Letters and digits, but not Chinese characters: a Chinese sentence has no spaces, and a
# span on one line must not take the words around "ITU‑T" with it.
_W = r"[^\W\u3000-\u9fff\uf900-\ufaff]"
_NB_HYPHENATED = re.compile(rf"(?:{_W}|[./–-])*[\u2011\u2060](?:{_W}|[./–\u2011\u2060-])*")


def _nowrap_hyphens(text: str) -> str:
    """``CEE‑ONU`` (U+2011, which the house font lacks: it would come from a fallback
    font) printed as ``CEE-ONU`` with an ordinary hyphen, on one line; so too the words
    keep_together joined with U+2060 (``2021–2022``, ``BDT/DIR/105``), without it."""
    if "\u2011" not in text and "\u2060" not in text:
        return text
    return _NB_HYPHENATED.sub(
        lambda m: (
            '<span class="nowrap">'
            + m.group().replace("\u2011", "-").replace("\u2060", "")
            + "</span>"
        ),
        text,
    )


def _no_hyphens_in(body: str) -> str:
    out = []
    for piece in _TOKEN.split(body):
        if piece.startswith("<") or not piece:
            out.append(piece)
        else:
            out.append(_PROPER_OR_URL.sub(_wrap_proper, piece))
    return "".join(out)


def print_html(html: str) -> str:
    """A letter's HTML as printed: each external link's target legible on paper, proper
    names and acronyms not hyphenated, dates kept on one line ("17 mai 2021"). Only the
    PDF gets this; the e-mail keeps its HTML.

    A link whose words are not its target gets the target in a ``.link-note`` after it,
    which print.css floats to the foot of the page as a numbered footnote (clickable
    too); a bare URL gets none, only its scheme and host kept on one line. Words of 7
    letters or more with a capital or a digit (Genève, Partner2Connect, ONU‑Femmes) go
    into a ``.nohyph`` span that print.css does not hyphenate: only lower-case words are
    cut. A pure function of its input, so identical letters stay identical PDFs.

    >>> print_html('<body><a href="https://x.org/a">ici</a></body>')
    '<body><a href="https://x.org/a">ici</a><span class="link-note"><a href="https://x.org/a"><span class="url-head">https://x.org</span>/a</a></span></body>'
    """
    found = _BODY.search(html)
    if found is None:
        return html
    body = _keep_dates_together(html, found.group())
    body = _EXTERNAL_LINK.sub(_link_for_print, body)
    body = _no_hyphens(body)
    return html[: found.start()] + body + html[found.end() :]


def _confined_fetcher(base: Any) -> Any:
    """A WeasyPrint URL fetcher that reads only the local files a letter may use.

    A letter's HTML may carry an image, a stylesheet or an attachment
    (``<a rel="attachment">``, which WeasyPrint embeds in the PDF) from a body paragraph
    the user typed: the PDF is then mailed out. So a ``file:`` URL is fetched only if it
    is in ``roots`` (the templates folder: the stylesheet and its assets) or is one of
    ``files`` (the annexes the mailing names). Without ``files`` (a standalone render),
    any file of the ``base`` folder is allowed but hidden ones (``.dispatch/journal…``).
    Everything else, the mailing's workbook and journal included, is refused.
    """

    class Confined(base):  # type: ignore[misc]
        roots: list[Path]
        base: Path | None
        files: frozenset[Path] | None

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file:"):
                from urllib.parse import unquote, urlparse

                path = Path(unquote(urlparse(url).path)).resolve()
                refusal = self.refusal(path)
                if refusal:
                    raise ValueError(f"{path} {refusal}")
            return super().fetch(url, headers)

        def refusal(self, path: Path) -> str:
            if any(path.is_relative_to(root) for root in self.roots):
                return ""
            if self.base is None or not path.is_relative_to(self.base):
                return "is outside the templates and mailing folders"
            if self.files is not None:
                if path in self.files:
                    return ""
                return (
                    "is not one of the mailing's annexes: a letter may use only the "
                    "templates' files and the annexes the mailing names"
                )
            if any(part.startswith(".") for part in path.relative_to(self.base).parts):
                return "is a hidden file of the mailing folder (its journal?)"
            return ""

    return Confined(allowed_protocols=_ALLOWED_PROTOCOLS)


@functools.cache
def _engine(stylesheet: Path | None) -> _Engine:
    return _Engine(stylesheet)


def render_pdf(
    html: str,
    *,
    base_url: str | Path | None = None,
    stylesheet: Path | None = DEFAULT_STYLESHEET,
) -> bytes:
    """Render one letter's HTML to A4 PDF bytes, with the house stylesheet.

    ``base_url`` is where relative links in the HTML (a logo) are looked up; only local
    files and ``data:`` URLs are fetched. ``stylesheet=None`` uses only the CSS inside the
    HTML. Raises :class:`FontMissingError` if the stylesheet's font is not installed.
    WeasyPrint's warnings are dropped here; :class:`PdfRenderer` keeps them.

    >>> render_pdf('<html lang="fr"><p>Madame, Monsieur,</p></html>')[:5]
    b'%PDF-'
    """
    return _engine(stylesheet).write(html, base_url, [])


class PdfRenderer:
    """Renders letters to PDF with one engine, confined to the mailing's files.

    ``renders`` counts the renders. Each distinct letter is rendered once by its caller's
    :class:`~dispatch.distinct.DistinctStore` (see ``Composer.pdf``), which keeps the
    PDFs; this class keeps none. ``files``: the only files of ``base_url``'s folder a
    letter may fetch (the mailing's annexes), so that no text of the mailing can embed its
    workbook or journal. WeasyPrint's warnings, each once, are in ``warnings`` for the
    caller to show. Not thread-safe: use one renderer per thread.

    >>> PdfRenderer(base_url=mailing.folder).render(html_fr)[:5]  # doctest: +SKIP
    b'%PDF-'
    """

    def __init__(
        self,
        *,
        base_url: str | Path | None = None,
        stylesheet: Path | None = DEFAULT_STYLESHEET,
        files: Iterable[Path] | None = None,
    ) -> None:
        self.base_url = base_url
        # the only files of the base folder a letter may fetch (None: any but hidden ones)
        self.files = None if files is None else frozenset(Path(f).resolve() for f in files)
        self.stylesheet = stylesheet
        self.renders = 0
        self.warnings: list[str] = []
        self._engine = _engine(stylesheet)  # fails here, early, if the font is missing

    def render(self, html: str) -> bytes:
        """The PDF of ``html``."""
        pdf = self._engine.write(html, self.base_url, self.warnings, self.files)
        self.renders += 1
        return pdf
