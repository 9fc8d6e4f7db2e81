"""The distinct letter: one rendering, its PDF and MIME content made once per key."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatch.compose import Composer
from dispatch.distinct import DistinctLetter, DistinctStore, content_key
from dispatch.pdf import PdfRenderer
from dispatch.prepare import prepare
from tests.conftest import WorkbookFactory, no_copy, person

MakeMailing = Callable[..., Path]
WHEN = datetime(2021, 10, 13, 9, 0, tzinfo=UTC)


def _letters() -> list[DistinctLetter]:
    return [
        DistinctLetter(
            lang,
            "Invitation",
            f'<html lang="{lang}"><body><p class="salutation">{greeting}</p></body></html>',
            greeting,
        )
        for lang, greeting in [
            ("fr", "Madame, Monsieur,"),
            ("fr", "Monsieur le Ministre,"),
            ("en", "Dear Sir or Madam,"),
            ("en", "Excellency,"),
        ]
    ]


def test_each_distinct_letter_is_rendered_to_pdf_once() -> None:
    """10 000 addressees sharing 4 letters cost 4 renders; here 2 000 share 4."""
    renderer, store = PdfRenderer(), DistinctStore()
    letters = _letters()
    outputs = [
        store.get(letters[i % 4], "pdf", lambda i=i: renderer.render(letters[i % 4].html))
        for i in range(2000)
    ]
    assert renderer.renders == 4
    assert store.made["pdf"] == 4
    assert store.hits["pdf"] == 1996
    assert outputs[0] is outputs[4]
    assert len({id(pdf) for pdf in outputs}) == 4
    assert all(pdf.startswith(b"%PDF-") for pdf in outputs[:4])


def test_equal_renderings_have_one_key_whatever_their_objects() -> None:
    a = DistinctLetter("fr", "Objet", "<p>Madame,</p>", "Madame,")
    b = DistinctLetter("fr", "Objet", "".join(["<p>Madame,", "</p>"]), "Madame,")
    assert a is not b and a.key == b.key == content_key("fr", "Objet", "Madame,", "<p>Madame,</p>")
    assert DistinctLetter("en", "Objet", "<p>Madame,</p>", "Madame,").key != a.key


def test_the_store_keeps_only_the_most_recent_artefacts() -> None:
    store = DistinctStore(max_kept=2)
    a, b, c = (
        DistinctLetter("fr", word, f"<p>{word}</p>", word) for word in ("un", "deux", "trois")
    )
    for letter in (a, b, a, c, a, b):
        store.get(letter, "pdf", lambda letter=letter: letter.html.encode())
    # a, b made; a reused; c evicts b; a reused; b made again.
    assert store.made["pdf"] == 4
    assert store.hits["pdf"] == 2


def test_kinds_of_one_letter_are_kept_apart() -> None:
    store = DistinctStore()
    letter = _letters()[0]
    assert store.get(letter, "pdf", lambda: b"%PDF-") == b"%PDF-"
    assert store.get(letter, "content", lambda: b"MIME") == b"MIME"
    assert store.made == {"pdf": 1, "content": 1}


def test_a_store_keeps_at_least_one_artefact() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DistinctStore(max_kept=0)


def test_2000_addressees_sharing_4_letters_share_4_renderings_pdfs_and_contents(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    people = [
        person(
            f"p{i:04d}@example.org",
            language="fr" if i % 2 else "en",
            salutation="Monsieur le Ministre" if i % 4 < 2 else "",
        )
        for i in range(2000)
    ]
    prepared = prepare(make_mailing(no_copy()), contacts_path=make_workbook(people))
    assert len({id(letter.distinct) for letter in prepared.letters}) == 4
    composer = Composer(prepared, when=WHEN)
    messages = [composer.message_bytes(letter) for letter in prepared.letters]
    assert composer.pdf_renderer.renders == 4
    assert composer.store.made == {"pdf": 4, "content": 4}
    # the shared content is the same bytes for each addressee of a distinct letter
    first, fifth = (
        email.message_from_bytes(m, policy=email.policy.default) for m in (messages[0], messages[4])
    )
    assert first["To"] != fifth["To"]
    assert first.get_body(("plain",)).get_content() == fifth.get_body(("plain",)).get_content()


def test_the_message_bytes_are_the_same_from_one_run_to_the_next(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing, workbook = make_mailing(), make_workbook()

    def run() -> list[bytes]:
        prepared = prepare(mailing, contacts_path=workbook)
        composer = Composer(prepared, when=WHEN)
        return [composer.message_bytes(letter) for letter in prepared.letters]

    assert run() == run()
