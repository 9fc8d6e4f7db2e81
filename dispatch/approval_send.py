"""Send what was approved: the approved bytes, checked, in place of a new rendering.

:func:`approved_outgoing` is what ``send`` calls once it has rendered the mailing: None
when the mailing has no approval and needs none; otherwise the approved messages, after
checking the approval in force (:func:`dispatch.approval.current_approval`: the journal's
last, its manifest as recorded), the inputs (nothing changed since), each message's bytes
(the manifest's SHA-256) and its recipients: read from the ``.eml`` itself, they must be
those of its workbook row, never the manifest's alone. Each message is read again when it
is sent, and goes out with the ``Date:`` of its sending (:func:`with_date`), the one header
that is not the approved bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import format_datetime
from pathlib import Path

from dispatch.approval import (
    Approval,
    ApprovalError,
    ApprovedMessage,
    current_approval,
    read_regular,
    unreadable,
)
from dispatch.approval_inputs import AGAIN, input_changes, read_inputs, sha256_hex
from dispatch.errors import DispatchError, Location, Problem
from dispatch.outgoing import Outgoing
from dispatch.prepare import Prepared

__all__ = [
    "ApprovalMoved",
    "FrozenMessageChanged",
    "approved_outgoing",
    "date_header",
    "with_date",
]


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
        now = read_inputs(mailing, prepared.contacts, prepared.templates.root, prepared.own_files())
    except OSError as error:
        raise unreadable(error) from None
    problems = input_changes(approval.inputs, now)
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
        checked = _checked(approval, held[message.key], message, date)
        if isinstance(checked, Problem):
            problems.append(checked)
        else:
            out.append(checked)
    if problems:
        raise ApprovalError(problems)
    return tuple(out)


def _checked(
    approval: Approval, frozen: ApprovedMessage, rendered: Outgoing, date: str
) -> Outgoing | Problem:
    """``rendered``'s approved message, to go out with ``date``; or why it cannot: its
    bytes changed, its file is gone, or its headers name other recipients than the
    workbook row's (``rendered``'s)."""
    path = approval.folder / frozen.file
    try:
        data = _Frozen(path, frozen.sha256)()
    except FrozenMessageChanged as changed:
        return Problem(
            Location(file=changed.path),
            "was changed after the approval (its digest is not the manifest's)",
            AGAIN,
        )
    except ApprovalMoved as moved:
        return Problem(Location(file=path), moved.reason, AGAIN)
    message_id, recipients = _addressed(data)
    if {r.lower() for r in recipients} != {r.lower() for r in rendered.recipients}:
        return Problem(
            Location(file=path),
            f"is addressed to {', '.join(recipients) or 'nobody'}, but the workbook "
            f"row of {rendered.key} to {', '.join(rendered.recipients)}",
            AGAIN,
        )
    return dataclasses.replace(
        rendered,
        message_id=message_id or frozen.message_id,
        data=_Frozen(path, frozen.sha256, date),
        digest=frozen.digest,
        approval=approval.id,
    )


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
            data = read_regular(self.path)
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
        if sha256_hex(data) != self.sha256:
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
