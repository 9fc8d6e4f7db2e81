"""The schema of a language definition file (``templates/<code>/language.toml``), read by
:func:`dispatch.languages.parse`: pydantic models, loaded only when a file is read."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NBSP = "\u00a0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dates(_Model):
    style: Literal["letter", "cldr"] = "letter"
    weekday_after: str = ", "
    day_month: str = " "
    month_year: str = " "
    first_of_month: tuple[str, str] | None = None
    article: str = ""
    place: str = "{place}, {date}"
    range_running: tuple[str, str] = ("from ", " to ")
    range_big_endian: bool = False
    digits: Literal["latn", "arab"] = "latn"


class Times(_Model):
    time: str = "{hour:02d}:{minute:02d}"
    range: str = "{first} to {last}"
    range_zone: str = "{range} ({zone})"
    zone: str = "{place} time"
    zone_elided: str | None = None
    deadline: str = "{date}, {clock} {zone}"
    deadline_labelled: str = "{date}, {clock} {zone}"
    places: dict[str, str] = Field(default_factory=dict)


class Numbers(_Model):
    percent: str = "{number}%"
    amount: str = "{currency}" + NBSP + "{number}"
    list_separator: str = ", "
    conjunctions: dict[str, str] = Field(default_factory=lambda: {"and": "and", "or": "or"})
    attached: list[Literal["and", "or"]] = Field(default_factory=list)


class Ordinals(_Model):
    style: Literal["english", "french", "indicator", "pattern"] = "pattern"
    masculine: str = "{n}"
    feminine: str = "{n}"
    words: Literal["num2words", "french", "none"] = "num2words"


class Typography(_Model):
    spacing: Literal["french", "none"] = "none"
    quotes: tuple[str, str, str, str] = ("“", "”", "‘", "’")
    elided_years: bool = False
    no_break_before_dash: bool = False
    script: str = ""
    punctuation: dict[str, str] = Field(default_factory=dict)
    no_space_between_letters: bool = False


class LabelsModel(_Model):
    reference: str = "Ref."
    colon: str = ":"
    links_heading: str = "Links:"
    link: str = "Link"
    virtual_meeting: str = "Virtual meeting"
    calendar_links: dict[str, str] = Field(default_factory=dict)


class Degrees(_Model):
    high: str  # to whom the mailing's [consideration] high names: "haute considération"
    usual: str  # to the others: "considération distinguée"


class LanguageFile(_Model):
    code: str
    order: int = 100  # where it comes in lists of languages (the preview, check)
    default: bool = False  # a mailing that names no languages writes in it
    names: dict[str, str]
    aliases: list[str] = Field(default_factory=list)
    locale: str = ""
    salutation: str
    closing: str = ""
    degrees: Degrees | None = None
    agree: Literal["french"] | None = None
    direction: Literal["ltr", "rtl"] = "ltr"
    line_breaking: Literal["western", "cjk"] = "western"
    fonts: list[str] = Field(default_factory=list)
    dates: Dates = Dates()
    times: Times = Times()
    numbers: Numbers = Numbers()
    ordinals: Ordinals = Ordinals()
    typography: Typography = Typography()
    labels: LabelsModel = LabelsModel()
