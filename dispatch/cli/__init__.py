"""The ``dispatch`` command: a thin layer over the library.

Each command parses its options, calls the core, shows the result with Rich and turns a
:class:`~dispatch.errors.DispatchError` into a message and an exit code: 0 ok, 1 other
failure, 2 bad input, 3 relay unreachable or authentication refused.

The parts, each importing only what it uses (``dispatch --version`` loads click alone):

- :mod:`~dispatch.cli.app`: the group, its help, and where each command lives;
- the commands: :mod:`~dispatch.cli.starting` (init), :mod:`~dispatch.cli.letters`
  (check, render, preview),
  :mod:`~dispatch.cli.sending` (send, status, report), :mod:`~dispatch.cli.record`
  (approve, archive, bounces), with :mod:`~dispatch.cli.options` (the shared options
  and the error handling);
- the Rich views, apart: :mod:`~dispatch.cli.consoles` (the two consoles, numbers,
  problem lists), :mod:`~dispatch.cli.progress` (bars and step lines),
  :mod:`~dispatch.cli.counts` (a mailing's letters), :mod:`~dispatch.cli.outcomes` (what
  a send did) and :mod:`~dispatch.cli.journal_view` (status, bounces, approval).
"""

from dispatch.cli.app import ORDER, main

__all__ = ["ORDER", "main"]
