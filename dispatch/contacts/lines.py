"""The addressee lines of the Categories sheet, one column per language: a category needs
its line in every language one of its addressees reads (:func:`lines_unread`), and in
every language of the letters that list it (:func:`lines_missing_for_letters`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from dispatch import languages
from dispatch.contacts.model import Addressee, Category, Contacts
from dispatch.contacts.reading import CATEGORIES_SHEET
from dispatch.errors import Location, Problem

__all__ = ["lines_missing_for_letters", "lines_unread"]

_HINT = (
    'Add a column "{lang}" to the {sheet} sheet if there is none, write the line in its '
    "cell, and run again."
)


def _name(lang: str) -> str:
    return languages.get(lang).name if languages.is_known(lang) else lang


def lines_unread(
    path: Path, sheet: str, categories: dict[str, Category], addressees: list[Addressee]
) -> list[Problem]:
    """A category without its line in a language one of its addressees reads: one problem
    per category and language, with how many addressees read it."""
    readers: dict[tuple[str, str], int] = {}
    for person in addressees:
        for code in person.categories:
            category = categories.get(code)
            if category is not None and person.language not in category.lines:
                key = (code, person.language)
                readers[key] = readers.get(key, 0) + 1
    problems = []
    for (code, lang), count in readers.items():
        category = categories[code]
        name = _name(lang)
        people = f"{count} addressee{'s' if count > 1 else ''}"
        problems.append(
            Problem(
                Location(file=path, sheet=sheet, row=category.row, column=lang),
                f"category {code} has no addressee line in {name} ({lang}), which {people} "
                f"of it read{'s' if count == 1 else ''}",
                _HINT.format(lang=lang, sheet=sheet),
            )
        )
    return problems


def lines_missing_for_letters(
    contacts: Contacts, sides: Mapping[str, Sequence[str]], letter_languages: Iterable[str]
) -> list[Problem]:
    """A category a letter lists (``sides``: ``{"to": [...], "cc": [...]}``) without its
    line in the letter's language: one problem per category, side and language."""
    path, sheet, categories = contacts.path, CATEGORIES_SHEET, contacts.categories
    read = set(letter_languages)
    problems = []
    for side, codes in sides.items():
        for code in codes:
            category = categories.get(code.upper())
            if category is None:
                continue  # an unknown code is reported on its own
            for lang in sorted(read - set(category.lines)):
                name = _name(lang)
                problems.append(
                    Problem(
                        Location(file=path, sheet=sheet, row=category.row, column=lang),
                        f"category {category.code} has no addressee line in {name} ({lang}), "
                        f"which the letters in {name} list (addressees.{side})",
                        _HINT.format(lang=lang, sheet=sheet),
                    )
                )
    return problems
