"""dispatch: mail-merge for formal invitation letters.

The public API: what the ``dispatch`` command does, as functions another program can
call. Each returns a typed, frozen result or raises a :class:`DispatchError` saying
where and what to do; none prints or ends the process.

**What a program may rely on** is what this package's ``__all__`` lists, importable as
``dispatch.<name>``: the jobs (:func:`start_mailing`, :func:`check_mailing`,
:func:`render_mailing`, :func:`preview_mailing`, :func:`send_mailing`,
:func:`mailing_status`, :func:`report_mailing`, :func:`approve_mailing`,
:func:`archive_mailing`, :func:`record_bounces`), their options and results, and every
error they raise. Every other module (``dispatch.journal``, ``dispatch.pdf``...) is
internal: its names may change in any release without notice.

Errors, each a :class:`DispatchError` with the ``exit_code`` the command ends with:

* :class:`InvalidInput` (exit 2): problems in what was given, every one listed in
  ``.problems`` (each a :class:`Problem` with its :class:`Location`); nothing was written
  or sent. Its kinds: :class:`ContactsError` (the workbook), :class:`MailingError` (the
  mailing file), :class:`TemplateError` (a template), :class:`ApprovalError` (the
  mailing changed since its approval, or needs one).
* :class:`OutputError` (exit 1): a file or folder cannot be written;
  :class:`FontMissingError`: the letter's font is not installed;
  :class:`PdfLibraryMissing`: a system library of WeasyPrint is missing (only the PDF
  needs them); :class:`PdfRenderError`: a letter's PDF could not be made (``--jobs``).
* :class:`SendError` (exit 1): sending went wrong for the whole run;
  :class:`RelayError` (exit 3): the relay cannot be reached or refused the sign-in,
  nothing was sent; :class:`DeliveryInterrupted`: Ctrl-C during a send (the messages in
  flight were recorded); :class:`JournalError`: the journal cannot be read, with
  :class:`JournalMismatch` (it belongs to another mailing: a copied folder) and
  :class:`JournalMissing` (it is gone though messages were sent).
* :class:`LockedError` (exit 1): another run holds the mailing.
* :class:`FrozenMessageChanged` (exit 2): an approved message's file was edited;
  :class:`ApprovalMoved` (exit 2): it is gone (its folder moved during a send).
* :class:`BounceError` (exit 2): a bounce source cannot be read;
  :class:`MailboxConnectionError` (exit 3): the IMAP server cannot be reached.

>>> import dispatch
>>> dispatch.SendOptions(dry_run=True).dry_run
True
>>> issubclass(dispatch.RelayError, dispatch.DispatchError)
True

A whole mailing (see README.md, "Use it from Python")::

    import dispatch

    started = dispatch.start_mailing("gala")  # a new mailing folder, ready to edit
    prepared = dispatch.check_mailing("gala")  # every letter rendered in memory
    result = dispatch.send_mailing("gala", confirm=lambda proposal: True)
    print(result.outcome, result.exit_code)
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dispatch.approval import (
        Approval,
        ApprovalError,
        approve_mailing,
    )
    from dispatch.approval_send import (
        ApprovalMoved,
        FrozenMessageChanged,
    )
    from dispatch.archive import (
        Archived,
        archive_mailing,
    )
    from dispatch.bounce_journal import (
        BouncesRecorded,
        record_bounces,
    )
    from dispatch.bounces.errors import (
        BounceError,
        MailboxConnectionError,
    )
    from dispatch.delivery.results import (
        DeliveryEvent,
        DeliveryInterrupted,
        DeliverySummary,
        Failure,
    )
    from dispatch.delivery.samples import (
        SampleResult,
    )
    from dispatch.errors import (
        ContactsError,
        DispatchError,
        InvalidInput,
        JournalError,
        Location,
        LockedError,
        MailingError,
        OutputError,
        Problem,
        RelayError,
        SendError,
        TemplateError,
    )
    from dispatch.job import (
        Previewed,
        Proposal,
        Rendered,
        Reported,
        Selection,
        SendOptions,
        SendOutcome,
        SendResult,
        Status,
        check_mailing,
        journal_path,
        mailing_status,
        output_folder,
        preview_mailing,
        render_mailing,
        report_mailing,
        send_mailing,
    )
    from dispatch.journal import (
        JournalMismatch,
        JournalMissing,
    )
    from dispatch.mailing import (
        Mailing,
        load_mailing,
    )
    from dispatch.pdf import (
        FontMissingError,
    )
    from dispatch.pdf_libraries import (
        PdfLibraryMissing,
    )
    from dispatch.pdf_pool import (
        PdfRenderError,
    )
    from dispatch.prepare import (
        Prepared,
    )
    from dispatch.settings import (
        SmtpSettings,
        load_settings,
    )
    from dispatch.starter import (
        Started,
        start_mailing,
    )

# Each name is imported when first used, so that ``import dispatch.journal`` (or the
# command's start-up) does not load the renderer, the PDF engine and the SMTP client.
_EXPORTS = {
    "Approval": "dispatch.approval",
    "ApprovalError": "dispatch.approval",
    "Archived": "dispatch.archive",
    "BounceError": "dispatch.bounces.errors",
    "BouncesRecorded": "dispatch.bounce_journal",
    "ContactsError": "dispatch.errors",
    "DeliveryEvent": "dispatch.delivery.results",
    "DeliveryInterrupted": "dispatch.delivery.results",
    "DeliverySummary": "dispatch.delivery.results",
    "DispatchError": "dispatch.errors",
    "Failure": "dispatch.delivery.results",
    "FontMissingError": "dispatch.pdf",
    "FrozenMessageChanged": "dispatch.approval_send",
    "ApprovalMoved": "dispatch.approval_send",
    "InvalidInput": "dispatch.errors",
    "JournalError": "dispatch.errors",
    "JournalMismatch": "dispatch.journal",
    "JournalMissing": "dispatch.journal",
    "Location": "dispatch.errors",
    "LockedError": "dispatch.errors",
    "MailboxConnectionError": "dispatch.bounces.errors",
    "Mailing": "dispatch.mailing",
    "MailingError": "dispatch.errors",
    "OutputError": "dispatch.errors",
    "PdfLibraryMissing": "dispatch.pdf_libraries",
    "PdfRenderError": "dispatch.pdf_pool",
    "Prepared": "dispatch.prepare",
    "Previewed": "dispatch.job",
    "Problem": "dispatch.errors",
    "Proposal": "dispatch.job",
    "RelayError": "dispatch.errors",
    "Rendered": "dispatch.job",
    "Reported": "dispatch.job",
    "SampleResult": "dispatch.delivery.samples",
    "Selection": "dispatch.job",
    "SendError": "dispatch.errors",
    "SendOptions": "dispatch.job",
    "SendOutcome": "dispatch.job",
    "SendResult": "dispatch.job",
    "SmtpSettings": "dispatch.settings",
    "Started": "dispatch.starter",
    "Status": "dispatch.job",
    "TemplateError": "dispatch.errors",
    "approve_mailing": "dispatch.approval",
    "archive_mailing": "dispatch.archive",
    "check_mailing": "dispatch.job",
    "journal_path": "dispatch.job",
    "load_mailing": "dispatch.mailing",
    "load_settings": "dispatch.settings",
    "mailing_status": "dispatch.job",
    "output_folder": "dispatch.job",
    "preview_mailing": "dispatch.job",
    "record_bounces": "dispatch.bounce_journal",
    "render_mailing": "dispatch.job",
    "report_mailing": "dispatch.job",
    "send_mailing": "dispatch.job",
    "start_mailing": "dispatch.starter",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dispatch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "Approval",
    "ApprovalError",
    "ApprovalMoved",
    "Archived",
    "BounceError",
    "BouncesRecorded",
    "ContactsError",
    "DeliveryEvent",
    "DeliveryInterrupted",
    "DeliverySummary",
    "DispatchError",
    "Failure",
    "FontMissingError",
    "FrozenMessageChanged",
    "InvalidInput",
    "JournalError",
    "JournalMismatch",
    "JournalMissing",
    "Location",
    "LockedError",
    "MailboxConnectionError",
    "Mailing",
    "MailingError",
    "OutputError",
    "PdfLibraryMissing",
    "PdfRenderError",
    "Prepared",
    "Previewed",
    "Problem",
    "Proposal",
    "RelayError",
    "Rendered",
    "Reported",
    "SampleResult",
    "Selection",
    "SendError",
    "SendOptions",
    "SendOutcome",
    "SendResult",
    "SmtpSettings",
    "Started",
    "Status",
    "TemplateError",
    "__version__",
    "approve_mailing",
    "archive_mailing",
    "check_mailing",
    "journal_path",
    "load_mailing",
    "load_settings",
    "mailing_status",
    "output_folder",
    "preview_mailing",
    "record_bounces",
    "render_mailing",
    "report_mailing",
    "send_mailing",
    "start_mailing",
]
