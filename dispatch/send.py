"""The names of the delivery engine, where earlier code imported them from.

The engine lives in :mod:`dispatch.delivery` (the SMTP conversation, scheduling,
samples, results); this module gathers its names in one place, and keeps
``from dispatch.send import deliver`` working.
"""

from __future__ import annotations

from dispatch.delivery.results import (
    DeliveryEvent,
    DeliveryInterrupted,
    DeliverySummary,
    EventKind,
    Failure,
)
from dispatch.delivery.samples import SampleResult, sample_of, send_samples, send_samples_sync
from dispatch.delivery.schedule import DeliveryOptions, deliver, deliver_sync
from dispatch.delivery.smtp import connect
from dispatch.outgoing import Outgoing

__all__ = [
    "DeliveryEvent",
    "DeliveryInterrupted",
    "DeliveryOptions",
    "DeliverySummary",
    "EventKind",
    "Failure",
    "Outgoing",
    "SampleResult",
    "connect",
    "deliver",
    "deliver_sync",
    "sample_of",
    "send_samples",
    "send_samples_sync",
]
