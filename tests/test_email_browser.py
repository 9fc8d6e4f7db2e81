"""The e-mail as a person sees it: its HTML part in a real browser, on a phone's width.

Debian's chromium (installed by scripts/system-deps.sh), driven by Playwright's Python
API with ``executable_path``: no browser is downloaded. The page is opened as a mail
client opens it, offline (every request is refused), at 390 px wide (a phone), in light
and in dark mode.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from dispatch.compose import Composer
from dispatch.email_html import email_html
from dispatch.prepare import prepare
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
PHONE = 390
WHEN = datetime(2021, 10, 13, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), "chromium is missing: run scripts/system-deps.sh"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def message() -> EmailMessage:
    """The French message of the sample tsb-352 to Zoé Lefèvre, as ``send`` sends it."""
    prepared = prepare(ROOT / "mailings" / "tsb-352", contacts_path=ROOT / "contacts.xlsx")
    letter = next(x for x in prepared.letters if x.addressee.email.startswith("zoe.lefevre"))
    raw = Composer(prepared, when=WHEN, attach_pdf=False).message_bytes(letter)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _offline(route: Route) -> None:
    route.abort()  # a mail client shows the message without fetching anything


Scheme = Literal["light", "dark"]


def open_html(browser: Browser, message: EmailMessage, scheme: Scheme) -> Page:
    part = message.get_body(("html",))
    assert part is not None
    page = browser.new_page(viewport={"width": PHONE, "height": 900}, color_scheme=scheme)
    page.route("**/*", _offline)
    page.set_content(part.get_content())
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_html_part_fits_a_phone_and_shows_the_whole_letter(
    browser: Browser, message: EmailMessage, scheme: Scheme, tmp_path: Path
) -> None:
    page = open_html(browser, message, scheme)
    assert page.evaluate("window.innerWidth") == PHONE
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    text = " ".join(page.inner_text("body").split())
    for words in (
        "Objet : Sixième réunion de l’initiative",
        "Madame, Monsieur,",
        "Chaesub Lee",
        "https://www.itu.int/en/ITU-T/ssc/united/Pages/202112/meeting.aspx",
    ):
        assert words in text, words
    page.screenshot(path=str(tmp_path / f"phone-{scheme}.png"), full_page=True)
    page.close()


def _luminance(rgb: str) -> float:
    red, green, blue = (int(v) for v in rgb.removeprefix("rgb(").rstrip(")").split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_in_dark_mode_the_text_is_light_and_nothing_paints_a_white_background(
    browser: Browser, message: EmailMessage
) -> None:
    page = open_html(browser, message, "dark")
    assert _luminance(page.evaluate("getComputedStyle(document.body).color")) > 0.8
    backgrounds = page.evaluate(
        "[...document.querySelectorAll('*')].map(e => getComputedStyle(e).backgroundColor)"
        ".filter(c => c !== 'rgba(0, 0, 0, 0)')"
    )
    assert backgrounds == []  # the client's own (dark) background shows through
    page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_links_look_like_links(browser: Browser, message: EmailMessage, scheme: Scheme) -> None:
    page = open_html(browser, message, scheme)
    styles = page.evaluate(
        "[...document.querySelectorAll('a[href]')].map(a => {const s = getComputedStyle(a);"
        " return [s.textDecorationLine, s.color]})"
    )
    body = page.evaluate("getComputedStyle(document.body).color")
    assert styles
    for decoration, color in styles:
        assert decoration == "underline"
        assert color != body
        # Readable on the page's background: dark links on light, light links on dark.
        assert (_luminance(color) < 0.5) == (scheme == "light"), color
    page.close()


def test_a_long_url_or_word_wraps_instead_of_widening_the_page(browser: Browser) -> None:
    url = "https://www.itu.int/net4/CRM/xreg/web/Registration.aspx?Event=C-00009012&" + "x" * 120
    letter = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>t</title></head>'
        f'<body><article class="letter"><p>Inscription : <a href="{url}">{url}</a></p>'
        f"<p>{'Télécommunications' * 12}</p></article></body></html>"
    )
    page = browser.new_page(viewport={"width": PHONE, "height": 900})
    page.route("**/*", _offline)
    page.set_content(email_html(letter))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    assert url in page.inner_text("body").replace("\n", "")
    page.close()


_BESIDE = """(label) => {
    const norm = (s) => s.replace(/\\s+/g, " ").trim();
    const el = [...document.querySelectorAll("body *")].find(
        (e) => e.children.length === 0 && norm(e.textContent) === label
    );
    if (!el) return null;
    const value = el.nextElementSibling;
    const a = el.getBoundingClientRect(), b = value.getBoundingClientRect();
    return {sameLine: Math.abs(a.top - b.top) < 3, after: b.left >= a.right};
}"""


@pytest.mark.parametrize("styled", [True, False], ids=["styled", "every-style-removed"])
def test_the_html_part_reads_right_with_or_without_its_styles(
    browser: Browser, message: EmailMessage, styled: bool
) -> None:
    """Outlook's Word engine ignores floats and many clients drop <style>: the layout is
    tables and inline styles, the footer's separators are text."""
    part = message.get_body(("html",))
    assert part is not None
    html = part.get_content()
    if not styled:
        html = re.sub(r"<style\b.*?</style\s*>", "", html, flags=re.DOTALL | re.IGNORECASE)
        assert "<style" not in html
    page = browser.new_page(viewport={"width": PHONE, "height": 900})
    page.route("**/*", _offline)
    page.set_content(html)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    footer = " ".join(page.inner_text("footer").split())
    assert footer == (
        "Place des Nations, 1211 Genève 20, Suisse · Tél. : +41 22 555 01 00 · "
        "Courriel : secretariat@example.org"
    )
    for label in ("Réf. :", "Tél. :", "Courriel :", "1", "2"):
        found = page.evaluate(_BESIDE, label)
        assert found == {"sameLine": True, "after": True}, label
    page.close()
