"""A normal install works: the wheel holds the templates and print.css, and finds them.

The wheel is built from this checkout, installed (not editable) into a fresh virtualenv
that sees no other site-packages, and run from a folder that has no ``templates/``: it
must check and render a sample mailing with the templates it carries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_checks_and_renders_from_another_folder(
    tmp_path: Path,
) -> None:
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path, ROOT)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("dispatch-*.whl")

    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    installed = run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel)
    assert installed.returncode == 0, installed.stderr

    work = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "mailings" / "tsb-352", work / "tsb-352")
    # The letterhead the samples share lives beside them (letterhead.file = "../…").
    for shared in ("letterhead.toml", "letterhead-logo.svg"):
        shutil.copy(ROOT / "mailings" / shared, work / shared)
    shutil.copy(ROOT / "contacts.xlsx", work / "contacts.xlsx")
    dispatch = venv / "bin" / "dispatch"

    checked = run(dispatch, "check", "tsb-352", "--contacts", "contacts.xlsx", cwd=work)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    rendered = run(
        dispatch,
        "render",
        "tsb-352",
        "--contacts",
        "contacts.xlsx",
        "--format",
        "html,pdf",
        "--out",
        "out",
        cwd=work,
    )
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    html = list((work / "out").rglob("*.html"))
    pdfs = list((work / "out").rglob("*.pdf"))
    assert html and pdfs, sorted(p.name for p in (work / "out").rglob("*"))
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    # The templates it used are the wheel's, not this checkout's.
    located = run(
        venv / "bin" / "python",
        "-c",
        "from dispatch.templates import DEFAULT_TEMPLATES; print(DEFAULT_TEMPLATES)",
        cwd=work,
    )
    assert located.stdout.strip().startswith(str(venv)), located.stdout + located.stderr
