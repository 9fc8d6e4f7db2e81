"""Approval: render a mailing once, freeze it, and send exactly what was approved.

``dispatch approve`` writes every message of the mailing, exactly as it will be sent (the
``.eml`` bytes with the PDF letter and the attachments), into an archive folder beside
the mailing file::

    <mailing folder>/approved/<YYYYmmddTHHMMSSZ>/
        manifest.json           who approved, when, the digest of every input and message
        messages/<lang>/<stem>.eml

The newest folder holding a ``manifest.json`` is the mailing's approval (the manifest is
written last, so a folder whose writing was interrupted is no approval). ``send`` then
sends those bytes (:func:`approved_outgoing`), after checking that no input changed since:
if one did, it refuses and says what changed in the user's terms (the file; the workbook
rows added, removed or edited, with their sheet and row; the mailing file's fields and
paragraphs).

Nothing here prints: functions return values or raise :class:`ApprovalError`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispatch import __version__
from dispatch.compose import Composer, outgoing, validate_sizes
from dispatch.contacts import CATEGORIES_SHEET, CONTACTS_SHEET, Addressee, Contacts
from dispatch.errors import DispatchError, InvalidInput, Location, Problem
from dispatch.files import private_dir, write_atomic
from dispatch.journal import Journal, journal_path
from dispatch.mailing import Mailing
from dispatch.outgoing import Outgoing
from dispatch.personal import PersonalFile
from dispatch.prepare import Prepared, prepare
from dispatch.templates import TemplateSet

__all__ = [
    "APPROVED_DIR",
    "Approval",
    "ApprovalError",
    "ApprovedMessage",
    "Inputs",
    "WorkbookRow",
    "approval_folder",
    "approve",
    "approve_mailing",
    "approved_outgoing",
    "current_approval",
    "input_changes",
    "read_inputs",
]

APPROVED_DIR = "approved"
MANIFEST = "manifest.json"
AGAIN = "Approve again with dispatch approve."


class ApprovalError(InvalidInput):
    """The approval cannot be used: missing where required, or its inputs changed."""


# -- what an approval records ----------------------------------------------------------


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
    ``template fr/invitation.html``, ``annex programme.pdf``) → ``{"path", "sha256"}``.
    ``rows``: each addressee row. ``categories``: the Categories sheet as loaded.
    ``fields``: each top-level field of the mailing file, and each body paragraph
    (``body.intro``), by name → digest.
    """

    files: Mapping[str, Mapping[str, str]]
    rows: tuple[WorkbookRow, ...]
    categories: str
    fields: Mapping[str, str]

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


@dataclass(frozen=True)
class ApprovedMessage:
    """One frozen message: who it is for, and the file holding its exact bytes."""

    key: str
    addressee: str
    name: str
    language: str
    categories: tuple[str, ...]
    message_id: str
    sha256: str  # of the .eml bytes
    file: str  # relative to the approval folder
    digest: str  # the content digest the journal compares (dispatch.message.content_digest)
    sender: str
    recipients: tuple[str, ...]
    sheet: str
    row: int


@dataclass(frozen=True)
class Approval:
    """An approval as its manifest holds it."""

    id: str
    folder: Path
    approved_by: str
    approved_at: datetime
    version: str
    inputs: Inputs
    messages: tuple[ApprovedMessage, ...]

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST

    def counts(self) -> dict[tuple[str, str], int]:
        """Messages per (language, category code)."""
        out: dict[tuple[str, str], int] = {}
        for message in self.messages:
            for code in message.categories:
                out[(message.language, code)] = out.get((message.language, code), 0) + 1
        return out

    def per_language(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for message in self.messages:
            out[message.language] = out.get(message.language, 0) + 1
        return out

    def line(self) -> str:
        """``approved by Jane Doe at 2026-11-30 10:12 UTC``."""
        return f"approved by {self.approved_by} at {self.approved_at:%Y-%m-%d %H:%M} UTC"


# -- reading the inputs ----------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _value_digest(value: Any) -> str:
    return _sha256(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode())


def _row_digest(person: Addressee) -> str:
    values = dataclasses.asdict(person)
    values.pop("row")
    return _value_digest(values)


def _file(path: Path) -> dict[str, str]:
    return {"path": str(path.resolve()), "sha256": _sha256(path.read_bytes())}


def personal_files(prepared: Prepared) -> list[PersonalFile]:
    """The files of single addressees that the prepared letters carry, each once."""
    return list({f.name: f for letter in prepared.letters for f in letter.files}.values())


def read_inputs(
    mailing: Mailing,
    contacts: Contacts,
    templates: Path,
    personal: Iterable[PersonalFile] = (),
) -> Inputs:
    """The digests of every input of ``mailing`` as loaded now; ``personal``: the files
    of single addressees (their digests as checked).

    Raises :class:`OSError` if a file cannot be read.
    """
    files: dict[str, dict[str, str]] = {"mailing": _file(mailing.path)}
    files["workbook"] = _file(contacts.path)
    companion = contacts.path.with_name(contacts.path.stem + ".categories.csv")
    if contacts.path.suffix.lower() == ".csv" and companion.is_file():
        files["categories"] = _file(companion)
    root = templates.resolve()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        files[f"template {path.relative_to(root).as_posix()}"] = _file(path)
    for annex in mailing.annexes:
        attached = mailing.annex_path(annex)
        if attached is not None:
            files[f"annex {annex.file}"] = _file(attached)
    for own in personal:
        files[f"file {own.name}"] = {"path": str(own.path.resolve()), "sha256": own.sha256}
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
    return Inputs(files, rows, categories, fields)


def input_changes(approval: Approval, now: Inputs) -> list[Problem]:
    """What changed between the approval's inputs and ``now``, one problem per change."""
    before = approval.inputs
    problems: list[Problem] = []

    def changed(where: Location, what: str) -> None:
        problems.append(Problem(where, what + " since the approval", AGAIN))

    for label in sorted(before.files.keys() | now.files.keys()):
        old, new = before.files.get(label), now.files.get(label)
        if label in ("mailing", "workbook") and old and new and old["sha256"] != new["sha256"]:
            continue  # said in detail below
        if old is None and new is not None:
            changed(Location(file=new["path"]), f"{label} was added")
        elif new is None and old is not None:
            changed(Location(file=old["path"]), f"{label} was removed")
        elif old is not None and new is not None:
            if old["path"] != new["path"]:
                changed(
                    Location(file=new["path"]),
                    f"is not the {label} approved ({old['path']})",
                )
            elif old["sha256"] != new["sha256"]:
                changed(Location(file=new["path"]), f"{label} changed")
    problems += _workbook_changes(before, now)
    problems += _mailing_changes(before, now)
    return problems


def _workbook_changes(before: Inputs, now: Inputs) -> list[Problem]:
    old_file, new_file = before.files.get("workbook"), now.files.get("workbook")
    if old_file is None or new_file is None or old_file["sha256"] == new_file["sha256"]:
        return []
    if old_file["path"] != new_file["path"]:
        return []  # said as "not the workbook approved"
    path = new_file["path"]
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
    path = new_file["path"]
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


# -- approving -------------------------------------------------------------------------


def approval_folder(mailing: Mailing) -> Path:
    """Where a mailing's approvals are kept: ``<mailing folder>/approved/``."""
    return mailing.folder / APPROVED_DIR


def approve(prepared: Prepared, by: str, *, when: datetime | None = None) -> Approval:
    """Render every message of ``prepared`` once and freeze it; return the approval.

    The messages carry the Message-IDs the journal fixed for their addressees, if a
    send began before; the manifest is written last.
    """
    name = by.strip()
    mailing = prepared.mailing
    if not name or any(c in name for c in "\r\n\x00"):
        raise ApprovalError(
            [Problem(Location(field="--by"), "names nobody", "Give the approver's name.")]
        )
    moment = (when or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    try:
        inputs = read_inputs(
            mailing, prepared.contacts, prepared.templates.root, personal_files(prepared)
        )
    except OSError as error:
        raise _unreadable(error) from None
    composer = Composer(prepared, when=moment, attach_pdf=mailing.attach_pdf)
    validate_sizes(composer, mailing.max_message_mb)
    fixed = _journal_message_ids(mailing)
    root = approval_folder(mailing)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    folder = root / stamp
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = root / f"{stamp}-{suffix}"
    private_dir(folder / "messages")
    messages: list[ApprovedMessage] = []
    for letter in prepared.letters:
        planned = outgoing(composer, letter)
        data = composer.message_bytes(letter)
        message_id = fixed.get(planned.key, planned.message_id)
        if message_id != planned.message_id:  # the journal's, fixed by an earlier send
            data = _replace_message_id(data, planned.message_id, message_id)
        relative = f"messages/{letter.lang}/{letter.stem}.eml"
        write_atomic(folder / relative, data, private=True)
        person = letter.addressee
        messages.append(
            ApprovedMessage(
                key=planned.key,
                addressee=person.email,
                name=person.full_name,
                language=letter.lang,
                categories=letter.categories,
                message_id=message_id,
                sha256=_sha256(data),
                file=relative,
                digest=planned.digest,
                sender=planned.sender,
                recipients=planned.recipients,
                sheet=CONTACTS_SHEET,
                row=person.row,
            )
        )
    identity = _sha256(json.dumps([folder.name, by, [m.sha256 for m in messages]]).encode())[:12]
    approval = Approval(
        id=f"{folder.name}-{identity}",
        folder=folder,
        approved_by=name,
        approved_at=moment,
        version=__version__,
        inputs=inputs,
        messages=tuple(messages),
    )
    write_atomic(folder / MANIFEST, _manifest_bytes(approval), private=True)
    return approval


def _journal_message_ids(mailing: Mailing) -> dict[str, str]:
    path = journal_path(mailing.folder)
    if not path.exists():
        return {}
    with Journal.open(path, readonly=True) as journal:
        return journal.message_ids()


def _replace_message_id(data: bytes, old: str, new: str) -> bytes:
    head, sep, body = data.partition(b"\r\n\r\n")
    line = f"Message-ID: {old}\r\n".encode()
    if line not in head + b"\r\n":
        raise RuntimeError(f"no Message-ID {old} in the message's header")
    return (head + b"\r\n").replace(line, f"Message-ID: {new}\r\n".encode(), 1)[:-2] + sep + body


def _manifest_bytes(approval: Approval) -> bytes:
    data = {
        "id": approval.id,
        "approved_by": approval.approved_by,
        "approved_at": approval.approved_at.isoformat(),
        "dispatch_version": approval.version,
        "inputs": approval.inputs.as_json(),
        "messages": [dataclasses.asdict(m) for m in approval.messages],
    }
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _unreadable(error: OSError) -> ApprovalError:
    where = Location(file=error.filename) if error.filename else Location()
    return ApprovalError(
        [Problem(where, f"cannot be read ({error.strerror or error})", "Check it and run again.")]
    )


# -- reading an approval ---------------------------------------------------------------


def current_approval(mailing: Mailing) -> Approval | None:
    """The mailing's approval (the newest complete one), or None if it has none."""
    root = approval_folder(mailing)
    if not root.is_dir():
        return None
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True):
        manifest = folder / MANIFEST
        if manifest.is_file():
            return _read_manifest(manifest)
    return None


def _read_manifest(path: Path) -> Approval:
    try:
        data = json.loads(path.read_text("utf-8"))
        return Approval(
            id=data["id"],
            folder=path.parent,
            approved_by=data["approved_by"],
            approved_at=datetime.fromisoformat(data["approved_at"]),
            version=data["dispatch_version"],
            inputs=Inputs.from_json(data["inputs"]),
            messages=tuple(
                ApprovedMessage(
                    **{
                        **m,
                        "categories": tuple(m["categories"]),
                        "recipients": tuple(m["recipients"]),
                    }
                )
                for m in data["messages"]
            ),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ApprovalError(
            [
                Problem(
                    Location(file=path),
                    f"cannot be read as an approval ({error})",
                    "Restore it from the archive, or approve again with dispatch approve.",
                )
            ]
        ) from None


# -- sending what was approved -----------------------------------------------------------


def approved_outgoing(
    prepared: Prepared, messages: Sequence[Outgoing]
) -> tuple[Outgoing, ...] | None:
    """The approved messages to send in place of ``messages``, or None to send those.

    None when the mailing has no approval and does not require one (``approval =
    "optional"``, the default). Otherwise the inputs are compared with the approval's:
    any change, an approval required but missing, or a message of this run that the
    approval does not hold, raises :class:`ApprovalError` saying what to do. Each message
    returned reads its bytes from the approval folder and checks them against the
    manifest's digest before they leave.
    """
    mailing = prepared.mailing
    approval = current_approval(mailing)
    if approval is None:
        if mailing.approval == "required":
            raise ApprovalError(
                [
                    Problem(
                        Location(file=mailing.path, field="approval"),
                        'says "required" and the mailing has not been approved',
                        "Have it approved with dispatch approve, then send.",
                    )
                ]
            )
        return None
    try:
        now = read_inputs(
            mailing, prepared.contacts, prepared.templates.root, personal_files(prepared)
        )
    except OSError as error:
        raise _unreadable(error) from None
    problems = input_changes(approval, now)
    held = {m.key: m for m in approval.messages}
    for message in messages:
        if message.key not in held:
            problems.append(
                Problem(
                    Location(file=approval.manifest),
                    f"holds no message to {message.key}",
                    AGAIN,
                )
            )
    if not problems:  # the frozen bytes themselves, before anything leaves
        for message in messages:
            frozen = held[message.key]
            try:
                _Frozen(approval.folder / frozen.file, frozen.sha256)()
            except OSError as error:
                problems.append(
                    Problem(
                        Location(file=approval.folder / frozen.file),
                        f"cannot be read ({error.strerror or error})",
                        AGAIN,
                    )
                )
            except FrozenMessageChanged as changed:
                problems.append(
                    Problem(
                        Location(file=changed.path),
                        "was changed after the approval (its digest is not the manifest's)",
                        AGAIN,
                    )
                )
    if problems:
        raise ApprovalError(problems)
    return tuple(_outgoing(approval, held[m.key], m) for m in messages)


def _outgoing(approval: Approval, frozen: ApprovedMessage, rendered: Outgoing) -> Outgoing:
    return Outgoing(
        key=frozen.key,
        message_id=frozen.message_id,
        sender=frozen.sender,
        recipients=frozen.recipients,
        data=_Frozen(approval.folder / frozen.file, frozen.sha256),
        digest=frozen.digest,
        language=frozen.language,
        categories=rendered.categories,
        approval=approval.id,
    )


@dataclass(frozen=True)
class _Frozen:
    """Reads an approved message's bytes when it is sent, refusing bytes that changed."""

    path: Path
    sha256: str

    def __call__(self) -> bytes:
        data = self.path.read_bytes()
        if _sha256(data) != self.sha256:
            raise FrozenMessageChanged(self.path)
        return data


class FrozenMessageChanged(DispatchError):
    """An approved message's file no longer holds the bytes that were approved."""

    exit_code = 2

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"{path}: this approved message was changed after the approval, so it is not "
            f"sent. {AGAIN}"
        )


def summary_rows(approval: Approval, languages: Iterable[str]) -> list[tuple[str, str, int]]:
    """(language, category, count) for the approval, languages in the mailing's order."""
    counts = approval.counts()
    order = list(languages)
    return sorted(
        ((lang, code, n) for (lang, code), n in counts.items()),
        key=lambda t: (order.index(t[0]) if t[0] in order else 99, t[1]),
    )


def approve_mailing(
    mailing: str | Path,
    by: str,
    *,
    contacts: Path | None = None,
    templates: Path | None = None,
    when: datetime | None = None,
) -> tuple[Prepared, Approval]:
    """Validate ``mailing`` (every addressee), then :func:`approve` it; both are returned."""
    prepared = prepare(
        Path(mailing),
        contacts_path=contacts,
        templates=TemplateSet(templates) if templates is not None else None,
    )
    return prepared, approve(prepared, by, when=when)
