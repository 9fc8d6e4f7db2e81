"""The preview page: every letter, grouped by language and category, linked offline."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from click.testing import CliRunner

from dispatch.cli import main
from tests.conftest import ROOT


def test_preview_writes_an_index_linking_every_letter(tmp_path: Path) -> None:
    out = tmp_path / "preview"
    result = CliRunner().invoke(
        main,
        [
            "preview",
            str(ROOT / "mailings" / "tsb-352"),
            "--contacts",
            str(ROOT / "contacts.xlsx"),
            "--out",
            str(out),
            "--no-open",
            "--format",
            "html,eml",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)"', index)
    assert links, "the page links the letters"
    for link in links:
        assert not link.startswith(("http:", "https:", "/")), link  # relative: works offline
        assert (out / unquote(link)).is_file(), link
    html_links = [x for x in links if x.endswith(".html")]
    assert len(set(html_links)) == len(list(out.rglob("*.html"))) - 1  # all but index.html
    assert '<h2 id="fr">Français</h2>' in index and '<h2 id="en">English</h2>' in index
    assert "SGC – Aux Présidents et Vice-Présidents des commissions d&#39;études" in index
    assert "Sixième réunion de l’initiative" in index
