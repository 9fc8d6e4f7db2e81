"""The preview in a real browser (Debian's chromium, headless, driven by Playwright).

At 10 000 letters from a real workbook: the index stays light, the search box and the
filters narrow the list, the summary links open their filtered view, and a letter's page
links back to the index, to its files and to the same letter in the other language.
"""

from __future__ import annotations

import shutil
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from openpyxl import Workbook
from playwright.sync_api import Browser, Page, expect, sync_playwright

from dispatch.numbers import number
from dispatch.output import render_files
from dispatch.prepare import Prepared, prepare
from dispatch.preview import PAGE_SIZE, write_index
from tests.conftest import CATEGORIES, HEADERS, MINIMAL_MAILING, person

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LETTERS = 10_000
TEN_THOUSAND = "10\u00a0000"  # as every output writes it (dispatch.numbers)


def write_people(path: Path, count: int) -> None:
    """A real workbook of ``count`` addressees: two in three French, some in copy (SGC)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(HEADERS)
    for i in range(count):
        categories = (
            "SGC" if i % 10 == 3 else "AC" if i % 7 == 0 else "MS; SGC" if i % 50 == 1 else "MS"
        )
        row = person(
            f"person{i:05}@example.org",
            first_name=["Anne", "Jean", "Zoë", "Mei", "Omar"][i % 5],
            last_name=f"Nom{i:05}",
            organisation=f"Organisation {i % 400:03}",
            categories=categories,
            language="en" if i % 3 == 0 else "fr",
            salutation="Madame la Ministre" if i % 11 == 0 else "",
        )
        sheet.append([row[h] for h in HEADERS])
    cats = book.create_sheet("Categories")
    for line in CATEGORIES:
        cats.append(list(line))
    book.save(path)


def build(folder: Path, count: int, formats: list[str]) -> tuple[Prepared, Path, float]:
    mailing = folder / "mailings" / "big" / "mailing.toml"
    mailing.parent.mkdir(parents=True)
    mailing.write_text(textwrap.dedent(MINIMAL_MAILING), encoding="utf-8")
    workbook = folder / "contacts.xlsx"
    write_people(workbook, count)
    prepared = prepare(mailing, contacts_path=workbook)
    out = folder / "preview"
    render_files(prepared, out, formats)
    start = time.perf_counter()
    write_index(prepared, out, formats)
    return prepared, out, time.perf_counter() - start


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Prepared, Path, float]:
    """10 000 letters rendered for real (HTML only: .eml and PDF at this size take minutes)."""
    return build(tmp_path_factory.mktemp("big"), LETTERS, ["html"])


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Prepared, Path, float]:
    """A few letters with every linked format, to follow a letter page's links."""
    return build(tmp_path_factory.mktemp("small"), 6, ["html", "pdf", "eml"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Offline: any request that is not a file of the preview folder fails the test.
    outside: list[str] = []
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("file://")
            else (outside.append(route.request.url), route.abort())
        ),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors
    assert not outside, outside


def count_text(page: Page) -> str:
    return page.locator("#count").inner_text()


def local_file(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


def test_the_index_of_10000_letters_is_light_and_shows_a_page_at_a_time(
    big: tuple[Prepared, Path, float], page: Page
) -> None:
    prepared, out, seconds = big
    assert len(prepared.letters) == LETTERS
    assert (out / "index.html").stat().st_size < 50_000
    assert seconds < 20  # the preview itself, besides the letters
    start = time.perf_counter()
    page.goto((out / "index.html").as_uri())
    page.wait_for_selector("#filters:not([hidden])")
    assert time.perf_counter() - start < 5
    assert page.locator("#rows tr").count() == PAGE_SIZE
    assert count_text(page) == f"Letters 1–{PAGE_SIZE} of {TEN_THOUSAND}"
    page.click("#next")
    assert count_text(page) == f"Letters {PAGE_SIZE + 1}–{2 * PAGE_SIZE} of {TEN_THOUSAND}"
    assert "page=2" in page.url


def test_typing_in_the_search_box_narrows_the_list(
    big: tuple[Prepared, Path, float], page: Page
) -> None:
    _, out, _ = big
    page.goto((out / "index.html").as_uri())
    page.fill("#q", "nom01234")
    assert count_text(page) == f"Letters 1–1 of 1 (filtered from {TEN_THOUSAND})"
    assert "person01234@example.org" in page.locator("#rows").inner_text()
    page.fill("#q", "zoe organisation 007")  # accents folded, every word must match
    rows = page.locator("#rows tr")
    assert 0 < rows.count() < 100
    for text in rows.all_inner_texts():
        assert "Zoë" in text and "007" in text
    page.fill("#q", "madame la ministre")  # the salutation is searched too
    ministers = sum(1 for i in range(LETTERS) if i % 11 == 0)
    assert count_text(page).endswith(f"of {number(ministers)} (filtered from {TEN_THOUSAND})")
    page.fill("#q", "nobody-at-all")
    assert count_text(page) == f"No letter matches (filtered from {TEN_THOUSAND})."


def test_the_category_and_language_filters_narrow_the_list(
    big: tuple[Prepared, Path, float], page: Page
) -> None:
    prepared, out, _ = big
    counts = prepared.counts()
    page.goto((out / "index.html").as_uri())
    page.select_option("#cat", "SGC")
    sgc = counts[("fr", "SGC")] + counts[("en", "SGC")]
    assert (
        count_text(page) == f"Letters 1–{PAGE_SIZE} of {number(sgc)} (filtered from {TEN_THOUSAND})"
    )
    for text in page.locator("#rows tr").all_inner_texts():
        assert "SGC" in text
    assert page.locator("#rows .cc").count() > 0  # copies are marked
    page.select_option("#lang", "en")
    assert count_text(page).endswith(
        f"of {number(counts[('en', 'SGC')])} (filtered from {TEN_THOUSAND})"
    )
    for row in page.locator("#rows tr").all():
        assert row.locator("td").nth(4).inner_text() == "en"


def test_each_summary_link_opens_its_filtered_view(
    big: tuple[Prepared, Path, float], page: Page
) -> None:
    prepared, out, _ = big
    counts = prepared.counts()
    page.goto((out / "index.html").as_uri())
    links = page.locator("table.summary a")
    assert links.count() == len([k for k, v in counts.items() if v])
    for i in range(links.count()):
        link = links.nth(i)
        code = link.inner_text()
        lang = link.locator("xpath=../../td[1]").inner_text()
        link.click()
        assert page.locator("#cat").input_value() == code
        assert page.locator("#lang").input_value() == lang
        expected = counts[(lang, code)]
        assert count_text(page).startswith(
            f"Letters 1–{min(expected, PAGE_SIZE)} of {number(expected)}"
        )


def test_a_letter_page_links_back_to_its_files_and_to_the_other_language(
    small: tuple[Prepared, Path, float], page: Page
) -> None:
    _, out, _ = small
    page.goto((out / "index.html").as_uri())
    page.select_option("#lang", "fr")
    page.locator("#rows tr a").first.click()
    page.wait_for_selector("#frames iframe")
    assert page.url.split("#")[0].endswith("/letter.html")
    assert page.evaluate("document.documentElement.lang") == "fr"
    letter = page.locator("#frames iframe").first.get_attribute("src")
    assert letter is not None and (out / unquote(letter)).is_file()
    expect(page.frame_locator("#frames iframe").first.locator("html")).to_have_attribute(
        "lang", "fr"
    )
    for name in ("PDF", ".eml"):
        href = page.locator("#files a", has_text=name).get_attribute("href")
        assert href is not None and (out / unquote(href)).is_file(), name

    page.click("#compare")
    frames = page.locator("#frames iframe")
    assert frames.count() == 2
    other = frames.nth(1).get_attribute("src")
    assert other is not None and (out / unquote(other)).is_file()
    expect(page.frame_locator("#frames iframe").nth(1).locator("html")).to_have_attribute(
        "lang", "en"
    )
    assert page.locator("#compare").inner_text() == "Only Français"

    page.click("#next-letter")
    assert page.locator("#frames iframe").count() == 2  # still side by side
    page.click("#back")
    assert page.url.split("#")[0].endswith("/index.html")
    # the filter is kept (set by the index's script once the page has loaded: waited for)
    expect(page.locator("#lang")).to_have_value("fr")
    assert local_file(page.url).is_file()


def test_without_javascript_the_index_shows_the_summary_and_the_first_page(
    big: tuple[Prepared, Path, float], browser: Browser
) -> None:
    _, out, _ = big
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto((out / "index.html").as_uri())
        assert page.locator("#rows tr").count() == PAGE_SIZE
        assert page.locator("table.summary tbody tr").count() >= 4
        assert page.locator("#filters").is_hidden()
        href = page.locator("#rows tr a").first.get_attribute("href")
        assert href is not None and (out / unquote(href)).is_file()
        # The cc mark is on the letters in copy only (write_people: SGC alone, i % 10 == 3).
        rows = page.locator("#rows tr")
        marked = {
            rows.nth(i).locator("small").inner_text(): rows.nth(i).locator(".cc").count() == 1
            for i in range(rows.count())
        }
        assert marked == {email: int(email[6:11]) % 10 == 3 for email in marked}
        assert any(marked.values()) and not all(marked.values())
    finally:
        context.close()


def test_the_folder_opens_anywhere_it_is_copied(
    small: tuple[Prepared, Path, float], browser: Browser, tmp_path: Path
) -> None:
    _, out, _ = small
    moved = shutil.copytree(out, tmp_path / "elsewhere")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto((moved / "index.html").as_uri())
        assert page.locator("#rows tr").count() == 6
    finally:
        context.close()
