"""docs/fields.md tells every field and placeholder there is, and no other.

The fields come from the code's own list: the pydantic models of the mailing file
(``dispatch/mailing.py``) and of the letterhead (``dispatch/letterhead.py``), walked from
:class:`~dispatch.mailing.Mailing` down. The placeholders are what the letter templates
are given, recorded while the samples render. A field added to a model without its line
in docs/fields.md fails here, and so does a documented field that no longer exists.
"""

from __future__ import annotations

import re
import tomllib
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

import dispatch.render
from dispatch.letterhead import _Lines, _Text
from dispatch.mailing import Lines, Mailing, Text
from dispatch.placeholders import Namespace, Unset
from dispatch.prepare import prepare
from dispatch.templates import LINKS
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "fields.md").read_text(encoding="utf-8")
FIELDS_PART, PLACEHOLDERS_PART = DOC.split("\n## Placeholders\n", 1)
_LEAVES = (Text, Lines, _Text, _Lines)  # a value per language: one field, not a table
_ROW = re.compile(r"^\| `([^`]+)` \|(.*)$", re.MULTILINE)
SAMPLES = {
    p.parent.name: tomllib.loads(p.read_text(encoding="utf-8"))
    for p in sorted((ROOT / "mailings").glob("*/mailing.toml"))
}


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models (tables of the file) an annotation holds: ``X``, ``X | None``, ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [] if annotation in _LEAVES else [annotation]
    if typing.get_origin(annotation) is dict:
        return []  # body, values, links: keys of the user's own
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def model_fields(model: type[BaseModel] = Mailing, prefix: str = "") -> Iterator[str]:
    """Every field a mailing file may set, dotted: ``event.zone_label``, ``signatories.name``."""
    for name, field in model.model_fields.items():
        if field.exclude or name == "other_languages":
            continue
        yield prefix + name
        for inner in _models(field.annotation):
            yield from model_fields(inner, f"{prefix}{name}.")


def documented(part: str) -> dict[str, list[str]]:
    return {m.group(1): [c.strip() for c in m.group(2).split("|")] for m in _ROW.finditer(part)}


def _sets(data: Any, path: str) -> bool:
    values = [data]
    for key in path.split("."):
        found: list[Any] = []
        for value in values:
            for table in value if isinstance(value, list) else [value]:
                if isinstance(table, dict) and key in table:
                    found.append(table[key])
        values = found
    return bool(values)


def test_every_field_of_the_models_has_its_line_and_every_line_a_field() -> None:
    in_code = list(model_fields())
    in_doc = documented(FIELDS_PART)
    assert len(in_code) > 60  # the walk found the tables, not just the top level
    assert sorted(set(in_code) - set(in_doc)) == [], "fields without a line in docs/fields.md"
    assert sorted(set(in_doc) - set(in_code)) == [], "docs/fields.md names fields that are not"


def test_the_samples_column_says_which_samples_set_each_field() -> None:
    for name, cells in documented(FIELDS_PART).items():
        said = [] if cells[2] == "—" else [s.strip() for s in cells[2].split(",")]
        really = [sample for sample, data in SAMPLES.items() if _sets(data, name)]
        assert said == really, name


def test_the_fields_the_issue_named_are_explained() -> None:
    for words in (
        "`event.zone_label`",
        "`salutation_in_closing`",
        "**To change\none language only**",
        "**adds no paragraph by itself**",  # issue 24: only registration_paragraph = true
        "## What the kind changes",
        "**to leave the letterhead out**",
        "Yours faithfully,",
        "Veuillez agréer, <salutation>, l'assurance de ma considération distinguée.",
    ):
        assert words in DOC, words


def _flat(name: str, value: Any) -> Iterator[str]:
    if isinstance(value, Namespace):
        if value.path in ("event.links", "values"):  # keys of the mailing's own
            yield f"{name}.<name>"
            return
        for key, inner in value.values.items():
            yield from _flat(f"{name}.{key}", inner)
    elif isinstance(value, list) and value and isinstance(value[0], Namespace):
        for key in value[0].values:
            yield f"{name}[i].{key}"
    else:
        yield name


@pytest.fixture(scope="module")
def placeholders() -> set[str]:
    """What the letter templates are given, recorded while the samples render."""
    given: dict[str, Any] = {}
    real = dispatch.render.render

    def recording(template: Any, context: Any, *more: Any) -> str:
        if template.name and template.name.endswith(".html"):
            for key, value in context.items():
                if key not in given or isinstance(given[key], Unset) or not given[key]:
                    given[key] = value
        return real(template, context, *more)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dispatch.render, "render", recording)
        for sample in SAMPLES:
            prepare(ROOT / "mailings" / sample, contacts_path=ROOT / "contacts.xlsx")
    given.pop(LINKS)  # the text letter's list of link addresses: the renderer's own
    return {name for key, value in given.items() for name in _flat(key, value)}


@pytest.mark.heavy  # renders every sample
def test_every_placeholder_has_its_line_and_every_line_a_placeholder(
    placeholders: set[str],
) -> None:
    in_doc = set(documented(PLACEHOLDERS_PART))
    assert sorted(placeholders - in_doc) == [], "placeholders without a line in docs/fields.md"
    assert sorted(in_doc - placeholders) == [], "docs/fields.md names placeholders that are not"


def test_the_readme_sends_the_reader_to_the_field_reference() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/fields.md" in readme
