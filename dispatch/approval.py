"""Approval: render a mailing once, freeze it, and send exactly what was approved.

``dispatch approve`` writes every message of the mailing, exactly as it will be sent (the
``.eml`` bytes with the PDF letter and the attachments), into an archive folder beside
the mailing file::

    <mailing folder>/approved/<YYYYmmddTHHMMSSZ>/
        manifest.json           who approved, when, the digest of every input and message
        messages/<lang>/<stem>.eml

The manifest is written last, then the approval is recorded in the mailing's journal with
the digest of its manifest (:mod:`dispatch.approval_journal`): the approval in force is
the one the journal recorded last, and a folder whose writing was interrupted is none.
``send`` then sends those bytes (:func:`approved_outgoing`), after checking that the
manifest still has the recorded digest, that each message still has the manifest's, that
each message's recipients (read from the ``.eml`` itself) are those of its workbook row,
and that no input (:func:`dispatch.inputs.mailing_inputs`) changed since: if one did, it
refuses and says what changed in the user's terms (the file; the workbook rows added,
removed or edited, with their sheet and row; the mailing file's fields and paragraphs).
The one header that differs from the approved bytes is ``Date:``, set when the message
is sent and recorded in the journal.

Nothing here prints: functions return values or raise :class:`ApprovalError`.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import stat
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from dispatch import __version__
from dispatch.approval_journal import ApprovalRecord, approval_in_force, record_approval
from dispatch.compose import Composer, outgoing, validate_sizes
from dispatch.contacts import CATEGORIES_SHEET, CONTACTS_SHEET, Addressee, Contacts
from dispatch.errors import DispatchError, InvalidInput, JournalError, Location, Problem
from dispatch.files import private_dir, write_atomic
from dispatch.inputs import APPROVED_DIR, mailing_inputs
from dispatch.journal import Journal, MailingLock, journal_dir, journal_path
from dispatch.mailing import Mailing
from dispatch.outgoing import Outgoing
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
    "approval_state",
    "approve",
    "approve_mailing",
    "approved_outgoing",
    "current_approval",
    "date_header",
    "input_changes",
    "read_inputs",
]

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


def read_inputs(mailing: Mailing, contacts: Contacts, templates: Path) -> Inputs:
    """The digests of every input of ``mailing`` as loaded now.

    Raises :class:`OSError` if a file cannot be read.
    """
    files: dict[str, dict[str, str]] = {}
    located: dict[str, Path] = {}
    for item in mailing_inputs(mailing, contacts.path, templates):
        files[item.label] = {"path": item.recorded, "sha256": _sha256(item.path.read_bytes())}
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


# -- approving -------------------------------------------------------------------------


def approval_folder(mailing: Mailing) -> Path:
    """Where a mailing's approvals are kept: ``<mailing folder>/approved/``."""
    return mailing.folder / APPROVED_DIR


def approve(prepared: Prepared, by: str, *, when: datetime | None = None) -> Approval:
    """Render every message of ``prepared`` once and freeze it; return the approval.

    The messages carry the Message-IDs the journal fixed for their addressees, if a
    send began before; the manifest is written last, then the approval is recorded in
    the journal (with its manifest's digest) and is in force from then on. Holds the
    mailing's lock throughout: no send runs meanwhile.
    """
    name = by.strip()
    mailing = prepared.mailing
    if not name or any(c in name for c in "\r\n\x00"):
        raise ApprovalError(
            [Problem(Location(field="--by"), "names nobody", "Give the approver's name.")]
        )
    moment = (when or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    try:
        inputs = read_inputs(mailing, prepared.contacts, prepared.templates.root)
    except OSError as error:
        raise _unreadable(error) from None
    composer = Composer(prepared, when=moment, attach_pdf=mailing.attach_pdf)
    validate_sizes(composer, mailing.max_message_mb)
    with (
        MailingLock(journal_dir(mailing.folder) / "lock"),
        Journal.open(journal_path(mailing.folder)) as journal,
    ):
        folder = _new_folder(approval_folder(mailing), moment)
        messages = _freeze(composer, folder, journal.message_ids())
        identity = _sha256(json.dumps([folder.name, by, [m.sha256 for m in messages]]).encode())
        approval = Approval(
            id=f"{folder.name}-{identity[:12]}",
            folder=folder,
            approved_by=name,
            approved_at=moment,
            version=__version__,
            inputs=inputs,
            messages=tuple(messages),
        )
        manifest = _manifest_bytes(approval)
        write_atomic(folder / MANIFEST, manifest, private=True)
        record_approval(
            journal,
            ApprovalRecord(
                id=approval.id,
                folder=folder.relative_to(mailing.folder).as_posix(),
                digest=_sha256(manifest),
                approved_by=name,
                approved_at=moment.isoformat(),
            ),
        )
    return approval


def _new_folder(root: Path, moment: datetime) -> Path:
    """A new folder for an approval made at ``moment``, private (0700)."""
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    folder = root / stamp
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = root / f"{stamp}-{suffix}"
    private_dir(folder / "messages")
    return folder


def _freeze(composer: Composer, folder: Path, fixed: Mapping[str, str]) -> list[ApprovedMessage]:
    """Write each message's bytes into ``folder`` (0600); ``fixed``: the journal's
    Message-IDs, which an addressee keeps."""
    messages: list[ApprovedMessage] = []
    for letter in composer.prepared.letters:
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
    return messages


def _replace_message_id(data: bytes, old: str, new: str) -> bytes:
    head, sep, body = data.partition(b"\r\n\r\n")
    line = f"Message-ID: {old}\r\n".encode()
    if line not in head + b"\r\n":
        raise RuntimeError(f"no Message-ID {old} in the message's header")
    return (head + b"\r\n").replace(line, f"Message-ID: {new}\r\n".encode(), 1)[:-2] + sep + body


def with_date(data: bytes, date: str) -> bytes:
    """``data`` with its ``Date:`` header set to ``date`` (the one header of an approved
    message that is not the approved bytes: it says when the message was sent)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for number, line in enumerate(lines):
        if line[:5].lower() == b"date:":
            end = number + 1
            while end < len(lines) and lines[end][:1] in (b" ", b"\t"):  # folded
                end += 1
            lines[number:end] = [f"Date: {date}".encode("ascii")]
            return b"\r\n".join(lines) + sep + body
    return f"Date: {date}\r\n".encode("ascii") + data


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
    return ApprovalError([cannot_read(where, error)])


def cannot_read(where: Location, error: OSError) -> Problem:
    return Problem(where, f"cannot be read ({error.strerror or error})", "Check it and run again.")


# -- reading an approval ---------------------------------------------------------------


def current_approval(mailing: Mailing) -> Approval | None:
    """The mailing's approval in force: the one its journal recorded last, or None.

    Raises :class:`ApprovalError` if that approval is not as it was recorded (its folder
    gone, its manifest changed since), or if the mailing has approvals that its journal
    never recorded (made by an older version, or the journal was replaced).
    """
    path = journal_path(mailing.folder)
    record: ApprovalRecord | None = None
    unrecorded = sorted(approval_folder(mailing).glob(f"*/{MANIFEST}"))
    if path.exists():
        try:
            with Journal.open(path, readonly=True) as journal:
                record = approval_in_force(journal)
        except JournalError:
            if unrecorded:
                raise
            # No approval was ever written: the send's own opening of the journal
            # says what is wrong with it (or makes a journal left empty whole).
    if record is None:
        if unrecorded:
            raise ApprovalError(
                [
                    Problem(
                        Location(file=unrecorded[-1].parent),
                        "is an approval that the mailing's journal does not record (made by "
                        "an older version of dispatch, or the journal was replaced), so it "
                        "cannot be checked",
                        AGAIN,
                    )
                ]
            )
        return None
    return read_recorded(mailing, record)


def read_recorded(mailing: Mailing, record: ApprovalRecord) -> Approval:
    """The approval ``record`` names, checked: its manifest has the recorded digest."""
    folder = mailing.folder / record.folder
    manifest = folder / MANIFEST
    try:
        data = _read_regular(manifest)
    except FileNotFoundError:
        raise ApprovalError(
            [
                Problem(
                    Location(file=folder),
                    f"is the approval in force (by {record.approved_by}), but it is not there "
                    "any more (moved or deleted)",
                    "Put it back where it was, or approve again with dispatch approve.",
                )
            ]
        ) from None
    except OSError as error:
        raise ApprovalError([cannot_read(Location(file=manifest), error)]) from None
    if _sha256(data) != record.digest:
        raise ApprovalError(
            [
                Problem(
                    Location(file=manifest),
                    "was changed after the approval (it is not the manifest the journal "
                    "recorded when it was approved), so nothing is sent from it",
                    AGAIN,
                )
            ]
        )
    return _parse_manifest(manifest, data)


def _read_regular(path: Path) -> bytes:
    """The bytes of the regular file ``path``, never through a symbolic link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        return handle.read()


def _parse_manifest(path: Path, raw: bytes) -> Approval:
    try:
        data = json.loads(raw.decode("utf-8"))
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
    except (ValueError, KeyError, TypeError) as error:
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
    prepared: Prepared, messages: Sequence[Outgoing], *, when: datetime | None = None
) -> tuple[Outgoing, ...] | None:
    """The approved messages to send in place of ``messages``, or None to send those.

    None when the mailing has no approval and does not require one (``approval =
    "optional"``, the default). Otherwise the approval in force is checked
    (:func:`current_approval`) and the inputs compared with its: any change, an
    approval required but missing, or a message of this run that the approval does not
    hold, raises :class:`ApprovalError` saying what to do. So does a message whose
    bytes changed, or whose recipients (read from its ``.eml``) are not those of its
    workbook row (``messages``). Each message returned reads its bytes from the approval
    folder when it is sent, checks them against the manifest's digest, and carries
    ``when`` as its ``Date:``.
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
        now = read_inputs(mailing, prepared.contacts, prepared.templates.root)
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
    if problems:
        raise ApprovalError(problems)
    date = date_header(when)
    out: list[Outgoing] = []
    for message in messages:  # the frozen bytes themselves, before anything leaves
        frozen = held[message.key]
        path = approval.folder / frozen.file
        try:
            data = _Frozen(path, frozen.sha256)()
        except FrozenMessageChanged as changed:
            problems.append(
                Problem(
                    Location(file=changed.path),
                    "was changed after the approval (its digest is not the manifest's)",
                    AGAIN,
                )
            )
            continue
        except ApprovalMoved as moved:
            problems.append(Problem(Location(file=path), moved.reason, AGAIN))
            continue
        message_id, recipients = _addressed(data)
        if {r.lower() for r in recipients} != {r.lower() for r in message.recipients}:
            problems.append(
                Problem(
                    Location(file=path),
                    f"is addressed to {', '.join(recipients) or 'nobody'}, but the workbook "
                    f"row of {message.key} to {', '.join(message.recipients)}",
                    AGAIN,
                )
            )
            continue
        out.append(
            dataclasses.replace(
                message,
                message_id=message_id or frozen.message_id,
                data=_Frozen(path, frozen.sha256, date),
                digest=frozen.digest,
                approval=approval.id,
            )
        )
    if problems:
        raise ApprovalError(problems)
    return tuple(out)


def date_header(when: datetime | None) -> str:
    """The ``Date:`` an approved message sent at ``when`` (default: now) carries."""
    return format_datetime((when or datetime.now(UTC)).astimezone())


def _addressed(data: bytes) -> tuple[str | None, list[str]]:
    """The Message-ID and the recipients (To, Cc, Bcc) an approved message's headers say."""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(data)
    recipients: list[str] = []
    for name in ("To", "Cc", "Bcc"):
        for value in headers.get_all(name, []):
            recipients += [a.addr_spec for a in getattr(value, "addresses", ())]
    message_id = headers.get("Message-ID")
    return (str(message_id).strip() if message_id else None), list(dict.fromkeys(recipients))


@dataclass(frozen=True)
class _Frozen:
    """Reads an approved message's bytes when it is sent, refusing bytes that changed;
    ``date``: the ``Date:`` it goes out with."""

    path: Path
    sha256: str
    date: str | None = None

    def __call__(self) -> bytes:
        try:
            data = _read_regular(self.path)
        except FileNotFoundError:
            raise ApprovalMoved(
                self.path,
                "is not there any more: the approval folder was moved or deleted during "
                "the send, so this message was not sent",
            ) from None
        except OSError as error:
            raise ApprovalMoved(
                self.path, f"cannot be read ({error.strerror or error}), so it was not sent"
            ) from None
        if _sha256(data) != self.sha256:
            raise FrozenMessageChanged(self.path)
        return data if self.date is None else with_date(data, self.date)


class FrozenMessageChanged(DispatchError):
    """An approved message's file no longer holds the bytes that were approved."""

    exit_code = 2

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"{path}: this approved message was changed after the approval, so it is not "
            f"sent. {AGAIN}"
        )


class ApprovalMoved(DispatchError):
    """An approved message's file is gone or unreadable (its folder moved during a send)."""

    exit_code = 2

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"{path}: {reason}. Put the approval folder back and run the same command "
            "again (what was sent is not sent twice), or approve again with dispatch approve."
        )


def approval_state(prepared: Prepared) -> str:
    """What the preview says of the approval: ``approved by … at …``, ``not approved``,
    or why the approval in force would not be sent (an input changed since, such as the
    letterhead after a telephone fix: what ``send`` would refuse)."""
    try:
        approval = current_approval(prepared.mailing)
    except ApprovalError as error:
        return f"approval unusable ({error.problems[0]}): approve again with dispatch approve"
    if approval is None:
        return "not approved"
    try:
        now = read_inputs(prepared.mailing, prepared.contacts, prepared.templates.root)
    except OSError:
        return f"{approval.line()}, but an input cannot be read"
    changes = input_changes(approval, now)
    if changes:
        first = changes[0]
        return (
            f"{approval.line()}, but changed since ({first.where}: {first.message}"
            + (f"; and {len(changes) - 1} more" if len(changes) > 1 else "")
            + "): send refuses it until it is approved again"
        )
    return approval.line()


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
