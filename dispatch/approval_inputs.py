"""What an approval records of a mailing's inputs, and what changed since, in the user's terms.

An approval's manifest holds the SHA-256 of every input (the one list of
:func:`dispatch.inputs.mailing_inputs`, each at its place relative to the mailing folder),
one digest per workbook row and per field and body paragraph of the mailing file.
:func:`input_changes` compares them with the inputs as they are now and says what
changed: the file; the workbook rows added, removed or edited, with their sheet and row;
the mailing file's fields and paragraphs (comments and layout alone change nothing).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatch.contacts import CATEGORIES_SHEET, CONTACTS_SHEET, Addressee, Contacts
from dispatch.errors import Location, Problem
from dispatch.inputs import mailing_inputs
from dispatch.mailing import Mailing
from dispatch.personal import PersonalFile

__all__ = ["AGAIN", "Inputs", "WorkbookRow", "input_changes", "read_inputs", "sha256_hex"]

AGAIN = "Approve again with dispatch approve."


@dataclass(frozen=True)
class WorkbookRow:
    """One addressee row of the workbook, as the approval saw it."""

    key: str
    sheet: str
    row: int
    sha256: str


@dataclass(frozen=True)
class Inputs:
    """The digests of what a mailing's messages are made from.

    ``files``: each input file by label (``mailing``, ``workbook``, ``categories``,
    ``letterhead``, ``logo``, ``template fr/invitation.html``, ``annex programme.pdf``)
    → ``{"path", "sha256"}``, the path relative to the mailing folder (see
    :func:`dispatch.inputs.recorded_place`). ``rows``: each addressee row.
    ``categories``: the Categories sheet as loaded. ``fields``: each top-level field of
    the mailing file, and each body paragraph (``body.intro``), by name → digest.
    ``located``: where each file is now (for messages; not recorded).
    """

    files: Mapping[str, Mapping[str, str]]
    rows: tuple[WorkbookRow, ...]
    categories: str
    fields: Mapping[str, str]
    located: Mapping[str, Path] = dataclasses.field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "files": {k: dict(v) for k, v in self.files.items()},
            "workbook_rows": [dataclasses.asdict(r) for r in self.rows],
            "categories": self.categories,
            "mailing_fields": dict(self.fields),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inputs:
        return cls(
            files={k: dict(v) for k, v in data["files"].items()},
            rows=tuple(WorkbookRow(**r) for r in data["workbook_rows"]),
            categories=data["categories"],
            fields=dict(data["mailing_fields"]),
        )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _value_digest(value: Any) -> str:
    return sha256_hex(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode())


def _row_digest(person: Addressee) -> str:
    values = dataclasses.asdict(person)
    values.pop("row")
    return _value_digest(values)


def read_inputs(
    mailing: Mailing,
    contacts: Contacts,
    templates: Path,
    personal: Iterable[PersonalFile] = (),
) -> Inputs:
    """The digests of every input of ``mailing`` as loaded now (``personal``: the files
    of single addressees the letters carry).

    Raises :class:`OSError` if a file cannot be read.
    """
    files: dict[str, dict[str, str]] = {}
    located: dict[str, Path] = {}
    for item in mailing_inputs(mailing, contacts.path, templates, personal):
        files[item.label] = {"path": item.recorded, "sha256": sha256_hex(item.path.read_bytes())}
        located[item.label] = item.path
    rows = tuple(
        WorkbookRow(p.key, CONTACTS_SHEET, p.row, _row_digest(p)) for p in contacts.addressees
    )
    categories = _value_digest(
        {code: dataclasses.asdict(c) for code, c in sorted(contacts.categories.items())}
    )
    with mailing.path.open("rb") as handle:
        document = tomllib.load(handle)
    fields: dict[str, str] = {}
    for name, value in document.items():
        if name == "approval":  # whether one is required changes no message
            continue
        if name == "body" and isinstance(value, dict):
            for paragraph, text in value.items():
                fields[f"body.{paragraph}"] = _value_digest(text)
        else:
            fields[name] = _value_digest(value)
    return Inputs(files, rows, categories, fields, located)


def input_changes(before: Inputs, now: Inputs) -> list[Problem]:
    """What changed between the approval's inputs (``before``) and ``now``, one problem
    per change, in the user's terms."""
    problems: list[Problem] = []

    def changed(where: Location, what: str) -> None:
        problems.append(Problem(where, what + " since the approval", AGAIN))

    for label in sorted(before.files.keys() | now.files.keys()):
        old, new = before.files.get(label), now.files.get(label)
        if label in ("mailing", "workbook") and old and new and old["sha256"] != new["sha256"]:
            continue  # said in detail below
        if old is None and new is not None:
            changed(Location(file=now.located.get(label, new["path"])), f"{label} was added")
        elif new is None and old is not None:
            changed(Location(file=old["path"]), f"{label} was removed")
        elif old is not None and new is not None:
            where = Location(file=now.located.get(label, new["path"]))
            if old["path"] != new["path"]:
                changed(where, f"is not the {label} approved ({old['path']})")
            elif old["sha256"] != new["sha256"]:
                changed(where, f"{label} changed")
    problems += _workbook_changes(before, now)
    problems += _mailing_changes(before, now)
    return problems


def _workbook_changes(before: Inputs, now: Inputs) -> list[Problem]:
    old_file, new_file = before.files.get("workbook"), now.files.get("workbook")
    if old_file is None or new_file is None or old_file["sha256"] == new_file["sha256"]:
        return []
    if old_file["path"] != new_file["path"]:
        return []  # said as "not the workbook approved"
    path = now.located.get("workbook", new_file["path"])
    old = {r.key: r for r in before.rows}
    new = {r.key: r for r in now.rows}
    problems: list[Problem] = []
    for key, row in new.items():
        if key not in old:
            where = Location(file=path, sheet=row.sheet, row=row.row)
            problems.append(Problem(where, f"addressee {key} was added since the approval", AGAIN))
        elif old[key].sha256 != row.sha256:
            where = Location(file=path, sheet=row.sheet, row=row.row)
            problems.append(Problem(where, f"addressee {key} was edited since the approval", AGAIN))
    for key, row in old.items():
        if key not in new:
            where = Location(file=path, sheet=row.sheet, row=row.row)
            problems.append(
                Problem(where, f"addressee {key} was removed since the approval", AGAIN)
            )
    if before.categories != now.categories:
        where = Location(file=path, sheet=CATEGORIES_SHEET)
        problems.append(Problem(where, "the categories changed since the approval", AGAIN))
    if not problems:
        problems.append(
            Problem(
                Location(file=path),
                "changed since the approval (not its addressees or categories: another "
                "sheet, or its formatting)",
                AGAIN,
            )
        )
    return problems


def _mailing_changes(before: Inputs, now: Inputs) -> list[Problem]:
    old_file, new_file = before.files.get("mailing"), now.files.get("mailing")
    if old_file is None or new_file is None or old_file["sha256"] == new_file["sha256"]:
        return []
    path = now.located.get("mailing", new_file["path"])
    problems: list[Problem] = []
    for name in sorted(before.fields.keys() | now.fields.keys()):
        old, new = before.fields.get(name), now.fields.get(name)
        if old == new:
            continue
        what = "paragraph" if name.startswith("body.") else "field"
        verb = "was added" if old is None else "was removed" if new is None else "changed"
        problems.append(
            Problem(Location(file=path, field=name), f"the {what} {verb} since the approval", AGAIN)
        )
    return problems  # comments and layout alone change no message
