"""The details a careful reader catches, over every PDF and message of every sample (issue 24,
"Done when"): no double list marker, every printed URL a link whose target is printed, no
line ending with a URL's scheme, no U+2011 outside the PDF, a Reply-To on every message,
English closings that agree with the salutation, a text part that says who it is from, and
an HTML part whose footer reads right with its styles removed.

Every sample is rendered once for the module (html, txt, eml, pdf, ics), as a user would.
"""

from __future__ import annotations

import email
import email.policy
import functools
import io
import re
import subprocess
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest

from tests.conftest import ROOT
from tests.helpers import run

pytestmark = pytest.mark.heavy  # every sample in every format, the PDFs too

SAMPLES = sorted(p.parent for p in (ROOT / "mailings").glob("*/mailing.toml"))
ORGANISATION = {
    "fr": "Union internationale des télécommunications",
    "en": "International Telecommunication Union",
}
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"«»]+[^\s<>\"«».,;:!?)\]]")


@dataclass(frozen=True)
class Rendered:
    sample: str
    lang: str
    stem: Path  # the files' path without extension

    @property
    def name(self) -> str:
        return f"{self.sample}/{self.stem.name}"

    @functools.cached_property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(
            self.stem.with_suffix(".eml").read_bytes(), policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, kind: str) -> str:
        found = self.message.get_body(preferencelist=(kind,))
        assert found is not None, (self.name, kind)
        return str(found.get_content())

    @functools.cached_property
    def pages(self) -> list[str]:
        out = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(self.stem.with_suffix(".pdf")), "-"],
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8")
        return out.split("\f")[:-1]

    @functools.cached_property
    def link_targets(self) -> list[str]:
        reader = pypdf.PdfReader(io.BytesIO(self.stem.with_suffix(".pdf").read_bytes()))
        targets = []
        for page in reader.pages:
            for annot in page.get("/Annots") or []:
                action = annot.get_object().get("/A")
                if action is not None and "/URI" in action:
                    targets.append(str(action["/URI"]))
        return targets


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[Rendered]:
    found: list[Rendered] = []
    for sample in SAMPLES:
        out = tmp_path_factory.mktemp(sample.name)
        code, stdout, stderr = run(
            "render", sample, "--contacts", ROOT / "contacts.xlsx", "--out", out,
            "--format", "html,txt,eml,pdf,ics",
        )  # fmt: skip
        assert code == 0, stdout + stderr
        for eml in sorted(out.rglob("*.eml")):
            found.append(Rendered(sample.name, eml.parent.name, eml.with_suffix("")))
    assert len(found) >= 5 * 10
    return found


def test_no_list_item_has_a_bullet_and_its_own_label(rendered: list[Rendered]) -> None:
    double = re.compile(r"^\s*[•◦▪‣·–-]\s+\(?(?:[a-z]|[0-9]{1,2}|[ivx]{1,4})\)\s")
    bad = []
    for letter in rendered:
        for where, text in (
            ("pdf", "\n".join(letter.pages)),
            ("text part", letter.part("plain")),
        ):
            bad += [
                f"{letter.name} ({where}): {line!r}"
                for line in text.splitlines()
                if double.match(line)
            ]
    assert bad == []


def _line_urls(text: str) -> list[str]:
    return [m.group() for line in text.splitlines() for m in URL.finditer(line)]


def _same(printed: str, target: str) -> bool:
    """A printed URL (perhaps cut at a line's end) is where the link goes."""
    bare = re.sub(r"^https?://", "", target)
    return target.startswith(printed) or bare.startswith(printed)


def test_every_printed_url_is_a_link_to_what_it_prints(rendered: list[Rendered]) -> None:
    bad = []
    seen = 0
    for letter in rendered:
        targets = letter.link_targets
        for printed in _line_urls("\n".join(letter.pages)):
            seen += 1
            if not any(_same(printed, t) for t in targets):
                bad.append(f"{letter.name}: {printed} (links: {sorted(set(targets))})")
    assert seen > 100
    assert bad == []


class _BareUrls(HTMLParser):
    """The URLs of an HTML body's text that are not inside a link."""

    def __init__(self) -> None:
        super().__init__()
        self.links = 0
        self.skip = 0
        self.body = False
        self.bare: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.body = self.body or tag == "body"
        self.links += tag == "a"
        self.skip += tag in ("style", "script", "title")

    def handle_endtag(self, tag: str) -> None:
        self.links -= tag == "a"
        self.skip -= tag in ("style", "script", "title")

    def handle_data(self, data: str) -> None:
        if self.body and not self.links and not self.skip:
            self.bare += URL.findall(data)


def test_no_url_of_the_e_mail_is_left_without_a_link(rendered: list[Rendered]) -> None:
    bad = []
    for letter in rendered:
        parser = _BareUrls()
        parser.feed(letter.part("html"))
        bad += [f"{letter.name}: {url}" for url in parser.bare]
    assert bad == []


def test_a_www_address_links_to_https(rendered: list[Rendered]) -> None:
    wsis = [r for r in rendered if r.sample == "wsis-2021"]
    assert wsis
    for letter in wsis:
        assert 'href="https://www.wsis.org/forum"' in letter.part("html"), letter.name
        assert "https://www.wsis.org/forum" in letter.link_targets, letter.name


def test_no_line_of_a_pdf_ends_with_a_url_scheme(rendered: list[Rendered]) -> None:
    bad = [
        f"{letter.name}: {line!r}"
        for letter in rendered
        for page in letter.pages
        for line in page.splitlines()
        if re.search(r"(?:https?:/?/?|www\.?)$", line.rstrip())
    ]
    assert bad == []


def test_no_line_of_a_pdf_splits_a_range_of_years_or_a_short_reference(
    rendered: list[Rendered],
) -> None:
    bad = [
        f"{letter.name}: {line!r}"
        for letter in rendered
        for page in letter.pages
        for line in page.splitlines()
        if re.search(r"(?:\b[0-9]{1,4}–|\b[A-Z][A-Z0-9-]*/)$", line.rstrip())
    ]
    assert bad == []


def test_no_non_breaking_hyphen_outside_the_pdf(rendered: list[Rendered]) -> None:
    bad = []
    for letter in rendered:
        for where, text in (
            ("Subject", str(letter.message["Subject"])),
            ("text part", letter.part("plain")),
            ("HTML part", letter.part("html")),
            ("file name", letter.stem.name),
        ):
            if "\u2011" in text:
                bad.append(f"{letter.name}: {where}")
        for part in letter.message.iter_attachments():
            if "\u2011" in (part.get_filename() or ""):
                bad.append(f"{letter.name}: attachment {part.get_filename()}")
    assert bad == []


def test_every_message_has_a_reply_to(rendered: list[Rendered]) -> None:
    assert [r.name for r in rendered if not r.message["Reply-To"]] == []


def test_every_english_closing_agrees_with_its_salutation(rendered: list[Rendered]) -> None:
    bad = []
    english = [r for r in rendered if r.lang == "en"]
    assert english
    for letter in english:
        text = letter.part("plain")
        salutation = next(line for line in text.splitlines() if line.startswith("Dear "))
        unnamed = re.match(r"Dear (Sir|Madam|Sirs|Colleague)", salutation)
        closing = "Yours faithfully," if unnamed else "Yours sincerely,"
        wrong = "Yours sincerely," if unnamed else "Yours faithfully,"
        if closing not in text or wrong in text:
            bad.append(f"{letter.name}: {salutation!r}")
    assert bad == []


def test_the_text_part_opens_with_the_organisation_and_the_unit(
    rendered: list[Rendered],
) -> None:
    for letter in rendered:
        lines = [line for line in letter.part("plain").splitlines() if line.strip()]
        assert lines[0] == ORGANISATION[letter.lang], letter.name
        if letter.sample != "wsis-2021":  # a joint letter: no unit
            assert not lines[1].startswith(("Réf", "Ref", "Genève", "Geneva")), letter.name


class _Footer(HTMLParser):
    """The footer's text, as a client that drops every style shows it."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.depth or "letterhead-footer" in classes:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


def test_the_footer_of_the_html_part_has_a_separator_between_its_items(
    rendered: list[Rendered],
) -> None:
    for letter in rendered:
        parser = _Footer()
        parser.feed(letter.part("html"))
        footer = re.sub(r"\s+", " ", "".join(parser.text)).strip()
        assert footer, letter.name
        # the address, the telephone and the e-mail: never run together
        assert re.search(r"(Suisse|Switzerland) · (Tél|Tel)", footer), (letter.name, footer)
        assert re.search(r"01 00 · (Courriel|E-mail)", footer), (letter.name, footer)


def test_bdt_dir_105_has_the_programme_annex_it_announces(rendered: list[Rendered]) -> None:
    letters = [r for r in rendered if r.sample == "bdt-dir-105"]
    assert letters
    for letter in letters:
        annex = {"fr": "Programme préliminaire", "en": "Preliminary programme"}[letter.lang]
        pages = [p for p in letter.pages if annex in p]
        assert pages, letter.name
        assert re.search(r"^Annexe? 1$", pages[-1], re.MULTILINE), letter.name
        assert ("8 h 30" if letter.lang == "fr" else "08:30") in pages[-1], letter.name


def test_the_english_bdt_dir_105_says_its_reference_once(rendered: list[Rendered]) -> None:
    english = [r for r in rendered if r.sample == "bdt-dir-105" and r.lang == "en"]
    assert english
    for letter in english:
        text = letter.part("plain")
        assert "Circular BDT/DIR/105" in text, letter.name
        assert "BDT Circular BDT" not in text + "".join(letter.pages), letter.name
