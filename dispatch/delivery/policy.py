"""How fast and how often a run tries: the rate of message starts and the retry policy."""

from __future__ import annotations

import random
import time

__all__ = ["RateLimiter", "RetryPolicy"]


class RateLimiter:
    """Spaces message starts evenly across all connections (``per_minute``, or no limit).

    Each call reserves the next free slot, so concurrent workers queue up behind each
    other rather than bursting.
    """

    def __init__(self, per_minute: float | None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_slot = 0.0

    def reserve(self) -> float:
        """Take the next slot; return how long to wait for it, in seconds."""
        if not self.interval:
            return 0.0
        now = time.monotonic()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        return slot - now


class RetryPolicy:
    """A temporary failure is tried ``retries`` more times, waiting longer each time."""

    def __init__(self, retries: int, backoff: float) -> None:
        self.retries = retries
        self.backoff = backoff

    def last_try(self, tries: int) -> bool:
        """Whether the try numbered ``tries`` (from 1) is the last one allowed."""
        return tries > self.retries

    def delay(self, tries: int) -> float:
        """How long to wait after ``tries`` failed tries before the next."""
        # Exponential, with some jitter so that several connections do not retry in step.
        return float(self.backoff * 2 ** (tries - 1) * random.uniform(0.75, 1.25))
