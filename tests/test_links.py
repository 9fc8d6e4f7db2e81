"""Web addresses and list labels in a letter: every printed address a link, a ``www.``
address linked to ``https://``, and a list whose items carry their own labels shown
without a bullet besides (in HTML, in the PDF and in the text part)."""

from __future__ import annotations

import doctest

import pytest

import dispatch.links
from dispatch.links import link_bare_urls
from dispatch.markdown import to_html, to_text
from dispatch.pdf import print_html

BARE = [
    (
        "à l'adresse https://www.itu.int/en/ITU-T/ssc/Pages/default.aspx.",
        'à l\'adresse <a href="https://www.itu.int/en/ITU-T/ssc/Pages/default.aspx">'
        "https://www.itu.int/en/ITU-T/ssc/Pages/default.aspx</a>.",
    ),
    (
        "sur le site www.wsis.org/forum. Nous",
        'sur le site <a href="https://www.wsis.org/forum">www.wsis.org/forum</a>. Nous',
    ),
    ("(http://x.org/a), b", '(<a href="http://x.org/a">http://x.org/a</a>), b'),
    ('<a href="https://x.org">https://x.org</a>', '<a href="https://x.org">https://x.org</a>'),
    ("<strong>www.x.org</strong>", '<strong><a href="https://www.x.org">www.x.org</a></strong>'),
    ("ecrire à info@www.x.org", "ecrire à info@www.x.org"),
]


@pytest.mark.parametrize(("body", "expected"), BARE, ids=[b[0][:30] for b in BARE])
def test_a_bare_address_becomes_a_link_to_itself(body: str, expected: str) -> None:
    html = f"<html><head><title>https://t.org</title></head><body><p>{body}</p></body></html>"
    assert link_bare_urls(html) == html.replace(body, expected)


def test_the_head_is_left_alone_and_linking_is_idempotent() -> None:
    html = "<html><head><title>www.t.org</title></head><body>www.b.org</body></html>"
    once = link_bare_urls(html)
    assert "<title>www.t.org</title>" in once
    assert link_bare_urls(once) == once


def test_a_www_address_typed_in_markdown_links_to_https() -> None:
    assert to_html("see www.x.org/a") == '<p>see <a href="https://www.x.org/a">www.x.org/a</a></p>'
    assert 'href="http://y.org"' in to_html("and http://y.org")


def test_on_paper_a_www_address_keeps_its_host_on_one_line() -> None:
    printed = print_html('<body><a href="https://www.wsis.org/forum">www.wsis.org/forum</a></body>')
    assert '<span class="url-head">www.wsis.org</span>/forum' in printed
    assert "link-note" not in printed  # its words are its address: no footnote


AGENDA = """4. Report:
    - a) Plenipotentiary Conference
    - b) Radiocommunication Assembly

- a bullet
- another"""


def test_a_list_whose_items_carry_their_own_labels_has_no_bullet() -> None:
    html = to_html(AGENDA)
    assert '<ul class="labelled" style="list-style-type: none' in html
    assert html.count("<ul>") == 1  # the plain list keeps its bullets
    text = to_text(AGENDA)
    assert "• a)" not in text and "a) Plenipotentiary Conference" in text
    assert "• a bullet" in text


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(dispatch.links).failed == 0


def test_an_address_in_a_workbook_value_stays_text() -> None:
    html = "<body><p>Pour [click here](https://evil.example/login) : https://itu.int/x</p></body>"
    linked = link_bare_urls(html, ["[click here](https://evil.example/login)"])
    assert 'href="https://evil.example/login"' not in linked
    assert '<a href="https://itu.int/x">' in linked
