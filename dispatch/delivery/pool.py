"""The connections of a run: the first, each reused for a number of messages, replaced when lost.

A connection that cannot be replaced after the retry policy's tries is given up, and
:attr:`Connections.relay_problem` says why; the run stops when none is left.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from aiosmtplib import SMTP

from dispatch.delivery.policy import RetryPolicy
from dispatch.delivery.smtp import connect, quit_politely
from dispatch.errors import RelayError
from dispatch.settings import SmtpSettings

__all__ = ["Connections"]


class Connections:
    """Opens, reuses and replaces the run's connections to the relay.

    ``pause`` sleeps unless the run stops meanwhile (then True); ``stopping`` says
    whether the run is stopping.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        policy: RetryPolicy,
        pause: Callable[[float], Awaitable[bool]],
        stopping: Callable[[], bool],
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.local_hostname = settings.local_hostname or ""
        self.relay_problem: RelayError | None = None  # why the last attempt failed
        self._pause = pause
        self._stopping = stopping

    async def first(self) -> SMTP:
        """The run's first connection: a relay that cannot be reached raises RelayError."""
        if not self.local_hostname:
            self.local_hostname = await asyncio.to_thread(socket.getfqdn)
        return await connect(self.settings, self.local_hostname)

    async def ready(self, smtp: SMTP | None, used: int) -> tuple[SMTP | None, int]:
        """A connection for the next message, and how many it carried: ``smtp`` if usable.

        A connection that is lost, or carried ``messages_per_connection``, is closed
        politely and replaced; None if the relay is lost.
        """
        if smtp is not None and smtp.is_connected and used < self.settings.messages_per_connection:
            return smtp, used
        await self.close(smtp)
        return await self._reconnect(), 0

    async def close(self, smtp: SMTP | None) -> None:
        """Say QUIT and close, within the run's timeout."""
        await quit_politely(smtp, self.settings.timeout)

    async def _reconnect(self) -> SMTP | None:
        """A new connection, trying ``retries`` more times; None if the relay is lost."""
        problem: RelayError | None = None
        for attempt in range(self.policy.retries + 1):
            if self._stopping():
                return None
            try:
                return await connect(self.settings, self.local_hostname)
            except RelayError as error:
                problem = error
            last = attempt >= self.policy.retries
            if not last and await self._pause(self.policy.delay(attempt + 1)):
                return None
        if problem is not None:
            self.relay_problem = problem
        return None
