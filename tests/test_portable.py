"""dispatch on systems that are not Linux: the code paths exist without POSIX-only parts.

Windows has no ``fcntl`` module and no ``os.O_NOFOLLOW``; a machine without WeasyPrint's
system libraries (Pango...) cannot import WeasyPrint (an ``OSError``). Each test runs the
command in a new Python process where those are hidden before dispatch is imported (a
``sitecustomize`` module on ``PYTHONPATH``), against a real mailing and a real SMTP sink.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dispatch.starter import start_mailing
from tests.smtp_server import Sink

SITECUSTOMIZE = '''
import importlib.abc
import os
import sys

HIDE = os.environ.get("DISPATCH_TEST_HIDE", "").split(",")
if "fcntl" in HIDE:
    sys.modules["fcntl"] = None  # import fcntl: ImportError, as on Windows
if "nofollow" in HIDE and hasattr(os, "O_NOFOLLOW"):
    del os.O_NOFOLLOW


class _NoPango(importlib.abc.MetaPathFinder):
    """WeasyPrint's import fails as it does when Pango is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise OSError(
                "cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared "
                "object file: No such file or directory"
            )
        return None


if "weasyprint" in HIDE:
    sys.meta_path.insert(0, _NoPango())
'''


def _run(
    hide: str, site: Path, cwd: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), *sys.path]),
        "DISPATCH_TEST_HIDE": hide,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "dispatch", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return folder


@pytest.mark.slow
def test_check_render_approve_send_and_archive_work_without_fcntl_and_o_nofollow(
    site: Path, tmp_path: Path, sink: Sink
) -> None:
    start_mailing(tmp_path / "m")
    hide = "fcntl,nofollow"
    proof = _run(hide, site, tmp_path, "--version")
    assert proof.returncode == 0, proof.stderr
    hidden = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; print(sys.modules.get('fcntl', 0), hasattr(os, 'O_NOFOLLOW'))",
        ],
        env={**os.environ, "PYTHONPATH": str(site), "DISPATCH_TEST_HIDE": hide},
        capture_output=True,
        text=True,
    )
    assert hidden.stdout.split() == ["None", "False"]  # the hiding works

    checked = _run(hide, site, tmp_path, "check", "m")
    assert checked.returncode == 0, checked.stderr
    rendered = _run(hide, site, tmp_path, "render", "m", "--format", "html,txt,eml,pdf,ics")
    assert rendered.returncode == 0, rendered.stderr
    assert list((tmp_path / "m" / "out").rglob("*.eml"))

    approved = _run(hide, site, tmp_path, "approve", "m", "--by", "A. Martin")
    assert approved.returncode == 0, approved.stderr
    sent = _run(
        hide,
        site,
        tmp_path,
        "send",
        "m",
        "--yes",
        DISPATCH_SMTP_HOST="127.0.0.1",
        DISPATCH_SMTP_PORT=str(sink.port),
        DISPATCH_SMTP_SECURITY="none",
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert len(sink.recorder.accepted()) == 3
    archived = _run(hide, site, tmp_path, "archive", "m", "--out", "record.zip")
    assert archived.returncode == 0, archived.stderr


def test_without_weasyprint_libraries_every_part_but_the_pdf_renders(
    site: Path, tmp_path: Path
) -> None:
    start_mailing(tmp_path / "m")
    mailing = tmp_path / "m" / "mailing.toml"
    text = mailing.read_text(encoding="utf-8")
    mailing.write_text(text.replace("numbered = false", "numbered = false\nattach_pdf = false"))

    rendered = _run("weasyprint", site, tmp_path, "render", "m", "--format", "html,txt,eml")
    assert rendered.returncode == 0, rendered.stderr
    assert len(list((tmp_path / "m" / "out").rglob("*.eml"))) == 3

    refused = _run("weasyprint", site, tmp_path, "render", "m", "--format", "pdf", "--out", "p")
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr
    assert (
        "The PDF cannot be made: a system library that WeasyPrint (dispatch's PDF engine) "
        "needs is missing (cannot load library 'libpango-1.0-0'" in message
    )
    assert 'as the README\'s "Install" section says for your system' in message
    assert "--format html,txt,eml and attach_pdf = false" in message
    assert not (tmp_path / "p").exists()
