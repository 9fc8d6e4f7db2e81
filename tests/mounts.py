"""Real full and read-only disks for tests: a small tmpfs mounted in ``tmp_path``.

Tests often run as root, and root ignores ``chmod``: a folder made read-only by its
mode would still be written. A tmpfs of a few kilobytes is a real full disk (ENOSPC),
and one remounted read-only is a real read-only disk (EROFS). Mounting needs root (or
CAP_SYS_ADMIN); elsewhere the test is skipped and says why.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(path: Path, size: str = "64k") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``path`` (created), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def remount_readonly(path: Path) -> None:
    """Make the tmpfs mounted at ``path`` read-only (EROFS on any write, even root's)."""
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)
