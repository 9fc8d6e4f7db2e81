"""The organisation's letterhead, set once for all the mailings of a unit.

A letterhead file (``letterhead.toml``, TOML like the mailing file) holds what every letter
of an organisation carries: its name in each language (one string a line), an optional
logo (an SVG, PNG or JPEG file, relative to the letterhead file) and the footer of the
first page (postal address, telephone, e-mail)::

    [organisation]
    fr = ["Union internationale des télécommunications"]
    en = ["International Telecommunication Union"]

    logo = "letterhead-logo.svg"   # before the tables, as TOML wants
    phone = "+41 22 555 01 00"
    email = "secretariat@example.org"

    [address]
    fr = "Place des Nations, 1211 Genève 20, Suisse"
    en = "Place des Nations, 1211 Geneva 20, Switzerland"

A mailing names it in its ``[letterhead]`` table, relative to the mailing's folder, and may
override any part of it there (``file`` aside, the keys are those of the file)::

    [letterhead]
    file = "../letterhead.toml"
    phone = "+41 22 555 02 00"

The file is named explicitly rather than looked for in the parent folders: a mailing copied
elsewhere then says which letterhead it lost instead of silently printing another one.
The logo is read once and put into the letter as a ``data:`` URL, so the HTML stands alone
(the preview, the PDF renderer's confined URL fetcher) and the PDF is the same wherever the
mailing is rendered.
"""

from __future__ import annotations

import base64
import io
import os
import stat
import struct
import tomllib
import zlib
from pathlib import Path
from typing import Annotated, Any
from xml.parsers import expat

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from dispatch import languages
from dispatch.errors import Location, MailingError, Problem

__all__ = [
    "Letterhead",
    "LetterheadRef",
    "letterhead_files",
    "letterhead_values",
    "load_letterhead",
    "resolve_letterhead",
]

_LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg"}
_LOGO_TYPES[".jpeg"] = "image/jpeg"
_LOGO_MAX_BYTES = 512 * 1024  # a letterhead logo, not a photograph: every letter carries it


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


def _registered(value: str) -> str:
    if not languages.is_known(value):
        raise ValueError(f"{value!r} is not a language dispatch writes in")
    return value


# A part per language, keyed by a registered code (``fr = [...]``, ``ar = [...]``).
_Code = Annotated[str, AfterValidator(_registered)]
_Lines = dict[_Code, list[str]]
_Text = dict[_Code, str]


class Letterhead(_Model):
    """A letterhead file's content; every part optional (a mailing may fill the rest)."""

    organisation: _Lines | None = None
    logo: str | None = None  # relative to the letterhead file
    address: _Text | None = None
    phone: str | None = None
    email: str | None = None
    logo_alt: _Text | None = None  # the logo's text alternative (tagged PDF, e-mail)


class LetterheadRef(Letterhead):
    """The mailing's ``[letterhead]`` table: the file it uses and what it overrides."""

    file: str | None = None


class ResolvedLetterhead(Letterhead):
    """A letterhead with its logo read: ``logo`` is then a ``data:`` URL."""


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _problems(path: Path, exc: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for err in exc.errors():
        field = prefix + _field(tuple(err["loc"]))
        if err["type"] == "extra_forbidden":
            known = ", ".join(k for k in LetterheadRef.model_fields if k != "file" or prefix)
            problems.append(
                Problem(
                    Location(file=path, field=field),
                    "is not a field of a letterhead",
                    f"Expected one of: {known}. Remove it, or check its spelling.",
                )
            )
        elif err["type"] == "missing":
            problems.append(
                Problem(Location(file=path, field=field), "is missing", "Add it and run again.")
            )
        else:
            value = err.get("input")
            problems.append(
                Problem(
                    Location(file=path, field=field),
                    f"is not valid: {err['msg']}",
                    "Correct it and run again.",
                    **({} if isinstance(value, dict) else {"value": value}),
                )
            )
    return problems


def load_letterhead(path: Path) -> Letterhead:
    """Read and validate a letterhead file; :class:`MailingError` names the file and field."""
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise MailingError(
            [
                Problem(
                    Location(file=path),
                    "does not exist",
                    "Create it, or correct letterhead.file in the mailing file.",
                )
            ]
        ) from None
    except OSError as exc:
        raise MailingError(
            [Problem(Location(file=path), f"cannot be read ({exc.strerror})", "Check the path.")]
        ) from None
    except UnicodeDecodeError:
        raise MailingError(
            [Problem(Location(file=path), "is not UTF-8 text", "Save it as UTF-8.")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise MailingError(
            [
                Problem(
                    Location(file=path),
                    f"is not valid TOML: {exc}",
                    "Correct the syntax (strings in double quotes).",
                )
            ]
        ) from None
    try:
        return Letterhead.model_validate(data)
    except ValidationError as exc:
        raise MailingError(_problems(path, exc)) from None


def _logo_url(logo: str, base: Path, where: Location) -> tuple[str | None, list[Problem]]:
    path = (base / logo).resolve()
    kind = _LOGO_TYPES.get(path.suffix.lower())
    if kind is None:
        return None, [
            Problem(
                where,
                "is not an SVG, PNG or JPEG file",
                "Give the logo as .svg, .png or .jpg.",
                value=logo,
            )
        ]
    try:
        data = _read_logo(path)
        _check_image(data, kind)
    except _LogoRefused as refused:
        return None, [Problem(where, refused.what, refused.hint, value=logo)]
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}", []


class _LogoRefused(Exception):
    """Why a logo cannot be used, and what to do (made into a located Problem)."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(what)
        self.what, self.hint = what, hint


_PUT_IT = "Put the logo beside the letterhead file, or correct its name."
_FILE_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}


def _read_logo(path: Path) -> bytes:
    """The logo's bytes, read only if it is a regular file of at most
    :data:`_LOGO_MAX_BYTES` (its size is known before anything is read)."""
    # O_NONBLOCK: opening a named pipe does not wait for a writer (it is then refused).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        what = "does not exist" if isinstance(exc, FileNotFoundError) else "cannot be read"
        raise _LogoRefused(f"{what} (looked for {path})", _PUT_IT) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _FILE_KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise _LogoRefused(
                f"is {kind} ({path}), not an image file",
                "Give the path of the logo's file itself (.svg, .png or .jpg).",
            )
        if info.st_size > _LOGO_MAX_BYTES:
            raise _LogoRefused(*_too_big(info.st_size))
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(_LOGO_MAX_BYTES + 1)  # it may have grown since
    finally:
        os.close(fd)
    if len(data) > _LOGO_MAX_BYTES:
        raise _LogoRefused(*_too_big(len(data)))
    return data


def _too_big(size: int) -> tuple[str, str]:
    shown = f"{size // 1024} KB" if size < 10 * 1024 * 1024 else f"{size // 1024 // 1024} MB"
    return (
        f"is {shown}: every letter and message carries it",
        f"Use a logo of at most {_LOGO_MAX_BYTES // 1024} KB (an SVG is best).",
    )


#: A logo larger than this many pixels is refused before it is decoded (a small file
#: can hold a huge image: a PNG of 500 KB can unpack to gigabytes).
_LOGO_MAX_PIXELS = 25_000_000
_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}


def _check_image(data: bytes, kind: str) -> None:
    """Refuse a logo that is not a whole, well-formed image of its kind."""
    if kind == "image/svg+xml":
        _check_svg(data)
        return
    # Pillow comes with WeasyPrint; loaded only when a letterhead has a PNG or JPEG logo.
    from PIL import Image

    pillow_errors = (  # what Pillow raises on a damaged file (documented as "any")
        OSError,  # UnidentifiedImageError, truncated data
        SyntaxError,  # "broken PNG file", "not a PNG file"
        ValueError,
        EOFError,
        IndexError,
        struct.error,
        zlib.error,
        Image.DecompressionBombError,
    )
    expected = _PIL_FORMATS[kind]
    redo = f"Export the logo again as {expected} (or as SVG)."
    try:
        with Image.open(io.BytesIO(data), formats=[expected]) as image:
            if image.width * image.height > _LOGO_MAX_PIXELS:
                raise _LogoRefused(
                    f"is {image.width} × {image.height} pixels: too large for a logo",
                    "Use a logo of a few hundred pixels (an SVG is best).",
                )
            image.verify()  # the structure: chunks, their checksums
        with Image.open(io.BytesIO(data), formats=[expected]) as image:
            image.load()  # every pixel: a truncated or damaged file fails here
    except pillow_errors as exc:
        raise _LogoRefused(f"is not a valid {expected} image ({_said(exc)})", redo) from None


_SVG = "http://www.w3.org/2000/svg"


def _check_svg(data: bytes) -> None:
    """Refuse an SVG that is not well-formed XML with an ``svg`` root in the SVG
    namespace (a browser shows nothing else), or that declares entities (the way XML
    is made to expand to gigabytes)."""
    redo = "Export the logo again as SVG (or as PNG)."
    parser = expat.ParserCreate(namespace_separator=" ")
    roots: list[str] = []

    def start(name: str, _attributes: object) -> None:
        if not roots:
            roots.append(name)

    def entity(*_args: object) -> None:
        raise _LogoRefused("declares XML entities, which a logo does not need", redo)

    parser.StartElementHandler = start
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise _LogoRefused(f"is not a valid SVG file ({_said(exc)})", redo) from None
    if roots != [f"{_SVG} svg"]:
        found = roots[0].replace(" ", ":") if roots else "nothing"
        raise _LogoRefused(
            f'is not an SVG image (its root element is "{found}", not svg in the SVG namespace)',
            f'{redo} Its first element should be <svg xmlns="{_SVG}" ...>.',
        )


def _said(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def resolve_letterhead(ref: LetterheadRef, mailing_path: Path) -> ResolvedLetterhead:
    """The mailing's letterhead: its file (if any) with the mailing's overrides on top.

    Raises :class:`MailingError` with every problem: the file, its fields, the logo.
    """
    values: dict[str, Any] = {}
    logo_base = mailing_path.parent
    logo_where = Location(file=mailing_path, field="letterhead.logo")
    if ref.file is not None:
        path = (mailing_path.parent / ref.file).resolve()
        shared = load_letterhead(path)
        values = shared.model_dump(exclude_none=True)
        if shared.logo is not None:
            logo_base = path.parent
            logo_where = Location(file=path, field="logo")
    overrides = ref.model_dump(exclude_none=True, exclude={"file"})
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}  # override one language, keep the other
        else:
            values[key] = value
    if ref.logo is not None:
        logo_base = mailing_path.parent
        logo_where = Location(file=mailing_path, field="letterhead.logo")
    problems: list[Problem] = []
    if values.get("logo"):
        values["logo"], problems = _logo_url(values["logo"], logo_base, logo_where)
    if problems:
        raise MailingError(problems)
    return ResolvedLetterhead.model_validate(values)


def letterhead_values(head: Letterhead | None, lang: str) -> dict[str, Any]:
    """What the templates read as ``letterhead``: the parts in ``lang``; empty if none."""
    if head is None:
        return {
            "organisation": [],
            "logo": None,
            "logo_alt": "",
            "address": None,
            "phone": None,
            "email": None,
            "footer": False,
        }
    organisation = head.organisation.get(lang) if head.organisation else None
    address = head.address.get(lang) if head.address else None
    alt = head.logo_alt.get(lang) if head.logo_alt else None
    return {
        "organisation": list(organisation or []),
        "logo": head.logo,
        "logo_alt": alt or " ".join(organisation or []),
        "address": address,
        "phone": head.phone,
        "email": head.email,
        "footer": bool(address or head.phone or head.email),
    }


def letterhead_files(ref: LetterheadRef, mailing_path: Path) -> list[tuple[str, Path]]:
    """The files a mailing's letterhead is read from: ``("letterhead", file)`` and
    ``("logo", file)``, each where :func:`resolve_letterhead` reads it.

    A file that cannot be read is still listed (its reading says what is wrong).
    """
    files: list[tuple[str, Path]] = []
    logo: tuple[str, Path] | None = None
    if ref.file is not None:
        path = (mailing_path.parent / ref.file).resolve()
        files.append(("letterhead", path))
        try:
            shared = load_letterhead(path)
        except MailingError:
            shared = None
        if shared is not None and shared.logo:
            logo = ("logo", (path.parent / shared.logo).resolve())
    if ref.logo is not None:  # the mailing's own logo, or none ("")
        logo = ("logo", (mailing_path.parent / ref.logo).resolve()) if ref.logo else None
    if logo is not None:
        files.append(logo)
    return files
