"""Delivery: hand a mailing's messages to the SMTP relay, journaling each one.

* :mod:`dispatch.delivery.smtp`: the SMTP conversation and why a connection failed;
* :mod:`dispatch.delivery.schedule`: a run (connections, rate, retries, the journal);
* :mod:`dispatch.delivery.samples`: one sample per language to a test address;
* :mod:`dispatch.delivery.results`: what a run reports (events, failures, summary).
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
