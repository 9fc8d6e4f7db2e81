"""The letterhead, set once: a shared file named by the mailing, validated with located
errors, overridden part by part, rendered in the letter and (as text) in the e-mail."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.email_html import email_html
from dispatch.errors import MailingError
from dispatch.letterhead import letterhead_values
from dispatch.mailing import load_mailing
from tests.conftest import MINIMAL_MAILING

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
SHARED = """
logo = "logo.svg"
phone = "+41 22 555 01 00"
email = "secretariat@example.org"

[organisation]
fr = ["Union internationale des télécommunications"]
en = ["International Telecommunication Union"]

[address]
fr = "Place des Nations, 1211 Genève 20, Suisse"
en = "Place des Nations, 1211 Geneva 20, Switzerland"
"""


def with_letterhead(table: str) -> str:
    return MINIMAL_MAILING + "\n[letterhead]\n" + table.strip() + "\n"


@pytest.fixture
def shared(make_mailing: Callable[..., Path]) -> Callable[..., Path]:
    """A mailing whose folder's parent holds letterhead.toml (and the logo)."""

    def make(table: str = 'file = "../letterhead.toml"', letterhead: str = SHARED) -> Path:
        path: Path = make_mailing(with_letterhead(table))
        (path.parent.parent / "letterhead.toml").write_text(letterhead, encoding="utf-8")
        (path.parent.parent / "logo.svg").write_bytes(LOGO)
        return path

    return make


def test_the_shared_file_gives_every_part_and_the_logo_as_a_data_url(
    shared: Callable[..., Path],
) -> None:
    mailing = load_mailing(shared())
    values = letterhead_values(mailing.head, "fr")
    assert values["organisation"] == ["Union internationale des télécommunications"]
    assert values["address"] == "Place des Nations, 1211 Genève 20, Suisse"
    assert values["phone"] == "+41 22 555 01 00"
    assert values["logo"] == "data:image/svg+xml;base64," + base64.b64encode(LOGO).decode()
    assert values["footer"] is True


def test_a_mailing_overrides_one_part_and_one_language_and_keeps_the_rest(
    shared: Callable[..., Path],
) -> None:
    mailing = load_mailing(
        shared('file = "../letterhead.toml"\nphone = "+41 22 555 02 00"\naddress.en = "Geneva"')
    )
    assert letterhead_values(mailing.head, "en")["phone"] == "+41 22 555 02 00"
    assert letterhead_values(mailing.head, "en")["address"] == "Geneva"
    assert letterhead_values(mailing.head, "fr")["address"].startswith("Place des Nations")


def test_a_mailing_without_a_letterhead_has_an_empty_one(
    make_mailing: Callable[..., Path],
) -> None:
    mailing = load_mailing(make_mailing())
    assert mailing.head is None
    assert letterhead_values(mailing.head, "fr")["organisation"] == []


@pytest.mark.parametrize(
    ("table", "letterhead", "where", "says"),
    [
        ('file = "../nowhere.toml"', SHARED, "nowhere.toml", "does not exist"),
        (
            'file = "../letterhead.toml"',
            "fax = 1\n" + SHARED,
            "letterhead.toml, field fax",
            "is not a field",
        ),
        (
            'file = "../letterhead.toml"',
            "phone = 41\n",
            "letterhead.toml, field phone",
            "is not valid",
        ),
        (
            'file = "../letterhead.toml"',
            SHARED.replace("logo.svg", "logo.gif"),
            "letterhead.toml, field logo",
            "is not an SVG, PNG or JPEG",
        ),
        (
            'file = "../letterhead.toml"',
            SHARED.replace("logo.svg", "missing.svg"),
            "letterhead.toml, field logo",
            "does not exist",
        ),
        (
            'fil = "../letterhead.toml"',
            SHARED,
            "mailing.toml, field letterhead.fil",
            "is not a field",
        ),
    ],
    ids=["missing file", "unknown key", "wrong type", "logo kind", "missing logo", "mailing typo"],
)
def test_a_broken_letterhead_is_reported_with_its_file_and_key(
    shared: Callable[..., Path], table: str, letterhead: str, where: str, says: str
) -> None:
    with pytest.raises(MailingError) as caught:
        load_mailing(shared(table, letterhead))
    text = str(caught.value)
    assert where in text
    assert says in text


def test_the_email_shows_the_letterhead_as_text_without_the_logo() -> None:
    html = (
        '<html><body><header class="letterhead">'
        '<img class="letterhead-logo" src="data:image/svg+xml;base64,PHN2Zy8+" alt="Logo">'
        '<div class="organisation-line">Union internationale des télécommunications</div>'
        "</header></body></html>"
    )
    out = email_html(html)
    assert "Union internationale des télécommunications" in out
    assert "data:image" not in out
    assert "<img" not in out


# -- the logo: bounded, a regular file, a well-formed image ---------------------------


def image(kind: str, size: tuple[int, int] = (40, 16)) -> bytes:
    """A real PNG or JPEG, written by Pillow."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (26, 76, 139)).save(out, format=kind)
    return out.getvalue()


def with_logo(shared: Callable[..., Path], name: str, data: bytes | None = None) -> Path:
    """A mailing whose shared letterhead names the logo ``name`` (written if ``data``)."""
    mailing = shared(letterhead=SHARED.replace("logo.svg", name))
    if data is not None:
        (mailing.parent.parent / name).write_bytes(data)
    return mailing


def refusal(mailing: Path) -> str:
    with pytest.raises(MailingError) as caught:
        load_mailing(mailing)
    text = str(caught.value)
    assert text.count("letterhead.toml, field logo") == 1, text
    return text


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_png_or_jpeg_logo_is_read_whole(shared: Callable[..., Path], kind: str) -> None:
    data = image(kind)
    mailing = load_mailing(with_logo(shared, f"logo.{kind.lower()}", data))
    mime = "image/png" if kind == "PNG" else "image/jpeg"
    expected = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    assert letterhead_values(mailing.head, "fr")["logo"] == expected


def test_a_3_gb_logo_is_refused_by_its_size_without_being_read(
    shared: Callable[..., Path],
) -> None:
    mailing = with_logo(shared, "huge.png")
    with (mailing.parent.parent / "huge.png").open("wb") as sparse:
        sparse.truncate(3 * 1024**3)  # 3 GB that take no room on the disk
    text = refusal(mailing)
    assert '"huge.png" is 3072 MB: every letter and message carries it' in text
    assert "Use a logo of at most 512 KB" in text


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_as_logo_is_refused_and_never_waited_on(
    shared: Callable[..., Path],
) -> None:
    mailing = with_logo(shared, "pipe.svg")
    os.mkfifo(mailing.parent.parent / "pipe.svg")  # nobody ever writes into it
    assert "is a named pipe (FIFO)" in refusal(mailing)
    folder = with_logo(shared, "folder.png")
    (folder.parent.parent / "folder.png").mkdir()
    assert "is a folder" in refusal(folder)


def damaged_png() -> bytes:
    """A PNG whose pixel data was damaged: the header is fine, a checksum is not."""
    data = bytearray(image("PNG"))
    at = data.index(b"IDAT") + 8
    data[at] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("logo.png", damaged_png(), "is not a valid PNG image"),
        ("logo.png", image("PNG")[:60], "is not a valid PNG image"),
        ("logo.png", b"not an image at all", "is not a valid PNG image"),
        ("logo.png", image("JPEG"), "is not a valid PNG image"),
        ("logo.jpg", image("JPEG")[:200], "is not a valid JPEG image"),
        ("logo.jpg", image("PNG", (6000, 5000)), "is not a valid JPEG image"),
        ("big.png", image("PNG", (6000, 5000)), "is 6000 × 5000 pixels: too large for a logo"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'>", "is not a valid SVG file"),
        ("logo.svg", b"<html><body/></html>", 'is not an SVG image (its root element is "html"'),
        (
            "logo.svg",
            b"<svg width='1'/>",
            'is not an SVG image (its root element is "svg", not svg in the SVG',
        ),
        (
            "logo.svg",
            b'<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<svg xmlns='http://www.w3.org/2000/svg'><text>&b;</text></svg>",
            "declares XML entities",
        ),
    ],
    ids=[
        "damaged png",
        "truncated png",
        "text as png",
        "jpeg named .png",
        "truncated jpeg",
        "png named .jpg",
        "too many pixels",
        "unclosed svg",
        "html as svg",
        "svg without namespace",
        "svg entities",
    ],
)
def test_a_logo_that_is_not_a_well_formed_image_of_its_kind_is_refused(
    shared: Callable[..., Path], name: str, data: bytes, says: str
) -> None:
    text = refusal(with_logo(shared, name, data))
    assert f'"{name}" {says}' in text, text
    assert "Export the logo again" in text or "Use a logo of a few hundred pixels" in text


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_a_damaged_png_logo_is_refused_or_read_never_a_traceback(
    shared: Callable[..., Path], data: st.DataObject
) -> None:
    logo = bytearray(image("PNG", (24, 12)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(logo) - 1))
        logo[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(logo)))
    mailing = with_logo(shared, "logo.png", bytes(logo[:cut]))
    try:
        load_mailing(mailing)
    except MailingError as refused:
        assert '"logo.png" is not a valid PNG image' in str(refused)
