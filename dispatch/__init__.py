"""dispatch: mail-merge for formal invitation letters.

The public API: what the ``dispatch`` command does, as functions another program can
call. Each returns a typed, frozen result or raises a :class:`DispatchError` saying
where and what to do; none prints or ends the process.

    >>> import dispatch
    >>> prepared = dispatch.check_mailing("mailings/u4ssc-6/mailing.toml")  # doctest: +SKIP
    >>> result = dispatch.send_mailing("mailings/u4ssc-6/mailing.toml")  # doctest: +SKIP
    >>> result.outcome, result.exit_code  # doctest: +SKIP
    (<SendOutcome.DELIVERED: 'delivered'>, 0)
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dispatch.delivery.results import (
        DeliveryEvent,
        DeliveryInterrupted,
        DeliverySummary,
        Failure,
    )
    from dispatch.delivery.samples import SampleResult
    from dispatch.errors import (
        DispatchError,
        InvalidInput,
        Location,
        Problem,
        RelayError,
        SendError,
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
        preview_mailing,
        render_mailing,
        report_mailing,
        send_mailing,
    )
    from dispatch.mailing import Mailing, load_mailing
    from dispatch.prepare import Prepared
    from dispatch.settings import SmtpSettings, load_settings

# Each name is imported when first used, so that ``import dispatch.journal`` (or the
# command's start-up) does not load the renderer, the PDF engine and the SMTP client.
_EXPORTS = {
    "DeliveryEvent": "dispatch.delivery.results",
    "DeliveryInterrupted": "dispatch.delivery.results",
    "DeliverySummary": "dispatch.delivery.results",
    "DispatchError": "dispatch.errors",
    "Failure": "dispatch.delivery.results",
    "InvalidInput": "dispatch.errors",
    "Location": "dispatch.errors",
    "Mailing": "dispatch.mailing",
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
    "Status": "dispatch.job",
    "check_mailing": "dispatch.job",
    "journal_path": "dispatch.job",
    "load_mailing": "dispatch.mailing",
    "load_settings": "dispatch.settings",
    "mailing_status": "dispatch.job",
    "preview_mailing": "dispatch.job",
    "render_mailing": "dispatch.job",
    "report_mailing": "dispatch.job",
    "send_mailing": "dispatch.job",
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
    "DeliveryEvent",
    "DeliveryInterrupted",
    "DeliverySummary",
    "DispatchError",
    "Failure",
    "InvalidInput",
    "Location",
    "Mailing",
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
    "Status",
    "__version__",
    "check_mailing",
    "journal_path",
    "load_mailing",
    "load_settings",
    "mailing_status",
    "preview_mailing",
    "render_mailing",
    "report_mailing",
    "send_mailing",
]
