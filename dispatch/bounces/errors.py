"""Errors of the bounce reader: a source that cannot be read, a mailbox that refuses us."""

from __future__ import annotations

from dispatch.errors import DispatchError


class BounceError(DispatchError):
    """A source of delivery status notifications cannot be read; nothing was recorded.

    ``where`` names the source (a path, or ``imap://user@host:port/MAILBOX``), ``problem``
    says what is wrong and ``hint`` what to do. The message reads like every dispatch
    error: location first, then what is wrong, then what to do.
    """

    exit_code = 2

    def __init__(self, where: str, problem: str, hint: str) -> None:
        self.where = where
        self.problem = problem
        self.hint = hint
        super().__init__(f"{where}: {problem}. {hint}")


class MailboxConnectionError(BounceError, ConnectionError):
    """The IMAP server cannot be reached, refused the login, or broke off the session."""

    exit_code = 3
