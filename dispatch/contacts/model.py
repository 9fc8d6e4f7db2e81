"""The values a contacts workbook holds, typed: addressees and the categories they are in.

These are what the later stages (render, messages, the journal) receive; they know
nothing of files. :mod:`dispatch.contacts.validate` builds them from a workbook's rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch.errors import Problem

__all__ = [
    "CATEGORY_COLUMNS",
    "CONTACT_COLUMNS",
    "HEADER_COLUMNS",
    "Addressee",
    "Category",
    "Column",
    "Contacts",
]

#: column → (required, what it holds)
CONTACT_COLUMNS: dict[str, tuple[bool, str]] = {
    "email": (True, "the addressee's e-mail address"),
    "civility": (False, "Mme, M., Dr, S.E. M. … (used in a personal salutation)"),
    "first_name": (False, "first name"),
    "last_name": (False, "last name"),
    "function": (False, "function or title, e.g. Director"),
    "organisation": (False, "ministry, company, university…"),
    "country": (False, "country"),
    "categories": (True, "one or more category codes, separated by ; or ,"),
    "language": (True, "the code or name of a language dispatch writes in"),
    "salutation": (False, "a personal salutation replacing « Madame, Monsieur, »"),
    "cc": (False, "addresses to copy, separated by ;"),
    "active": (False, "yes or no (empty means yes)"),
    "attachments": (
        False,
        "files for this addressee only, relative to the mailing's folder, separated by ;",
    ),
}
CATEGORY_COLUMNS: dict[str, tuple[bool, str]] = {
    "code": (True, "a short code, e.g. MS"),
}
#: and one column per language (its code: fr, en, es, ru, zh, ar...), the addressee line
#: in that language: needed for each language some addressee of the category reads.
#: columns whose values reach a message header: no line break may pass (header injection)
HEADER_COLUMNS = frozenset({"email", "civility", "first_name", "last_name", "cc"})


@dataclass(frozen=True)
class Category:
    """A category of addressees and its line in a letter, per language."""

    code: str
    lines: Mapping[str, str]  # language code → the addressee line in that language
    order: int = 0
    row: int = 0  # in the Categories sheet

    def line(self, lang: str) -> str:
        return self.lines[lang]


@dataclass(frozen=True)
class Addressee:
    """One row of the Contacts sheet, typed and normalised (trimmed, NFC)."""

    row: int
    email: str
    language: str
    categories: tuple[str, ...]
    civility: str = ""
    first_name: str = ""
    last_name: str = ""
    function: str = ""
    organisation: str = ""
    country: str = ""
    salutation: str = ""
    cc: tuple[str, ...] = ()
    active: bool = True
    attachments: tuple[str, ...] = ()  # files for this addressee, relative to the mailing
    #: the workbook's other columns (``registration_code``…), typed: text, a date, a
    #: number, True/False; None for an empty cell
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        """The addressee's id in a mailing: the lower-cased address."""
        return self.email.lower()

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True)
class Column:
    """A column of the Contacts sheet beyond the known ones: ``addressee.<name>`` in a letter.

    ``kind`` is what most of its cells hold: ``text``, ``date``, ``number`` or ``yes/no``.
    """

    name: str  # the header normalised: "Registration code" is registration_code
    header: str  # as the user wrote it
    index: int  # from 0
    kind: str = "text"


@dataclass
class Contacts:
    """A loaded workbook: addressees in row order, categories by code."""

    path: Path
    addressees: list[Addressee]
    categories: dict[str, Category]
    warnings: list[Problem] = field(default_factory=list)
    # file → SHA-256 of the bytes these addressees were read from (workbook, categories)
    digests: dict[Path, str] = field(default_factory=dict)
    #: the Contacts sheet's columns beyond the known ones, in sheet order
    columns: list[Column] = field(default_factory=list)
    #: every column's header as the user wrote it, by normalised name (known ones too)
    headers: dict[str, str] = field(default_factory=dict)
