"""The message of a letter: headers, parts, and the fast path that shares the content."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from dispatch.compose import Composer
from dispatch.flowed import unflow
from dispatch.prepare import prepare
from tests.conftest import MINIMAL_MAILING, WorkbookFactory, no_copy, person

MakeMailing = Callable[..., Path]
WHEN = datetime(2021, 10, 13, 9, 0, tzinfo=UTC)


def test_shared_content_gives_the_same_message_as_building_it_whole(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    prepared = prepare(
        make_mailing(no_copy()),
        contacts_path=make_workbook(
            [
                person("a@example.org", first_name="Zoé", last_name="Lefèvre", cc="c@example.org"),
                person("b@example.org", first_name="Ann", last_name="O'Neill"),
            ]
        ),
    )
    composer = Composer(prepared, when=WHEN)
    for letter in prepared.letters:
        whole = email.message_from_bytes(
            composer.message(letter).as_bytes(), policy=email.policy.default
        )
        fast = email.message_from_bytes(composer.message_bytes(letter), policy=email.policy.default)
        for header in ("From", "To", "Cc", "Subject", "Date", "Message-ID", "Content-Language"):
            assert fast[header] == whole[header], header
        assert fast.get_content_type() == whole.get_content_type() == "multipart/mixed"
        whole_parts = [
            (p.get_content_type(), p.get_content()) for p in whole.walk() if not p.is_multipart()
        ]
        fast_parts = [
            (p.get_content_type(), p.get_content()) for p in fast.walk() if not p.is_multipart()
        ]
        assert fast_parts == whole_parts


def test_the_eml_bytes_are_the_same_on_every_run_but_for_the_date(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    runs = []
    for _ in range(2):
        prepared = prepare(mailing, contacts_path=workbook)
        composer = Composer(prepared, when=WHEN)
        runs.append([composer.message_bytes(letter) for letter in prepared.letters])
    assert runs[0] == runs[1]


def test_personal_headers_differ_and_content_is_shared(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    prepared = prepare(
        make_mailing(no_copy()),
        contacts_path=make_workbook([person(f"p{i}@example.org") for i in range(3)]),
    )
    composer = Composer(prepared, when=WHEN)
    messages = [composer.message_bytes(letter) for letter in prepared.letters]
    bodies = {m.partition(b"\r\nMIME-Version")[2] for m in messages}
    assert len(bodies) == 1
    assert len({email.message_from_bytes(m)["Message-ID"] for m in messages}) == 3


def test_a_french_subject_comes_back_unchanged_after_sending(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    text = MINIMAL_MAILING.replace(
        'fr = "Sixième réunion de l\'initiative U4SSC ({{ event.start | date }})"',
        'fr = "Sixième réunion de l\'initiative \\"Tous unis pour des villes intelligentes et '
        'durables\\" (réunion virtuelle, {{ event.start | date }})"',
    )
    prepared = prepare(make_mailing(text), contacts_path=make_workbook())
    composer = Composer(prepared, when=WHEN)
    letter = next(x for x in prepared.letters if x.lang == "fr")
    assert "durables\u202f» (réunion" in letter.subject
    for raw in (composer.message_bytes(letter), composer.message(letter).as_bytes()):
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert parsed["Subject"] == letter.subject


def test_letters_sharing_a_rendering_share_content_and_no_letter_gets_anothers(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    # Interleaved languages and salutations: the content cache is found by the letters'
    # shared strings; each message must equal one built by a composer with no cache.
    people = [
        person(
            f"p{i:02d}@example.org",
            language="fr" if i % 2 else "en",
            salutation="Monsieur le Ministre" if i % 3 == 0 else "",
        )
        for i in range(12)
    ]
    prepared = prepare(make_mailing(no_copy()), contacts_path=make_workbook(people))
    shared = Composer(prepared, when=WHEN)
    messages = [shared.message_bytes(letter) for letter in prepared.letters]
    for letter, message in zip(prepared.letters, messages, strict=True):
        assert message == Composer(prepared, when=WHEN).message_bytes(letter)
    bodies = {m.split(b"\r\n\r\n", 1)[1] for m in messages}
    assert len(bodies) == prepared.distinct_letters == 4


def test_both_ways_of_building_a_message_write_the_same_header_lines(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    long_name = "Jean-Baptiste Étienne de La Rochefoucauld-Liancourt, Ministre d'État"
    prepared = prepare(
        make_mailing(no_copy()),
        contacts_path=make_workbook([person("a@example.org", first_name=long_name)]),
    )
    composer = Composer(prepared, when=WHEN)
    for letter in prepared.letters:
        fast = composer.message_bytes(letter).split(b"\r\nMIME-Version:")[0]
        whole = composer.message(letter).as_bytes().split(b"\r\nMIME-Version:")[0]
        assert fast == whole
        assert max(len(line) for line in fast.split(b"\r\n")) <= 78


def test_a_32767_character_name_no_longer_makes_a_32_kb_header_line(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    name = ("Zoé " * 8192)[:32767]
    prepared = prepare(
        make_mailing(no_copy()),
        contacts_path=make_workbook([person("zoe@example.org", first_name=name, last_name="")]),
    )
    letter = prepared.letters[0]
    raw = Composer(prepared, when=WHEN, attach_pdf=False).message_bytes(letter)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == "zoe@example.org"
    assert not parsed["To"].defects


def test_the_text_part_is_flowed_and_reads_back_as_the_letter(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(make_mailing(), contacts_path=make_workbook())
    composer = Composer(prepared, when=WHEN, attach_pdf=False)
    for letter in prepared.letters:
        parsed = email.message_from_bytes(
            composer.message_bytes(letter), policy=email.policy.default
        )
        part = parsed.get_body(("plain",))
        assert part is not None
        assert part["Content-Type"].params == {
            "charset": "utf-8",
            "format": "flowed",
            "delsp": "no",
        }
        text = part.get_content()
        assert all(len(line) <= 78 or " " not in line.strip(" ") for line in text.splitlines())
        expected = "\n".join(line.rstrip(" ") for line in letter.text.split("\n"))
        assert unflow(text.replace("\r\n", "\n")).rstrip("\n") == expected.rstrip("\n")


def test_the_calendar_part_says_its_charset_and_method(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(make_mailing(), contacts_path=make_workbook())
    composer = Composer(prepared, when=WHEN, attach_pdf=False)
    letter = next(x for x in prepared.letters if x.lang == "fr")
    parsed = email.message_from_bytes(composer.message_bytes(letter), policy=email.policy.default)
    calendar = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_content_charset() == "utf-8"
    assert calendar.get_param("method") == "PUBLISH"
    assert calendar.get_filename() == composer.ics_name("fr")
    assert "Réf.\u00a0:" in calendar.get_content()  # read as UTF-8, not as "R��f."


def test_the_html_part_is_email_html_not_the_print_letter(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(make_mailing(), contacts_path=make_workbook())
    letter = prepared.letters[0]
    parsed = email.message_from_bytes(
        Composer(prepared, when=WHEN, attach_pdf=False).message_bytes(letter),
        policy=email.policy.default,
    )
    part = parsed.get_body(("html",))
    assert part is not None
    html = part.get_content()
    assert "@page" not in html and "<!--" not in html
    assert 'name="color-scheme" content="light dark"' in html
    assert re.search(r'<p[^>]* style="[^"]*margin', html)  # the e-mail style, inlined


def _reply_to(mailing: Path, workbook: Path) -> list[str]:
    prepared = prepare(mailing, contacts_path=workbook)
    composer = Composer(prepared, when=WHEN)
    return [
        str(email.message_from_bytes(composer.message_bytes(letter))["Reply-To"])
        for letter in prepared.letters
    ]


def test_replies_go_to_the_contact_the_letter_names_not_the_sender(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    # MINIMAL_MAILING sends from tsb@example.org and names u4ssc@example.org as contact
    assert set(_reply_to(make_mailing(), make_workbook())) == {"u4ssc@example.org"}


def test_sender_reply_to_overrides_the_contact(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    text = MINIMAL_MAILING.replace(
        'email = "tsb@example.org"', 'email = "tsb@example.org"\nreply_to = "desk@example.org"'
    )
    assert set(_reply_to(make_mailing(text), make_workbook())) == {"desk@example.org"}


def test_without_contact_address_or_reply_to_there_is_no_reply_to(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    text = MINIMAL_MAILING.replace('email = "u4ssc@example.org"\n', "")
    assert set(_reply_to(make_mailing(text), make_workbook())) == {"None"}
