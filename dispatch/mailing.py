"""The mailing file: one TOML file that holds the values of one mailing.

It is read with :mod:`tomllib` and validated into typed pydantic models, whose errors
already carry the path of the field. Dates and times are real TOML dates and times,
never strings. Text that differs by language is a table with one key per language::

    [subject]
    fr = "Sixième réunion de l'initiative U4SSC"
    en = "Sixth meeting of the U4SSC initiative"
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
import tomllib
from dataclasses import replace
from datetime import date, time
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from dispatch import languages
from dispatch.errors import Location, MailingError, Problem
from dispatch.formatting import legacy_zone_hint
from dispatch.letterhead import LetterheadRef, ResolvedLetterhead, resolve_letterhead
from dispatch.suggest import closest


def _language(value: str) -> str:
    code = languages.normalise(value)
    if not languages.is_known(code):
        known = ", ".join(languages.codes())
        raise ValueError(f"is not a language dispatch writes in (known: {known})")
    return code


# A language of the registry, normalised (" FR " becomes fr) when the mailing file is read.
Lang = Annotated[str, AfterValidator(_language)]


def _other_languages(cls: type[BaseModel], data: Any) -> Any:
    """Keys of registered languages beyond the model's own fields (``es = "…"``) are moved
    into ``other_languages``; any other key stays, and is reported where it is."""
    if not isinstance(data, dict):
        return data
    fields = cls.model_fields
    others = {k: v for k, v in data.items() if k not in fields and languages.is_known(k)}
    if not others:
        return data
    return {k: v for k, v in data.items() if k not in others} | {"other_languages": others}


def _no_line_breaks(value: str) -> str:
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError("must be on one line (it goes into a message header)")
    return value


OneLine = Annotated[str, AfterValidator(_no_line_breaks)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


class Text(_Model):
    """A text in each language of the mailing: ``{fr = "…", en = "…"}``.

    French and English are fields; another registered language is an extra key.
    """

    fr: str | None = None
    en: str | None = None
    other_languages: dict[str, str] = {}

    @model_validator(mode="before")
    @classmethod
    def _registered(cls, data: Any) -> Any:
        return _other_languages(cls, data)

    def get(self, lang: str) -> str:
        value = self.other_languages.get(lang) or getattr(self, lang, None)
        if value is None:
            raise KeyError(lang)
        return str(value)

    def has(self, lang: str) -> bool:
        return lang in self.other_languages or getattr(self, lang, None) is not None


class Paragraph(Text):
    """A paragraph of the body: a text per language, and ``when``, a condition on the
    addressee that leaves the paragraph out of the letters where it is false
    (``when = "addressee.visa_required"``, ``when = "'MS' in addressee.categories"``)."""

    when: str | None = None


class Lines(_Model):
    """Several lines in each language (letterhead, a signatory's title)."""

    fr: list[str] | None = None
    en: list[str] | None = None
    other_languages: dict[str, list[str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _registered(cls, data: Any) -> Any:
        return _other_languages(cls, data)

    def get(self, lang: str) -> list[str]:
        value = self.other_languages.get(lang) or getattr(self, lang, None)
        if value is None:
            raise KeyError(lang)
        return list(value)

    def has(self, lang: str) -> bool:
        return lang in self.other_languages or getattr(self, lang, None) is not None


class Contact(_Model):
    """The contact block beside the reference."""

    name: Text | None = None
    phone: str | None = None
    fax: str | None = None
    email: str | None = None


class Addressees(_Model):
    """Which categories of the workbook receive the letter (to) and which are copied (cc).

    ``heading`` is an optional line printed above the list of categories, as a heading and
    not as one of the list's lines (seed 004: "À toutes les parties prenantes du SMSI").
    """

    to: list[str] = Field(min_length=1)
    cc: list[str] = []
    heading: Text | None = None


def _email_address(value: str) -> str:
    """An e-mail address, checked as the workbook's are (no network is used)."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not an e-mail address ({str(exc).rstrip('.')})") from None
    return value


Address = Annotated[str, AfterValidator(_no_line_breaks), AfterValidator(_email_address)]


class Sender(_Model):
    """Who the message is from: an address, and a display name per language."""

    email: Address
    name: Text | None = None
    reply_to: Address | None = None
    cc: list[Address] = []


def _known_zone(value: str) -> str:
    hint = legacy_zone_hint(value)
    if hint is not None:
        # zoneinfo knows "EST" as a fixed UTC-5 without a place: letters printed "Panama
        # time" and calendars missed summer time. The letter's label is a field of its own.
        raise ValueError(f"is an abbreviation, not a time zone: {hint}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: "Europe" names a folder of the zone database, a very long name is
        # refused by the file system; both are simply not zones.
        raise ValueError(
            f"{value!r} is not an IANA time zone (write it like Europe/Zurich or America/New_York)"
        ) from exc
    return value


Zone = Annotated[str, AfterValidator(_known_zone)]


class Event(_Model):
    """The meeting, conference or consultation the letter is about."""

    name: Text
    short_name: Text | None = None
    kind: str = "meeting"
    ordinal: int | None = Field(default=None, ge=1)
    start: date
    end: date | None = None
    start_time: time | None = None
    end_time: time | None = None
    timezone: Zone = "Europe/Zurich"
    timezone_place: Text | None = None
    zone_label: OneLine | None = None  # the times as the letter names them: "EST"
    virtual: StrictBool = False
    venue: Text | None = None
    city: Text | None = None
    country: Text | None = None
    languages: list[str] = []
    links: dict[str, str] = {}
    registration_deadline: date | None = None
    # The templates' standard registration paragraph, only when the mailing asks for it:
    # a deadline alone added a paragraph nobody wrote (and repeated the letter's own).
    registration_paragraph: StrictBool = False
    fee: Text | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Event:
        if self.registration_paragraph and self.registration_deadline is None:
            raise ValueError(
                "registration_paragraph is true but registration_deadline is not given: "
                "the paragraph says 'register by' that date"
            )
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start: the event must end on or after its first day")
        if (self.start_time is None) != (self.end_time is None) and self.end_time is not None:
            raise ValueError("end_time is given without start_time")
        return self

    @property
    def last_day(self) -> date:
        return self.end or self.start


class Deadline(_Model):
    """A reply deadline (a consultation): a date, an optional time and its zone."""

    date: dt.date
    time: dt.time | None = None
    timezone: Zone = "Europe/Zurich"
    timezone_place: Text | None = None
    zone_label: OneLine | None = None  # the time as the letter names it: "EST"


class Signatory(_Model):
    """One person who signs; several sign side by side (see :class:`Layout`).

    ``name`` is one string, or a text per language (``M. Houlin Zhao`` / ``Mr Houlin
    Zhao``). ``signed`` is true (the template's ``[Original signé]`` / ``[Original
    signed]``), false (no mention) or the mention as a text per language
    (``{ fr = "[original signé par]", en = "[Original signed by]" }``).
    """

    name: str | Text
    title: Lines | None = None
    signed: StrictBool | Text = True

    def name_in(self, lang: str) -> str:
        return self.name if isinstance(self.name, str) else self.name.get(lang)

    def mention_in(self, lang: str) -> str | None:
        """The signed mention as the mailing writes it, or None for the template's own."""
        return self.signed.get(lang) if isinstance(self.signed, Text) else None

    @property
    def is_signed(self) -> bool:
        return self.signed is not False


SIGNATORY_COLUMNS_MAX = 5  # five names side by side still fit an A4 line


def signatory_columns(count: int) -> int:
    """How many signatories side by side, so that no one is alone on the last row.

    One to three: one row. Four: two rows of two. More: three or four a row, whichever
    leaves no signatory alone and the fewest empty places (five: 3 + 2; seven: 4 + 3);
    five a row only when neither does (thirteen: 5 + 5 + 3).

    >>> [signatory_columns(n) for n in range(1, 9)]
    [1, 2, 3, 2, 3, 3, 4, 4]
    """
    if count <= 3:
        return max(count, 1)
    if count == 4:
        return 2
    best: tuple[int, int, int] | None = None
    for columns in (3, 4):
        rows = -(-count // columns)
        last = count - (rows - 1) * columns
        if last == 1:
            continue
        score = (rows, rows * columns - count, columns)
        best = score if best is None or score < best else best
    return SIGNATORY_COLUMNS_MAX if best is None else best[2]


class Layout(_Model):
    """Where the seeds differ, the mailing chooses; the defaults are the usual circular.

    ``date_position``: the place and date ``above`` the reference and contact block
    (default) or ``below`` it. ``reference_label`` and ``phone_label``: ``short``
    (``Réf.``, ``Tél.`` / ``Ref.``, ``Tel.``; default) or ``long`` (``Référence``,
    ``Téléphone`` / ``Reference``, ``Telephone``). ``reference_bold``: the reference in
    bold. ``addressee_semicolons``: end every addressee and copy line but the last with
    ``;`` (default true). ``subject_label``: print ``Objet :`` / ``Subject:`` before the
    subject (default true). ``signatory_columns``: how many signatories a row (default:
    see :func:`signatory_columns`).
    """

    date_position: Literal["above", "below"] = "above"
    reference_label: Literal["short", "long"] = "short"
    phone_label: Literal["short", "long"] = "short"
    reference_bold: StrictBool = False
    addressee_semicolons: StrictBool = True
    subject_label: StrictBool = True
    signatory_columns: int | None = Field(default=None, ge=1, le=SIGNATORY_COLUMNS_MAX)


#: Who is closed with "haute considération" (not "considération distinguée"), by default:
#: words of the addressee's civility, function or salutation (whole words, any case).
HIGH_CONSIDERATION = (
    "ministre",
    "minister",
    "ambassadeur",
    "ambassadrice",
    "ambassador",
    "excellence",
    "excellency",
    "S.E.",
    "H.E.",
)


class Consideration(_Model):
    """The degree of the closing: "haute considération" to whom ``high`` names.

    ``high``: words that, found in one of the addressee's ``columns`` (whole words, any
    case), call for ``haute considération``: ministers and ambassadors by default.
    """

    high: list[OneLine] = list(HIGH_CONSIDERATION)
    columns: list[Literal["civility", "function", "organisation", "salutation"]] = [
        "civility",
        "function",
        "salutation",
    ]


class Annex(_Model):
    """An annex listed in the letter, optionally a file attached to every message.

    ``page_title`` is the title printed on the annex's own page, one string a line, when
    it differs from the title in the list of annexes (seed 001); default: ``title``.
    """

    title: Text
    file: str | None = None
    content: Text | None = None  # Markdown printed on a page of its own after the letter
    page_title: Lines | None = None
    # file is a pattern filled for each addressee ("visas/{{ addressee.email }}.pdf"):
    # each addressee's message carries their own file (see dispatch.personal)
    per_addressee: StrictBool = False


class Mailing(_Model):
    """One mailing: everything that is the same for every addressee."""

    template: str = "invitation"
    languages: list[Lang] = Field(default_factory=lambda: list(languages.defaults()))
    reference: Text
    date: dt.date
    place: Text
    unit: Lines | None = None  # the letterhead; a joint letter (seed 004) may have none
    contact: Contact = Contact()
    addressees: Addressees
    subject: Text
    salutation: Text | None = None
    closing: Text | None = None
    consideration: Consideration = Consideration()
    numbered: StrictBool = False
    event: Event | None = None
    deadline: Deadline | None = None
    body: dict[str, Paragraph] = {}
    values: dict[str, dt.date | dt.time | int | float | str] = {}  # free values for the paragraphs
    signatories: list[Signatory] = Field(min_length=1)
    layout: Layout = Layout()
    annexes: list[Annex] = []
    sender: Sender
    contacts: str | None = None  # the workbook, relative to the mailing's folder
    templates: str | None = None  # a templates folder of one's own, relative to the mailing's
    attach_pdf: StrictBool = True  # the letter as PDF, attached to each message
    max_message_mb: float = Field(default=10.0, gt=0)
    approval: Literal["optional", "required"] = "optional"  # "required": send only approved
    letterhead: LetterheadRef | None = None  # the shared letterhead file and overrides

    # Set by load_mailing, not by the file.
    path: Path = Field(default=Path("mailing.toml"), exclude=True)
    head: ResolvedLetterhead | None = Field(default=None, exclude=True)  # letterhead, read

    @field_validator("template")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if not value.replace("_", "").replace("-", "").isalnum():
            raise ValueError("a template name is a plain word like invitation or consultation")
        return value

    @field_validator("languages")
    @classmethod
    def _some_language(cls, value: list[str]) -> list[str]:
        if not value:
            example = ", ".join(f'"{c}"' for c in languages.built_in()[:2])
            raise ValueError(f"name at least one language, e.g. languages = [{example}]")
        return value

    @property
    def folder(self) -> Path:
        """The folder of the mailing file, as an absolute path (see :func:`load_mailing`)."""
        return self.path.parent

    @property
    def name(self) -> str:
        """The mailing's name: its folder's name (``mailings/tsb-352`` → ``tsb-352``), the
        real one even when the mailing is given as ``.`` from inside its folder."""
        return self.folder.resolve().name

    def annex_path(self, annex: Annex) -> Path | None:
        """The file attached to every message, or None (no file, or one per addressee)."""
        return None if annex.file is None or annex.per_addressee else self.folder / annex.file


def _field_path(loc: tuple[int | str, ...]) -> str:
    """``event.name.fr``, ``annexes[0].file``; a key that is not a bare TOML key is quoted,
    as TOML writes it (``body."my intro"``), so that the location stays on one line."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            out += ("." if out else "") + key
    return out


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


_HINTS = {
    "missing": "Add it to the mailing file.",
    "extra_forbidden": "Remove it, or check its spelling.",
    "date_type": "Write a TOML date without quotes, like 2021-12-07.",
    "date_from_datetime_parsing": "Write a TOML date without quotes, like 2021-12-07.",
    "time_type": "Write a TOML time without quotes, like 10:00:00.",
    "time_parsing": "Write a TOML time without quotes, like 10:00:00.",
}


def _walk(
    model: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[tuple[int | str, ...], list[str], bool]:
    """Follow pydantic's ``loc`` through the models: the path as the user wrote it.

    Returns that path, the keys allowed where its last part is (for "did you mean") and
    whether a union member's tag was dropped (``values.x.date``: pydantic tried each type
    of ``date | time | int | float | str`` and reports one error per type).
    """
    annotation: Any = model
    path: list[int | str] = []
    known: list[str] = []
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            known = [
                k
                for k, f in annotation.model_fields.items()
                if not f.exclude and k != "other_languages"
            ]
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            annotation = None if field is None else field.annotation
        elif get_origin(annotation) in (list, tuple, dict):
            known = []
            args = get_args(annotation)
            annotation = args[-1] if args else None
        elif _members(annotation):
            return tuple(path), known, True  # ``part`` names the member pydantic tried
        else:
            annotation = None
        path.append(part)
    return tuple(path), known, False


def _members(annotation: Any) -> list[Any]:
    """The types of a union (``X | None`` aside), or [] if ``annotation`` is not one."""
    if get_origin(annotation) not in (Union, UnionType):
        return []
    members = [a for a in get_args(annotation) if a is not type(None)]
    return members if len(members) > 1 else []


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` as ``X``."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, UnionType) and not _members(annotation):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def problems_from_validation(path: Path, exc: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into problems that name the file and the field."""
    problems: list[Problem] = []
    union_errors: dict[str, list[str]] = {}
    for err in exc.errors():
        loc, known, union = _walk(Mailing, tuple(err["loc"]))
        field = _field_path(loc)
        kind = err["type"]
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if union:
            # One problem for the value, saying every type it may have.
            if field not in union_errors:
                union_errors[field] = []
                given = err.get("input")
                shown: dict[str, Any] = {} if isinstance(given, dict) else {"value": given}
                where = Location(file=path, field=field)
                problems.append(Problem(where, "", "Correct it and run again.", **shown))
            union_errors[field].append(message.removeprefix("Input should be "))
            continue
        hint = _HINTS.get(kind, "Correct it and run again.")
        value: Any = err.get("input")
        if kind == "extra_forbidden":
            message = "is not a field of a mailing file here"
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            if close:
                hint = f'Did you mean "{close[0]}"? {hint}'
            elif known:
                hint = f"Expected one of: {', '.join(known)}. {hint}"
            value = loc[-1]
        elif kind == "missing":
            value = None
        if isinstance(value, dict):
            value = None
        if kind == "missing":
            text = "is missing"
        elif kind == "extra_forbidden" or value is None:
            text = message
        elif kind == "value_error" and message.startswith("is "):
            text = message  # our own validators say what is wrong in a whole sentence
        else:
            text = f"is not valid: {message}"
        extra: dict[str, Any] = {} if value is None else {"value": value}
        problems.append(Problem(Location(file=path, field=field), text, hint, **extra))
    return [_union_problem(p, union_errors) for p in problems]


def _union_problem(problem: Problem, union_errors: dict[str, list[str]]) -> Problem:
    expected = union_errors.get(problem.where.field or "") if not problem.message else None
    if not expected:
        return problem
    kinds = list(dict.fromkeys(expected))
    said = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
    return replace(problem, message=f"is not valid: Input should be {said}")


def check_languages(mailing: Mailing) -> list[Problem]:
    """Every text the letter needs exists in every language the mailing is sent in."""
    problems: list[Problem] = []
    where = mailing.path

    def need(obj: Text | Lines | None, field: str) -> None:
        if obj is None:
            return
        for lang in mailing.languages:
            if not obj.has(lang):
                problems.append(
                    Problem(
                        Location(file=where, field=f"{field}.{lang}"),
                        f"is missing: the mailing is sent in {', '.join(mailing.languages)}",
                        f"Add {field}.{lang}, or remove {lang!r} from languages.",
                    )
                )

    need(mailing.reference, "reference")
    need(mailing.place, "place")
    need(mailing.unit, "unit")
    need(mailing.subject, "subject")
    need(mailing.salutation, "salutation")
    need(mailing.closing, "closing")
    need(mailing.contact.name, "contact.name")
    need(mailing.sender.name, "sender.name")
    if mailing.event is not None:
        need(mailing.event.name, "event.name")
        for name in ("short_name", "timezone_place", "venue", "city", "country", "fee"):
            need(getattr(mailing.event, name), f"event.{name}")
    if mailing.deadline is not None:
        need(mailing.deadline.timezone_place, "deadline.timezone_place")
    for key, text in mailing.body.items():
        need(text, f"body.{key}")
    for i, signatory in enumerate(mailing.signatories):
        need(signatory.title, f"signatories[{i}].title")
    for i, annex in enumerate(mailing.annexes):
        need(annex.title, f"annexes[{i}].title")
        need(annex.content, f"annexes[{i}].content")
    if mailing.template == "invitation" and mailing.event is None:
        problems.append(
            Problem(
                Location(file=where, field="event"),
                "is missing: an invitation needs an [event] table (name, start, ...)",
                'Add it, or use template = "consultation".',
            )
        )
    if mailing.template == "consultation" and mailing.deadline is None:
        problems.append(
            Problem(
                Location(file=where, field="deadline"),
                "is missing: a consultation needs a [deadline] table (date, time)",
                "Add it to the mailing file.",
            )
        )
    return problems


def check_layout(mailing: Mailing) -> list[Problem]:
    """The addressee heading, signatories and annex page titles exist in every language of
    the mailing, and the signatories' columns leave no one alone on the last row."""
    problems: list[Problem] = []

    def need(obj: Text | Lines | None, field: str) -> None:
        for lang in mailing.languages:
            if obj is not None and not obj.has(lang):
                problems.append(
                    Problem(
                        Location(file=mailing.path, field=f"{field}.{lang}"),
                        f"is missing: the mailing is sent in {', '.join(mailing.languages)}",
                        f"Add {field}.{lang}, or remove {lang!r} from languages.",
                    )
                )

    need(mailing.addressees.heading, "addressees.heading")
    for i, signatory in enumerate(mailing.signatories):
        if isinstance(signatory.name, Text):
            need(signatory.name, f"signatories[{i}].name")
        if isinstance(signatory.signed, Text):
            need(signatory.signed, f"signatories[{i}].signed")
    for i, annex in enumerate(mailing.annexes):
        need(annex.page_title, f"annexes[{i}].page_title")
    columns = mailing.layout.signatory_columns
    count = len(mailing.signatories)
    if columns is not None and count > columns and count % columns == 1:
        problems.append(
            Problem(
                Location(file=mailing.path, field="layout.signatory_columns"),
                f"leaves one of the {count} signatories alone on the last row",
                f"Choose another number, or leave it out ({signatory_columns(count)} a row then).",
                value=columns,
            )
        )
    return problems


def empty_annexes(mailing: Mailing) -> list[Problem]:
    """An annex with neither file nor content: listed in the letter, and nothing else."""
    return [
        Problem(
            Location(file=mailing.path, field=f"annexes[{i}]"),
            "has neither file nor content: the letter would list it, and nothing would be "
            "attached or printed",
            'Give it file = "…" (a file in the mailing\'s folder, attached to each message) '
            "or content (a text printed on a page after the letter), or remove it.",
        )
        for i, annex in enumerate(mailing.annexes)
        if annex.file is None and annex.content is None
    ]


def check_annexes(mailing: Mailing) -> list[Problem]:
    """Every annex file named in the mailing exists, is readable and stays in its folder."""
    problems: list[Problem] = []
    folder = mailing.folder.resolve()
    for i, annex in enumerate(mailing.annexes):
        if annex.file is None or annex.per_addressee:
            continue  # none, or a pattern: each addressee's file is checked with the workbook
        where = Location(file=mailing.path, field=f"annexes[{i}].file")
        try:
            candidate = (mailing.folder / annex.file).resolve()
            outside = not candidate.is_relative_to(folder)
            is_file = not outside and candidate.is_file()
        except (OSError, ValueError):  # a NUL byte, a name too long for the file system
            problems.append(
                Problem(
                    where,
                    "is not a usable file name",
                    f"Name a file in {mailing.folder}, relative to that folder.",
                    value=annex.file,
                )
            )
            continue
        if outside:
            problems.append(
                Problem(
                    where,
                    "points outside the mailing's folder",
                    f"Put the annex in {mailing.folder} and name it relative to that folder.",
                    value=annex.file,
                )
            )
        elif not is_file:
            problems.append(
                Problem(
                    where,
                    "does not exist",
                    f"Put the file in {mailing.folder}, or correct its name.",
                    value=annex.file,
                )
            )
        else:
            try:
                with candidate.open("rb") as handle:
                    handle.read(1)
            except OSError as exc:
                problems.append(
                    Problem(
                        where,
                        f"cannot be read ({exc.strerror})",
                        "Check its permissions.",
                        value=annex.file,
                    )
                )
    return problems


#: words by which a letter says something comes with it
_ANNOUNCED = re.compile(
    r"\b(en annexe|ci-joint\w*|ci-inclus\w*|attached|enclosed|annexed)\b", re.IGNORECASE
)


def announced_annexes(mailing: Mailing) -> list[Problem]:
    """Warnings for a body paragraph that announces an annex in a mailing that has none."""
    if mailing.annexes:
        return []
    found: list[Problem] = []
    for key, text in mailing.body.items():
        for lang in mailing.languages:
            match = _ANNOUNCED.search(text.get(lang)) if text.has(lang) else None
            if match is not None:
                found.append(
                    Problem(
                        Location(file=mailing.path, field=f"body.{key}.{lang}"),
                        f'says "{match.group()}", and the mailing has no annex',
                        "Add the annex ([[annexes]] with a file or a content), or reword the "
                        "paragraph.",
                        warning=True,
                    )
                )
    return found


def declared_contacts(path: Path) -> str | None:
    """The ``contacts`` key of a mailing file that does not validate, if it can be read.

    ``check`` reports the problems of the workbook with those of the mailing, in one pass:
    the workbook it names, not a ``contacts.xlsx`` it does not use.
    """
    if path.is_dir():
        path = path / "mailing.toml"
    try:
        value = tomllib.loads(path.read_bytes().decode("utf-8-sig")).get("contacts")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return value if isinstance(value, str) and value.strip() else None


#: A workbook given where the mailing is expected: by its name, or by its first bytes
#: (a zip: xlsx and ods; an OLE file: xls).
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


def _nearby(given: Path) -> str:
    """``" Did you mean mailings/tsb-352?"`` for a mistyped folder or file, or ``""``."""
    parent = given.parent
    try:
        names = [entry.name for entry in parent.iterdir() if not entry.name.startswith(".")]
    except OSError:
        return ""
    name = closest(given.name, names)
    return f" Did you mean {parent / name}?" if name else ""


def language_file_problems(exc: languages.LanguageFileError) -> list[Problem]:
    """The problems of language definition files, located like the mailing file's."""
    out = []
    for file, key, message, value in exc.problems:
        hint = "Correct it and run again (the README's Languages section lists the keys)."
        extra: dict[str, Any] = {} if value is None or isinstance(value, dict) else {"value": value}
        out.append(Problem(Location(file=file, field=key or None), message, hint, **extra))
    return out


def register_languages(folder: Path, templates: Any) -> list[Problem]:
    """Register the languages of the mailing's templates folder (``templates/<code>/
    language.toml``: its own, else dispatch's) before its ``languages`` are read, so that
    the registry is the mailing's; the problems of their files."""
    own = isinstance(templates, str) and bool(templates.strip())
    try:
        languages.load_folder(folder / templates if own else languages.bundled_folder())
    except languages.LanguageFileError as exc:
        return language_file_problems(exc)
    return []


def load_mailing(path: Path, templates: Path | None = None) -> Mailing:
    """Read and validate a mailing file; raise :class:`MailingError` with every problem.

    ``path`` may be the TOML file or the folder that holds ``mailing.toml``. It is made
    absolute, so that the mailing's name, its folders and the messages that name them are
    the same wherever dispatch is run (``dispatch check .`` inside the folder included).
    ``templates`` (``--templates``) is the templates folder whose languages are
    registered, instead of the mailing's ``templates`` (or dispatch's).
    """
    path = Path(os.path.abspath(path))
    typed = path
    if path.is_dir():
        path = path / "mailing.toml"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MailingError(
            [
                Problem(
                    Location(file=path),
                    "does not exist",
                    "Give the path of a mailing folder or of its mailing.toml." + _nearby(typed),
                )
            ]
        ) from None
    except OSError as exc:
        raise MailingError(
            [Problem(Location(file=path), f"cannot be read ({exc.strerror})", "Check the path.")]
        ) from None
    if path.suffix.lower() in WORKBOOK_SUFFIXES or raw.startswith(_WORKBOOK_MAGIC):
        raise MailingError(
            [
                Problem(
                    Location(file=path),
                    "is a workbook (the addressees), where a mailing is expected",
                    "Give the mailing folder (or its mailing.toml); the workbook goes to "
                    "--contacts or to the mailing's contacts key.",
                )
            ]
        )
    try:
        text = raw.decode("utf-8-sig")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise MailingError(
            [Problem(Location(file=path), "is not UTF-8 text", "Save it as UTF-8.")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        # "(at end of document)": the last line, where the reader ran out of text
        line = int(found.group(1)) if found else len(text.rstrip("\n").split("\n"))
        msg = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise MailingError(
            [
                Problem(
                    Location(file=path, line=line),
                    f"is not valid TOML: {msg}",
                    "Correct the syntax (strings in double quotes, dates unquoted).",
                )
            ]
        ) from None
    problems: list[Problem] = []
    for key in ("path", "head"):  # set by dispatch, not by the file: unknown keys there
        if key in data:
            problems.append(
                Problem(
                    Location(file=path, field=key),
                    "is not a field of a mailing file here",
                    "Remove it, or check its spelling.",
                    value=key,
                )
            )
    given = None if templates is None else str(templates.resolve())
    problems += register_languages(path.parent, given or data.get("templates"))
    try:
        mailing = Mailing.model_validate({**data, "path": path, "head": None})
    except ValidationError as exc:
        raise MailingError(problems + problems_from_validation(path, exc)) from None
    problems += check_languages(mailing) + check_annexes(mailing) + empty_annexes(mailing)
    problems += check_layout(mailing)
    if mailing.letterhead is not None:
        try:
            head = resolve_letterhead(mailing.letterhead, path)
        except MailingError as exc:
            problems += exc.problems
        else:
            mailing = mailing.model_copy(update={"head": head})
    if problems:
        raise MailingError(problems)
    return mailing
