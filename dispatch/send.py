"""The names of the delivery engine, where earlier code imported them from.

The engine lives in :mod:`dispatch.delivery` (the SMTP conversation, scheduling,
samples); this module keeps ``from dispatch.send import deliver`` working.
"""

from __future__ import annotations

from dispatch.delivery import (
    DeliveryEvent,
    DeliveryInterrupted,
    DeliveryOptions,
    DeliverySummary,
    EventKind,
    Failure,
    Outgoing,
    SampleResult,
    connect,
    deliver,
    deliver_sync,
    sample_of,
    send_samples,
    send_samples_sync,
)

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
