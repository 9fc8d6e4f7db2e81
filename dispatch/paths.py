"""Where a mailing keeps what dispatch writes beside it: each path named once, here.

A mailing's folder (the folder of its ``mailing.toml``) holds:

- ``.dispatch/``: its journal (``journal.sqlite3``) and the lock of a run (``lock``),
  private to their owner;
- ``approved/``: the approvals made with ``dispatch approve``, one folder each;
- ``out/``: the letters ``render`` and ``preview`` write unless told where, beside the
  mailing file, so that a command writes to the same place wherever it is run.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "APPROVED_DIR",
    "JOURNAL_DIR",
    "JOURNAL_FILE",
    "LOCK_FILE",
    "OUTPUT_DIR",
    "approval_dir",
    "default_output",
    "journal_dir",
    "journal_path",
    "lock_path",
]

JOURNAL_DIR = ".dispatch"
JOURNAL_FILE = "journal.sqlite3"
LOCK_FILE = "lock"
APPROVED_DIR = "approved"
OUTPUT_DIR = "out"


def journal_dir(folder: Path) -> Path:
    """Where the journal and lock of the mailing in ``folder`` live: ``<folder>/.dispatch/``."""
    return Path(folder) / JOURNAL_DIR


def journal_path(folder: Path) -> Path:
    """The journal of the mailing in ``folder``: the record of every message sent."""
    return journal_dir(folder) / JOURNAL_FILE


def lock_path(folder: Path) -> Path:
    """The lock file that keeps two runs from working on the mailing in ``folder`` at once."""
    return journal_dir(folder) / LOCK_FILE


def approval_dir(folder: Path) -> Path:
    """The folder holding the approvals of the mailing in ``folder``: ``<folder>/approved/``."""
    return Path(folder) / APPROVED_DIR


def default_output(folder: Path) -> Path:
    """Where ``render`` writes the letters of the mailing in ``folder`` unless told:
    ``<folder>/out/``."""
    return Path(folder) / OUTPUT_DIR
