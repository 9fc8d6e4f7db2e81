"""Which templates a mailing uses: dispatch's own, unless the mailing file or --templates
names a folder; a ``templates/`` folder that happens to be in the working directory is
never picked up silently."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dispatch.templates import DEFAULT_TEMPLATES
from tests.helpers import run

MARK = "Lettre rédigée avec les modèles du secrétariat."


def own_templates(folder: Path) -> Path:
    """A copy of dispatch's templates whose French text letter ends with ``MARK``."""
    shutil.copytree(DEFAULT_TEMPLATES, folder)
    letter = folder / "fr" / "invitation.txt"
    letter.write_text(
        letter.read_text(encoding="utf-8").replace("{% endblock %}", MARK + "\n{% endblock %}"),
        encoding="utf-8",
    )
    return folder


def render_txt(sample: Path, *extra: str) -> str:
    out = sample / "out"
    code, stdout, stderr = run(
        *("render", "mailings/tsb-352", "--contacts", "contacts.xlsx"),
        *("--format", "txt", "--out", str(out), *extra),
    )
    assert code == 0, stdout + stderr
    return "\n".join(p.read_text(encoding="utf-8") for p in out.rglob("*.txt"))


def test_the_bundled_templates_are_a_package_resource_with_print_css() -> None:
    assert (DEFAULT_TEMPLATES / "fr" / "invitation.html").is_file()
    assert (DEFAULT_TEMPLATES / "print.css").is_file()


def test_a_templates_folder_in_the_working_directory_is_not_used(
    sample_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.rmtree(sample_copy / "templates")
    own_templates(sample_copy / "templates")
    monkeypatch.chdir(sample_copy)
    assert MARK not in render_txt(sample_copy)


def test_the_mailing_file_names_its_own_templates_folder(
    sample_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailing = sample_copy / "mailings" / "tsb-352" / "mailing.toml"
    own_templates(mailing.parent / "our-templates")
    mailing.write_text(
        'templates = "our-templates"\n' + mailing.read_text(encoding="utf-8"), encoding="utf-8"
    )
    monkeypatch.chdir(sample_copy)
    assert MARK in render_txt(sample_copy)


def test_the_templates_option_names_a_folder(
    sample_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_templates(sample_copy / "elsewhere")
    monkeypatch.chdir(sample_copy)
    assert MARK in render_txt(sample_copy, "--templates", str(sample_copy / "elsewhere"))


def test_a_template_edited_since_the_last_run_is_compiled_again(
    sample_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled templates are kept from one run to the next (Jinja's bytecode cache);
    an edit to a template is seen by the next run all the same."""
    from dispatch import templates

    folder = own_templates(sample_copy / "our-templates")
    monkeypatch.chdir(sample_copy)
    assert MARK in render_txt(sample_copy, "--templates", str(folder))
    letter = folder / "fr" / "invitation.txt"
    letter.write_text(
        letter.read_text(encoding="utf-8").replace(MARK, "Texte revu."), encoding="utf-8"
    )
    templates._environment.cache_clear()  # what a new run starts with
    shutil.rmtree(sample_copy / "out")
    again = render_txt(sample_copy, "--templates", str(folder))
    assert MARK not in again
    assert "Texte revu." in again
