"""Composing messages: PDF letters rendered once per distinct letter, annexes, size limit."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from dispatch.compose import Composer, validate_sizes
from dispatch.errors import InvalidInput
from dispatch.message import content_part
from dispatch.prepare import prepare
from tests.conftest import MINIMAL_MAILING, WorkbookFactory, no_copy, person

MakeMailing = Callable[..., Path]
WHEN = datetime(2021, 10, 13, 9, 0, tzinfo=UTC)
ANNEX = """
[[annexes]]
title = { fr = "Programme provisoire", en = "Draft programme" }
file = "programme.pdf"
"""


def test_2000_addressees_sharing_4_distinct_letters_cost_4_pdf_renders(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
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
    assert prepared.distinct_letters == 4
    composer = Composer(prepared, when=WHEN)
    for letter in prepared.letters:
        assert composer.pdf(letter).startswith(b"%PDF")
    assert composer.pdf_renderer.renders == 4


def test_each_message_carries_the_pdf_the_calendar_and_the_annexes(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing = make_mailing(MINIMAL_MAILING + ANNEX, files={"programme.pdf": b"%PDF-1.4 annex"})
    prepared = prepare(mailing, contacts_path=make_workbook())
    composer = Composer(prepared, when=WHEN)
    letter = next(x for x in prepared.letters if x.lang == "fr")
    msg = email.message_from_bytes(composer.message_bytes(letter), policy=email.policy.default)
    parts = {p.get_filename(): p for p in msg.iter_attachments()}
    assert list(parts) == [
        "circulaire-tsb-352_fr.pdf",
        "circulaire-tsb-352_fr.ics",
        "programme.pdf",
    ]
    assert parts["circulaire-tsb-352_fr.ics"].get_content_type() == "text/calendar"
    assert parts["programme.pdf"].get_content() == b"%PDF-1.4 annex"
    assert "Annexe 1 : Programme provisoire" in letter.text.replace("\u00a0", " ")


def test_a_message_above_the_size_limit_names_its_biggest_parts(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    text = MINIMAL_MAILING.replace("numbered = true", "numbered = true\nmax_message_mb = 1")
    mailing = make_mailing(text + ANNEX, files={"programme.pdf": b"x" * 2_000_000})
    prepared = prepare(mailing, contacts_path=make_workbook())
    with pytest.raises(InvalidInput) as caught:
        validate_sizes(Composer(prepared, when=WHEN), prepared.mailing.max_message_mb)
    message = str(caught.value.problems[0])
    assert message.startswith("mailing.toml, field max_message_mb: the message to ")
    assert "above the limit of 1 MB; its biggest parts: programme.pdf (1.9 MB)" in message


def test_an_annex_is_encoded_once_for_every_distinct_letter_that_carries_it(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    annex = bytes(range(256)) * 400  # 100 kB that base64 must encode
    mailing = make_mailing(MINIMAL_MAILING + ANNEX, files={"programme.pdf": annex})
    prepared = prepare(mailing, contacts_path=make_workbook())
    composer = Composer(prepared, when=WHEN)
    fr, en = (next(x for x in prepared.letters if x.lang == lang) for lang in ("fr", "en"))
    assert fr.distinct is not en.distinct
    parts = [
        {p.get_filename(): p for p in content_part(x, composer.attachments(x)).iter_attachments()}
        for x in (fr, en)
    ]
    # One encoded part, shared by both messages...
    assert parts[0]["programme.pdf"] is parts[1]["programme.pdf"]
    # ...written as the email package's own add_attachment writes it.
    reference = EmailMessage(policy=email.policy.SMTP)
    reference.add_attachment(annex, maintype="application", subtype="pdf", filename="programme.pdf")
    expected = next(reference.iter_attachments()).as_bytes(policy=email.policy.SMTP)
    assert parts[0]["programme.pdf"].as_bytes(policy=email.policy.SMTP) == expected
    for letter in (fr, en):
        sent = email.message_from_bytes(composer.message_bytes(letter), policy=email.policy.default)
        carried = {p.get_filename(): p.get_content() for p in sent.iter_attachments()}
        assert carried["programme.pdf"] == annex
