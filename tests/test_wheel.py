"""A normal install works: the wheel holds what dispatch needs, and finds it.

The wheel is built from this checkout, installed (not editable) into a fresh virtualenv
that sees no other site-packages, and run from an empty folder that has no
``templates/`` and no ``mailings/``: a new user's first session, from ``dispatch init``
to ``dispatch report``, every format, a send to a real SMTP sink, from beside the mailing
and from inside it, and the same through the public API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.smtp_server import Sink

ROOT = Path(__file__).resolve().parent.parent
EVERY_FORMAT = "html,txt,eml,pdf,ics"


def run(*args: str | Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The virtualenv holding the wheel built from this checkout (not editable)."""
    where = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", where, ROOT)
    assert built.returncode == 0, built.stderr
    (wheel,) = where.glob("dispatch-*.whl")
    venv = where / "venv"
    made = run(sys.executable, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    done = run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel)
    assert done.returncode == 0, done.stderr
    return venv


def _formats_in(out: Path) -> set[str]:
    return {p.suffix for p in out.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_a_first_mailing_from_init_to_report_with_the_installed_wheel(
    installed: Path, tmp_path: Path, sink: Sink
) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    dispatch = installed / "bin" / "dispatch"
    relay = {
        "DISPATCH_SMTP_HOST": "127.0.0.1",
        "DISPATCH_SMTP_PORT": str(sink.port),
        "DISPATCH_SMTP_SECURITY": "none",
    }

    def ok(*args: str | Path, cwd: Path = work) -> str:
        done = run(dispatch, *args, cwd=cwd, **relay)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    ok("init", "m")
    assert "m: ready" in ok("check", "m")
    ok("render", "m", "--format", EVERY_FORMAT)
    assert _formats_in(work / "m" / "out") == {".html", ".txt", ".eml", ".pdf", ".ics"}
    assert all(p.read_bytes().startswith(b"%PDF") for p in (work / "m" / "out").rglob("*.pdf"))

    # The same from inside the mailing folder: the same name, the same output folder.
    inside = work / "m"
    assert "m: ready" in ok("check", ".", cwd=inside)
    said = ok("render", ".", "--format", EVERY_FORMAT, "--out", "again", cwd=inside)
    assert f"to {inside / 'again'}/" in said
    assert _formats_in(inside / "again") == _formats_in(inside / "out")

    ok("preview", "m", "--no-open")
    assert (work / "m" / "out" / "preview" / "index.html").is_file()
    ok("send", "m", "--yes")
    assert len(sink.recorder.accepted()) == 3
    assert "sent" in ok("status", "m")
    ok("report", "m", "--out", "report.xlsx")
    assert (work / "report.xlsx").is_file()

    ok("init", "tsb", "--sample", "tsb-352")
    ok("check", "tsb")
    ok("render", "tsb", "--format", "html,pdf")
    assert (work / "tsb" / "out" / "fr").is_dir()

    # The templates it used are the wheel's, not this checkout's.
    located = run(
        installed / "bin" / "python",
        "-c",
        "from dispatch.templates import DEFAULT_TEMPLATES; print(DEFAULT_TEMPLATES)",
        cwd=work,
    )
    assert located.stdout.strip().startswith(str(installed)), located.stdout + located.stderr


PROGRAM = textwrap.dedent(
    """
    import sys
    import dispatch

    started = dispatch.start_mailing("api")
    prepared = dispatch.check_mailing(started.folder)
    rendered = dispatch.render_mailing(
        started.folder, formats=["html", "txt", "eml", "pdf", "ics"]
    )
    previewed = dispatch.preview_mailing(started.folder)
    settings = dispatch.SmtpSettings(host="127.0.0.1", port=int(sys.argv[1]), security="none")
    sent = dispatch.send_mailing(started.folder, settings=settings)
    status = dispatch.mailing_status(started.folder)
    report = dispatch.report_mailing(started.folder, "api-report.xlsx")
    print(len(prepared.letters), rendered.files, previewed.index.name)
    print(sent.outcome.value, sent.exit_code, status.counts["sent"], report.rows)
    """
)


@pytest.mark.slow
def test_the_public_api_of_the_installed_wheel_does_the_same(
    installed: Path, tmp_path: Path, sink: Sink
) -> None:
    (tmp_path / "program.py").write_text(PROGRAM, encoding="utf-8")
    done = run(installed / "bin" / "python", "program.py", str(sink.port), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split("\n")[:2] == ["3 14 index.html", "delivered 0 3 3"]
    assert len(sink.recorder.accepted()) == 3
