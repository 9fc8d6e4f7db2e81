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
``send`` then sends those bytes (:mod:`dispatch.approval_send`), after checking that
the manifest still has the recorded digest (:func:`current_approval`), and that no input
changed since (:mod:`dispatch.approval_inputs`).

Nothing here prints: functions return values or raise :class:`ApprovalError`.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dispatch import __version__
from dispatch.approval_inputs import (
    AGAIN,
    Inputs,
    WorkbookRow,
    input_changes,
    read_inputs,
    sha256_hex,
)
from dispatch.approval_journal import ApprovalRecord, approval_in_force, record_approval
from dispatch.compose import Composer, outgoing, validate_sizes
from dispatch.contacts import CONTACTS_SHEET
from dispatch.errors import DispatchError, InvalidInput, JournalError, Location, Problem
from dispatch.files import open_no_follow, private_dir, write_atomic
from dispatch.journal import Journal, MailingLock
from dispatch.mailing import Mailing
from dispatch.output import make_pdfs
from dispatch.paths import APPROVED_DIR, approval_dir, journal_path, lock_path
from dispatch.prepare import Prepared, prepare
from dispatch.progress import OnProgress, Step, counted
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
    "current_approval",
    "input_changes",
    "read_inputs",
    "read_recorded",
]

MANIFEST = "manifest.json"


class ApprovalError(InvalidInput):
    """The approval cannot be used: missing where required, or its inputs changed."""


# -- what an approval records ----------------------------------------------------------


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


# -- approving -------------------------------------------------------------------------


def approval_folder(mailing: Mailing) -> Path:
    """Where a mailing's approvals are kept: ``<mailing folder>/approved/``."""
    return approval_dir(mailing.folder)


def approve(
    prepared: Prepared,
    by: str,
    *,
    when: datetime | None = None,
    jobs: int = 1,
    progress: OnProgress | None = None,
) -> Approval:
    """Render every message of ``prepared`` once and freeze it; return the approval.

    The messages carry the Message-IDs the journal fixed for their addressees, if a
    send began before; the manifest is written last, then the approval is recorded in
    the journal (with its manifest's digest) and is in force from then on. Holds the
    mailing's lock throughout: no send runs meanwhile. ``jobs``: processes that render
    the distinct PDFs. ``progress`` follows the PDFs and the freezing of each message.
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
            mailing, prepared.contacts, prepared.templates.root, prepared.own_files()
        )
    except OSError as error:
        raise unreadable(error) from None
    composer = Composer(prepared, when=moment, attach_pdf=mailing.attach_pdf, jobs=jobs)
    validate_sizes(composer, mailing.max_message_mb)
    with (
        MailingLock(lock_path(mailing.folder)),
        Journal.open(journal_path(mailing.folder)) as journal,
    ):
        folder = _new_folder(approval_folder(mailing), moment)
        messages = _freeze(composer, folder, journal.message_ids(), progress)
        identity = sha256_hex(json.dumps([folder.name, by, [m.sha256 for m in messages]]).encode())
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
                digest=sha256_hex(manifest),
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


def _freeze(
    composer: Composer,
    folder: Path,
    fixed: Mapping[str, str],
    progress: OnProgress | None = None,
) -> list[ApprovedMessage]:
    """Write each message's bytes into ``folder`` (0600); ``fixed``: the journal's
    Message-IDs, which an addressee keeps."""
    messages: list[ApprovedMessage] = []
    prepared = composer.prepared
    attach = prepared.mailing.attach_pdf
    if attach:
        make_pdfs(composer, progress)  # each distinct PDF once, as its own step
    letters = composer.with_pdfs(prepared.letters) if attach else prepared.letters
    for letter in counted(letters, progress, Step.FREEZING, len(prepared.letters)):
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
                sha256=sha256_hex(data),
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


def unreadable(error: OSError) -> ApprovalError:
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
        data = read_regular(manifest)
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
    if sha256_hex(data) != record.digest:
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


def read_regular(path: Path) -> bytes:
    """The bytes of the regular file ``path``, never through a symbolic link."""
    fd = open_no_follow(path)
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


def approval_state(prepared: Prepared) -> str:
    """What the preview says of the approval: ``approved by … at …``, ``not approved``,
    or why the approval in force would not be sent (an input changed since, such as the
    letterhead after a telephone fix: what ``send`` would refuse)."""
    try:
        approval = current_approval(prepared.mailing)
    except ApprovalError as error:
        return f"approval unusable ({error.problems[0]}): approve again with dispatch approve"
    except DispatchError as error:  # the journal cannot be read
        return f"approval unknown ({error})"
    if approval is None:
        return "not approved"
    try:
        now = read_inputs(
            prepared.mailing, prepared.contacts, prepared.templates.root, prepared.own_files()
        )
    except OSError:
        return f"{approval.line()}, but an input cannot be read"
    changes = input_changes(approval.inputs, now)
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
    jobs: int = 1,
    progress: OnProgress | None = None,
) -> tuple[Prepared, Approval]:
    """Validate ``mailing`` (every addressee), then :func:`approve` it; both are returned.
    ``progress`` follows every step: reading, checking, PDFs, freezing."""
    prepared = prepare(
        Path(mailing),
        contacts_path=contacts,
        templates=TemplateSet(templates) if templates is not None else None,
        progress=progress,
    )
    return prepared, approve(prepared, by, when=when, jobs=jobs, progress=progress)
