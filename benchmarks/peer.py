"""The peer tool, ``mailmerge`` (PyPI), in a virtualenv of its own beside the benchmarks.

It is installed with pip into ``benchmarks/.venv-peer`` on first use (never into the
project's ``.venv``: dispatch does not depend on it), pinned so that runs compare alike.
The profilers used to explain a short target (py-spy, pyinstrument) go there too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.workload import REPO

PEER_VENV = REPO / "benchmarks" / ".venv-peer"
MAILMERGE = "mailmerge==2.3.0"


class PeerUnavailable(RuntimeError):
    """mailmerge could not be installed or run: the peer rows are not measured."""


def _version(executable: Path) -> str | None:
    if not executable.exists():
        return None
    done = subprocess.run(
        [str(executable), "--version"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_mailmerge(venv: Path = PEER_VENV, *, install: bool = True) -> tuple[Path, str]:
    """The ``mailmerge`` executable and its version, installing it first if needed.

    ``install=False`` (the smoke test of ``make test``): never reach the network; a peer not
    yet installed is :class:`PeerUnavailable`, and its rows say "not run".
    """
    executable = venv / "bin" / "mailmerge"
    wanted = MAILMERGE.partition("==")[2]
    version = _version(executable)
    if (version is None or wanted not in version) and not install:
        raise PeerUnavailable(f"{MAILMERGE} is not installed in {venv} (make bench installs it)")
    if version is None or wanted not in version:
        python = venv / "bin" / "python"
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                MAILMERGE,
            ],
        ]
        for step in steps:
            if step[1:3] == ["-m", "venv"] and python.exists():
                continue
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise PeerUnavailable(
                    f"{' '.join(step)} failed: {(done.stderr or done.stdout).strip()[-500:]}"
                )
        version = _version(executable)
        if version is None:
            raise PeerUnavailable(f"{executable} does not run after pip installed {MAILMERGE}")
    return executable, version.rpartition(" ")[2]  # "mailmerge, version 2.3.0" -> "2.3.0"
