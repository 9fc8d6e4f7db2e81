"""The core is a library: no module but the CLI imports the CLI's libraries.

``make lint`` checks the layers with import-linter (``[tool.importlinter]`` in
pyproject.toml); this test keeps the rule that matters to a program calling the API
where pytest alone sees it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "dispatch"
CLI_ONLY = {"click", "rich"}
CORE = sorted(
    p
    for p in PACKAGE.rglob("*.py")
    if p.relative_to(PACKAGE).parts[0] not in {"cli", "__main__.py"}
)


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.partition(".")[0])
    return roots


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_core_module_imports_neither_click_nor_rich(path: Path) -> None:
    assert not imported_roots(path) & CLI_ONLY


def test_the_scan_sees_an_import_of_click() -> None:
    assert "click" in imported_roots(PACKAGE / "cli" / "app.py")


def test_the_public_api_loads_without_the_cli_or_the_smtp_client() -> None:
    code = (
        "import sys, dispatch; dispatch.check_mailing; dispatch.render_mailing; "
        "print(sorted(m for m in ('click', 'rich', 'aiosmtplib', 'dispatch.cli') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"
