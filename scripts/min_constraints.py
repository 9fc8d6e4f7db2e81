"""Print a pip constraints file pinning every dependency of pyproject.toml to its lower bound.

    python scripts/min_constraints.py > .venv-min/constraints.txt

``make test-min`` installs the project with it and runs the suite: the bounds that
pyproject.toml declares are then bounds that were tested, not hopes.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LOWER = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*[^;]*?>=\s*([0-9][^,;\s]*)")


def lower_bounds(pyproject: Path) -> list[str]:
    """``name==version`` for each requirement with a ``>=`` bound (runtime and extras)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    pins: dict[str, str] = {}
    for requirement in requirements:
        match = _LOWER.match(requirement)
        if match:
            pins[match.group(1).lower()] = f"{match.group(1)}=={match.group(2)}"
    return sorted(pins.values(), key=str.lower)


def main() -> None:
    sys.stdout.write("\n".join(lower_bounds(ROOT / "pyproject.toml")) + "\n")


if __name__ == "__main__":
    main()
