"""The inputs of a mailing, listed once: what its messages are made from.

The fingerprint of a run (:mod:`dispatch.fingerprint`), the manifest of an approval
(:mod:`dispatch.approval`) and the guard that keeps every command from writing over an
input (:meth:`MailingInputs.output_problems`: ``report``, ``archive``, ``bounces
--fix-list``, ``render --out``, ``preview``) all read this one list, so that an input
added here is fingerprinted, approved and protected alike:

- the mailing file;
- the workbook, and a ``.csv`` workbook's ``<name>.categories.csv``;
- the letterhead file and its logo (:func:`dispatch.letterhead.letterhead_files`);
- the templates the letters are rendered from: the mailing's kind in each of its
  languages (``fr/invitation.html``, ``fr/invitation.txt``), every file those extend,
  include or import, and ``print.css``; not the rest of the templates folder, so that a
  folder shared with other things (``templates = "."``) counts only its templates;
- the annexes attached.

- the files of single addressees (an ``attachments`` column, per-addressee annexes),
  when the letters are prepared.

(A new kind of input is one more ``_add`` in :func:`mailing_inputs`.)

Each input has a label (``template fr/base.html``) and the place an approval records:
relative to the mailing folder (``../contacts.xlsx``), so that the same mailing on a
share mounted elsewhere is still the same; the templates bundled with dispatch are
recorded as ``dispatch:templates/fr/base.html`` wherever dispatch is installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import meta

from dispatch import languages
from dispatch.errors import Problem
from dispatch.files import Output, input_problems
from dispatch.letterhead import letterhead_files
from dispatch.mailing import Mailing
from dispatch.paths import APPROVED_DIR, OUTPUT_DIR, approval_dir, journal_dir
from dispatch.personal import PersonalFile
from dispatch.templates import DEFAULT_TEMPLATES

__all__ = ["APPROVED_DIR", "InputFile", "MailingInputs", "mailing_inputs", "template_files"]

_BUNDLED = "dispatch:templates/"


@dataclass(frozen=True)
class InputFile:
    """One input: ``label`` (``workbook``, ``template fr/base.html``), ``path`` (where it
    is read now) and ``recorded`` (where, as an approval records it)."""

    label: str
    path: Path
    recorded: str


@dataclass(frozen=True)
class MailingInputs:
    """Every input of one mailing, and the folders holding its records."""

    folder: Path  # the mailing's folder
    files: tuple[InputFile, ...]
    # Guarded but not read: the templates' language folders (nothing is written in
    # them) and a workbook's companion file even when the workbook does not read it.
    guarded: tuple[tuple[str, Path], ...] = ()

    def __iter__(self) -> Iterator[InputFile]:
        return iter(self.files)

    @property
    def records(self) -> tuple[Path, Path]:
        """The folders of the mailing's records: its approvals and its journal."""
        return (approval_dir(self.folder), journal_dir(self.folder))

    def output_problems(
        self, out: Path, output: Output, *, folders: Iterable[str] | None = None
    ) -> list[Problem]:
        """Why ``out`` may not be written (see :func:`dispatch.files.input_problems`):
        it is one of these inputs (through a link, a hard link or another spelling of its
        path), or it lies in the mailing's records. ``folders``: ``out`` is a folder that
        the command writes files into these subfolders of (``"."``, ``"fr"``)."""
        return input_problems(
            out,
            [(f"the {f.label}", f.path) for f in self.files] + list(self.guarded),
            output=output,
            records=self.records,
            folders=folders,
        )


def mailing_inputs(
    mailing: Mailing, workbook: Path, templates: Path, personal: Iterable[PersonalFile] = ()
) -> MailingInputs:
    """The inputs of ``mailing`` read with ``workbook`` and the ``templates`` folder;
    ``personal``: the files of single addressees, known once the letters are prepared
    (:meth:`dispatch.prepare.Prepared.own_files`).

    Files are listed whether or not they can be read now: reading them says what is
    wrong.
    """
    folder = mailing.folder
    files: dict[str, InputFile] = {}

    def _add(label: str, path: Path) -> None:
        files.setdefault(label, InputFile(label, path, recorded_place(path, folder)))

    _add("mailing", mailing.path)
    _add("workbook", workbook)
    companion = workbook.with_name(workbook.stem + ".categories.csv")
    if workbook.suffix.lower() == ".csv" and companion.is_file():
        _add("categories", companion)
    if mailing.letterhead is not None:
        for label, path in letterhead_files(mailing.letterhead, mailing.path):
            _add(label, path)
    for name, path in template_files(templates, mailing.template, mailing.languages):
        _add(f"template {name}", path)
    for lang in mailing.languages:  # its language file: dates, labels, typography
        source = languages.get(lang).source if languages.is_known(lang) else None
        if source is not None:
            _add(f"language {lang}", source)
    for annex in mailing.annexes:
        attached = mailing.annex_path(annex)
        if attached is not None:
            _add(f"annex {annex.file}", attached)
    for own in sorted(personal, key=lambda f: f.name):
        _add(f"file {own.name}", own.path)
    guarded = [("the templates folder", templates / lang) for lang in mailing.languages]
    if "categories" not in files and companion.exists():
        guarded.append(("the categories file", companion))
    return MailingInputs(folder, tuple(files.values()), tuple(guarded))


def recorded_place(path: Path, folder: Path) -> str:
    """Where ``path`` is, as an approval records it: relative to the mailing ``folder``
    (POSIX separators), or ``dispatch:templates/…`` for a template bundled with dispatch
    (the install is not an input: another install of the same version matches)."""
    resolved = path.resolve()
    if resolved.is_relative_to(DEFAULT_TEMPLATES):
        return _BUNDLED + resolved.relative_to(DEFAULT_TEMPLATES).as_posix()
    return Path(os.path.relpath(resolved, folder.resolve())).as_posix()


def template_files(root: Path, kind: str, languages: Iterable[str]) -> list[tuple[str, Path]]:
    """The template files a mailing of ``kind`` in ``languages`` is rendered from:
    ``(name relative to root, path)``, sorted.

    From ``<lang>/<kind>.html`` and ``.txt``, every template they extend, include or
    import (looked up as the letters' loader does: ``<lang>/`` first, then the root),
    and ``print.css``. A template naming another one by a variable (which cannot be
    followed without rendering) makes every file of the folder count, except the
    mailing's records and hidden files.
    """
    root = root.resolve()
    parser = jinja2.Environment(autoescape=False)  # parsing only: nothing is rendered
    found: dict[Path, str] = {}
    todo = [(lang, f"{kind}{suffix}") for lang in languages for suffix in (".html", ".txt")]
    todo.append(("", "print.css"))
    dynamic = False
    while todo:
        lang, name = todo.pop()
        path = _lookup(root, lang, name)
        if path is None or path in found:
            continue
        found[path] = path.relative_to(root).as_posix()
        if path.suffix.lower() not in (".html", ".txt"):
            continue
        try:
            tree = parser.parse(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, jinja2.TemplateSyntaxError):
            continue  # rendering it says what is wrong
        for referenced in meta.find_referenced_templates(tree):
            if referenced is None:
                dynamic = True
            else:
                todo.append((lang, referenced))
    if dynamic:
        for path in _every_file(root):
            found.setdefault(path, path.relative_to(root).as_posix())
    return sorted(((name, path) for path, name in found.items()), key=lambda item: item[0])


def _lookup(root: Path, lang: str, name: str) -> Path | None:
    """Where the letters' loader finds ``name``: ``<lang>/name``, else ``name``; within
    ``root`` only (a link out of it is not followed, as the loader refuses it)."""
    for base in (root / lang, root) if lang else (root,):
        candidate = base / name
        if candidate.is_file():
            resolved = candidate.resolve()
            return resolved if resolved.is_relative_to(root) else None
    return None


def _every_file(root: Path) -> Iterator[Path]:
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(
            s for s in subfolders if not s.startswith(".") and s not in (APPROVED_DIR, OUTPUT_DIR)
        )
        for name in sorted(names):
            path = here / name
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                yield path
