"""Messages every mail client shows well: the e-mail checks of issue 12.

Over every .eml of every sample mailing (rendered by the CLI): text/plain lines of at
most 78 characters, format=flowed; encoded words of at most 75; header lines of at most
998; calendar parts in UTF-8; e-mail HTML without print rules or comments; each message
read by Python's ``email`` without a defect. And the two pieces that make it so, tested
over any input: format=flowed text (:mod:`dispatch.flowed`) and folded headers
(:mod:`dispatch.headers`).
"""

from __future__ import annotations

import email
import email.policy
import re
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.email_html import email_html
from dispatch.flowed import flow, unflow
from dispatch.headers import LINE, WORD, fold, fold_addresses
from tests.conftest import ROOT
from tests.helpers import run

SAMPLES = sorted(p.name for p in (ROOT / "mailings").iterdir() if (p / "mailing.toml").is_file())
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[qQbB]\?[^?\s]*\?=")
URL = "https://www.itu.int/en/ITU-D/Conferences/WTDC/WTDC21/Pages/RPM.aspx?session=2022&lang=fr"

# ---------------------------------------------------------------- format=flowed text

# Text as letters have it, and as hostile as it gets: spaces, no-break spaces, quotes,
# lines starting with "From " or ">", long words and URLs, empty lines.
_WORDS = st.sampled_from(
    ["Madame,", "la", "réunion", "From", ">", ">>", "-- ", "8\u00a0h\u00a030", "«\u202fTous", URL,
     "x" * 90, "", " ", "  ", "é", "CEE-ONU", "[1]"]
)  # fmt: skip
_LINES = st.lists(_WORDS, max_size=40).map(" ".join)
TEXTS = st.lists(_LINES, max_size=8).map("\n".join)


def paragraphs(text: str) -> str:
    """What a flowed reader must give back: each line, less its trailing spaces."""
    return "\n".join(line.rstrip(" ") for line in text.split("\n"))


@given(TEXTS)
def test_flowed_text_reads_back_as_the_same_paragraphs(text: str) -> None:
    assert unflow(flow(text)) == paragraphs(text)


@given(TEXTS)
def test_flowed_lines_are_at_most_78_unless_one_word_is_longer(text: str) -> None:
    for line in flow(text).split("\n"):
        if len(line) > LINE:
            assert " " not in line.strip(" "), line  # one unbreakable word, and its spaces


@given(TEXTS)
def test_flowed_lines_are_stuffed_so_no_reader_sees_a_quote_or_a_from(text: str) -> None:
    for line in flow(text).split("\n"):
        assert not line.startswith((">", "From ")), line
        if line.startswith(" "):
            assert line[1:].startswith((" ", "From ", ">")), line  # stuffed, and why


def test_a_long_url_stays_whole_on_a_line_of_its_own() -> None:
    text = f"Les informations seront communiquées sur la page web de la réunion : {URL}. Ce site"
    lines = flow(text).split("\n")
    assert f"{URL}. " in lines
    assert all(len(line) <= LINE for line in lines if URL not in line)


def test_no_break_spaces_hold_words_together_and_hard_breaks_stay() -> None:
    text = (
        "Réf.\u00a0: TSB 352\nGenève, le 13 octobre 2021\n\n" + "la réunion à 8\u00a0h\u00a030 " * 8
    )
    out = flow(text)
    assert out.startswith("Réf.\u00a0: TSB 352\nGenève, le 13 octobre 2021\n\n")
    assert all("8\u00a0h" not in line or "8\u00a0h\u00a030" in line for line in out.split("\n"))


@pytest.mark.parametrize(
    ("flowed", "text"),
    [
        ("a \nb", "a b"),
        (" From here\n >x", "From here\n>x"),
        ("-- \nsig", "-- \nsig"),  # the signature separator is a hard line
        # Quoted lines join at the same depth only; the space after ">" is stuffing.
        ("> a \n> b\nc", ">a b\nc"),
        ("> a \nb", ">a \nb"),
    ],
    ids=["soft-break", "stuffing", "signature", "quote-depth", "depth-change"],
)
def test_the_flowed_reader_follows_rfc_3676(flowed: str, text: str) -> None:
    assert unflow(flowed) == text


# ---------------------------------------------------------------- folded headers

# Anything a subject or a name may hold once control characters are refused upstream.
VALUES = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029\x85"),
    min_size=1,
    max_size=400,
) | st.sampled_from(
    [
        "Sixième réunion de l'initiative «\u202fTous unis pour des villes intelligentes et "
        "durables\u202f» (réunion virtuelle, 7\u00a0décembre 2021)",
        "O'Neill, Ann",
        '"Dr." Zoé =?utf-8?q?x?= Lefèvre',
        "Son Excellence Monsieur Jean-Baptiste de La Rochefoucauld-Liancourt, Ministre",
        "Жан " * 40,
        "x" * 32767,
    ]
)


def header_lines(raw: str) -> list[str]:
    assert raw.endswith("\r\n")
    return raw[:-2].split("\r\n")


def check_lengths(raw: str, *, longest_token: int) -> None:
    for word in ENCODED_WORD.findall(raw):
        assert len(word) <= WORD, word
    for line in header_lines(raw):
        assert len(line) <= 998, len(line)
        if longest_token + 1 <= LINE:
            assert len(line) <= LINE, line


def parsed(raw: str) -> EmailMessage:
    message = email.message_from_bytes(
        raw.encode("utf-8") + b"\r\nbody\r\n", policy=email.policy.default
    )
    assert isinstance(message, EmailMessage)
    assert not message.defects
    return message


@given(VALUES)
def test_any_subject_folds_into_short_words_and_lines_and_reads_back_exactly(value: str) -> None:
    raw = fold("Subject", value)
    check_lengths(raw, longest_token=0)
    header = parsed(raw)["Subject"]
    assert not header.defects
    assert str(header) == value


def _python_drops_space_between_encoded_words() -> bool:
    """Whether this Python reads a display name as RFC 2047 6.2 says (cpython gh-128110)."""
    raw = "To: =?utf-8?q?a?= =?utf-8?q?b?= <x@example.org>\r\n"
    return bool(parsed(raw)["To"].addresses[0].display_name == "ab")


@given(VALUES, VALUES)
def test_any_display_name_folds_into_short_words_and_lines_and_reads_back_exactly(
    name: str, other: str
) -> None:
    raw = fold_addresses("To", [(name, "zoe.lefevre@example.org"), (other, "b@example.org")])
    check_lengths(raw, longest_token=len("<zoe.lefevre@example.org>,"))
    header = parsed(raw)["To"]
    assert not header.defects
    assert [a.addr_spec for a in header.addresses] == ["zoe.lefevre@example.org", "b@example.org"]
    unfolded = raw[len("To: ") :].replace("\r\n", "")
    for address, value, phrase in zip(
        header.addresses, (name, other), _phrases(unfolded), strict=True
    ):
        if phrase.startswith('"') or not ENCODED_WORD.search(phrase):
            assert address.display_name == value  # plain atoms or a quoted string
            continue
        # As a mail client reads it: whitespace between adjacent encoded words is dropped.
        assert str(make_header(decode_header(phrase))) == value
        if _python_drops_space_between_encoded_words() or not re.search(r"\?=\s+=\?", phrase):
            assert address.display_name == value


def _phrases(unfolded: str) -> list[str]:
    """The display-name part of each ``phrase <address>`` of an unfolded To value."""
    return [m.group(1) for m in re.finditer(r"\s*(.*?) <[^>]+>,?", unfolded)]


def test_a_name_of_32767_characters_no_longer_makes_a_32_kb_line() -> None:
    raw = fold_addresses("To", [("Zoé " * 8191 + "Z", "z@example.org")])
    assert max(len(line) for line in header_lines(raw)) <= LINE
    assert parsed(raw)["To"].addresses[0].addr_spec == "z@example.org"


def test_the_subject_that_lost_a_space_after_a_narrow_no_break_space_keeps_it() -> None:
    # cpython gh-144156: Python's own folder gave "durables »(réunion".
    value = "«\u202fTous unis pour des villes intelligentes et durables\u202f» (réunion virtuelle)"
    assert str(parsed(fold("Subject", value))["Subject"]) == value


def test_a_plain_ascii_subject_stays_readable_and_folds_at_spaces() -> None:
    value = "Invitation to the World Telecommunication Development Conference (WTDC-21) in Kigali"
    raw = fold("Subject", value)
    assert "=?" not in raw
    assert all(len(line) <= LINE for line in header_lines(raw))
    assert str(parsed(raw)["Subject"]) == value


# ---------------------------------------------------------------- e-mail HTML


def test_the_email_html_has_no_print_rules_no_comments_and_inline_style() -> None:
    letter = (
        "<!DOCTYPE html><html lang=fr><head><meta charset=utf-8><title>t</title>"
        "<style>/* WeasyPrint */ @page { size: A4 } p { orphans: 3 }</style></head>"
        '<body><!-- Jinja --><article class="letter"><p title="<!-- not a comment -->">'
        'Voir <a href="https://example.org/">ici</a>.</p></article></body></html>'
    )
    out = email_html(letter)
    assert "@page" not in out and "WeasyPrint" not in out and "orphans" not in out
    assert "<!-- Jinja" not in out
    assert 'title="<!-- not a comment -->"' in out  # an attribute, not a comment
    assert re.search(r'<article class="letter" style="[^"]*max-width: 640px', out)
    assert re.search(r'<a href="https://example.org/" style="[^"]*text-decoration: underline', out)
    assert 'name="color-scheme" content="light dark"' in out
    # Only the @media rules stay in a <style> element.
    styles = re.findall(r"<style>(.*?)</style>", out, re.S)
    assert styles and all(s.strip().startswith("@media") for s in styles)


# ---------------------------------------------------------------- every sample's .eml


@pytest.fixture(scope="module")
def sample_emls(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("samples")
    for sample in SAMPLES:
        code, stdout, stderr = run(
            "render",
            str(ROOT / "mailings" / sample),
            "--contacts",
            str(ROOT / "contacts.xlsx"),
            "--out",
            str(out / sample),
            "--format",
            "eml,ics",
        )
        assert code == 0, stdout + stderr
    emls = sorted(out.rglob("*.eml"))
    assert {p.relative_to(out).parts[0] for p in emls} == set(SAMPLES)
    return emls


def _read(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.heavy
def test_every_sample_message_parses_without_a_defect(sample_emls: list[Path]) -> None:
    for path in sample_emls:
        message = _read(path)
        for part in message.walk():
            assert not part.defects, (path.name, part.get_content_type(), part.defects)
            for name, value in part.items():
                assert not getattr(value, "defects", ()), (path.name, name, value.defects)


@pytest.mark.heavy
def test_every_sample_text_part_is_flowed_with_lines_of_at_most_78(
    sample_emls: list[Path],
) -> None:
    for path in sample_emls:
        text = _read(path).get_body(("plain",))
        assert text is not None
        assert text.get_param("format") == "flowed" and text.get_param("delsp") == "no"
        for line in text.get_content().splitlines():
            assert len(line) <= LINE or " " not in line.strip(" "), (path.name, line)


@pytest.mark.heavy
def test_every_sample_header_has_short_encoded_words_and_lines(sample_emls: list[Path]) -> None:
    for path in sample_emls:
        head = path.read_bytes().split(b"\r\n\r\n", 1)[0].decode("ascii")
        for word in ENCODED_WORD.findall(head):
            assert len(word) <= WORD, (path.name, word)
        for line in head.split("\r\n"):
            assert len(line) <= LINE, (path.name, line)  # the samples' words all allow 78


@pytest.mark.heavy
def test_every_sample_calendar_part_is_utf_8_and_published(sample_emls: list[Path]) -> None:
    calendars = 0
    for path in sample_emls:
        for part in _read(path).walk():
            if part.get_content_type() == "text/calendar":
                calendars += 1
                assert part.get_content_charset() == "utf-8", path.name
                assert part.get_param("method") == "PUBLISH", path.name
                assert "DESCRIPTION" in part.get_content()  # readable as text: UTF-8
    assert calendars > 0


@pytest.mark.heavy
def test_every_sample_html_part_is_email_html(sample_emls: list[Path]) -> None:
    for path in sample_emls:
        html = _read(path).get_body(("html",))
        assert html is not None
        content = html.get_content()
        assert "@page" not in content, path.name
        assert "<!--" not in content, path.name
        assert 'content="light dark"' in content, path.name
        assert "WeasyPrint" not in content and "orphans" not in content, path.name
