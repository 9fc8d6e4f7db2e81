"""The Arabic and Chinese letters of the six-language sample in a real browser (issue 23,
item 6): the e-mail's HTML part as a mail client shows it, in Debian's chromium (headless,
driven by Playwright with ``executable_path``: nothing downloaded), offline.

What a reader sees: the letter's language (``lang``), its direction as the browser
computes it (right to left for Arabic), its text in its own script, drawn by a font of
that script (the fonts chromium used, from the DevTools protocol: no fallback box), and
its date line."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from dispatch.compose import Composer
from dispatch.prepare import prepare
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SAMPLE = ROOT / "mailings" / "tsb-352-six"
WHEN = datetime(2021, 10, 13, 9, 0, tzinfo=UTC)

#: language: (direction, its script, its date line, the fonts that may draw it)
SEEN = {
    "ar": ("rtl", r"[\u0600-\u06ff]", "جنيف، 13 أكتوبر 2021", ("Noto Naskh Arabic", "Amiri")),
    "zh": ("ltr", r"[\u4e00-\u9fff]", "日内瓦，2021年10月13日", ("Noto Serif CJK", "Noto Sans CJ")),
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), "chromium is missing: run scripts/system-deps.sh"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def messages() -> dict[str, EmailMessage]:
    """The sample's Arabic and Chinese messages, as ``send`` sends them."""
    prepared = prepare(SAMPLE)
    composer = Composer(prepared, when=WHEN, attach_pdf=False)
    found: dict[str, EmailMessage] = {}
    for lang in SEEN:
        letter = next(x for x in prepared.letters if x.lang == lang and not x.copy)
        parsed = email.message_from_bytes(
            composer.message_bytes(letter), policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        found[lang] = parsed
    return found


def _offline(route: Route) -> None:
    route.abort()


def _open(browser: Browser, message: EmailMessage) -> Page:
    part = message.get_body(("html",))
    assert part is not None
    page = browser.new_page(viewport={"width": 800, "height": 1200})
    page.route("**/*", _offline)
    page.set_content(part.get_content())  # type: ignore[attr-defined]
    return page


def _fonts_drawing(page: Page, selector: str) -> dict[str, int]:
    """The fonts chromium drew the text of ``selector``'s elements with, and their glyphs."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root: Any = cdp.send("DOM.getDocument", {"depth": -1})
    nodes: Any = cdp.send(
        "DOM.querySelectorAll", {"nodeId": root["root"]["nodeId"], "selector": selector}
    )
    used: dict[str, int] = {}
    for node in nodes["nodeIds"]:
        fonts: Any = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})
        for font in fonts["fonts"]:
            used[font["familyName"]] = used.get(font["familyName"], 0) + font["glyphCount"]
    cdp.detach()
    return used


@pytest.mark.parametrize("lang", list(SEEN))
def test_the_letter_is_seen_in_its_language_direction_script_and_date(
    browser: Browser, messages: dict[str, EmailMessage], lang: str, tmp_path: Path
) -> None:
    direction, script, date_line, fonts = SEEN[lang]
    page = _open(browser, messages[lang])
    letter = page.locator(".letter")
    assert page.evaluate("document.documentElement.lang") == lang
    assert letter.evaluate("e => e.closest('[lang]').lang") == lang
    assert letter.evaluate("e => getComputedStyle(e).direction") == direction
    assert page.evaluate("getComputedStyle(document.body).direction") == direction
    text = letter.inner_text()
    assert len(re.findall(script, text)) > 200, "the letter is not in its script"
    assert date_line in " ".join(text.split())
    used = _fonts_drawing(page, ".letter p")
    drawn = sum(count for family, count in used.items() if family.startswith(fonts))
    assert drawn > 200, used  # its script drawn by its fonts, not a fallback
    page.screenshot(path=str(tmp_path / f"{lang}.png"), full_page=True)
    page.close()


def test_numbers_and_latin_names_keep_their_direction_in_the_arabic_letter(
    browser: Browser, messages: dict[str, EmailMessage]
) -> None:
    page = _open(browser, messages["ar"])
    isolated = page.evaluate(
        "[...document.querySelectorAll('.letter bdi[dir=ltr]')]"
        ".map(e => [getComputedStyle(e).direction, e.innerText])"
    )
    assert isolated, "no left-to-right run is isolated"
    assert all(direction == "ltr" for direction, _ in isolated)
    assert any("+41 22 730" in text for _, text in isolated)
    page.close()
