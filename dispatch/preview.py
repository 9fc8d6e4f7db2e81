"""The preview: a static folder to read every letter before sending, at any size.

``index.html`` is small whatever the number of letters: the letters are described in
``letters.js`` (one compact row per letter, setting a global, since a page opened from
the file system may not ``fetch()``), and ``preview.js`` draws them a page at a time with a
search box and filters (language, category, state after a send). Without JavaScript the
page still shows the totals, the summary per language and category, and the first page of
letters. ``letter.html#k=<lang>/<stem>`` shows one letter with a bar of links (back to the
index, its PDF and ``.eml``, the same letter in the other language side by side).

The letters themselves are the files ``render`` writes (``<lang>/<stem>.<ext>``), left
exactly as they are sent. The other-language versions are rendered here for the same
addressee with the mailing's default salutation, written once per distinct text under
``other/<lang>/``. Everything is relative: the folder works offline, without a server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import jinja2

from dispatch import languages
from dispatch.approval import approval_state
from dispatch.errors import DispatchError, Location, Problem
from dispatch.journal import Journal, JournalRow
from dispatch.numbers import number
from dispatch.output import write_atomic
from dispatch.paths import journal_path
from dispatch.prepare import Prepared
from dispatch.render import Letter, Renderer
from dispatch.report import state_label, state_order
from dispatch.resources import package_path


def _lang_name(code: str) -> str:
    """A language's name in itself, capitalised as a heading: "Français", "Español"."""
    name = languages.get(code).name if languages.is_known(code) else code
    return name[:1].upper() + name[1:]


PAGE_SIZE = 50
"""Letters per page, in the index and in its first page written without JavaScript.

50 keeps ``index.html`` under 50 KB at any number of letters, long file names included
(about 800 bytes a row with its links to the HTML, PDF and ``.eml`` files)."""
PAGE_WARNINGS = 50
"""Warnings listed in the page; all of them are returned to the caller (the terminal)."""
ASSETS = ("preview.css", "preview.js", "letter.html")
LINKED_FORMATS = ("html", "pdf", "eml", "txt")

# One letter in letters.js: a list, in this order (names are in the file's "columns").
COLUMNS = (
    "lang",
    "stem",
    "name",
    "organisation",
    "email",
    "salutation",
    "categories",
    "copy",
    "state",
    "other",
    "subject",
    "files",  # the addressee's own files (attachments column, per-addressee annexes)
)


@dataclass(frozen=True)
class Preview:
    """What :func:`write_preview` wrote, and the warnings to show in the terminal too."""

    index: Path
    letters: int
    data: Path
    warnings: list[Problem] = field(default_factory=list)


_ENV = jinja2.Environment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["q"] = lambda text: quote(str(text))
_ENV.filters["n"] = number  # 9 783, as the terminal writes it
# The page's template: a file beside the assets, so that it reads as HTML.
_INDEX = _ENV.from_string(package_path("preview_assets", "index.html.j2").read_text("utf-8"))


def write_index(prepared: Prepared, out: Path, formats: list[str]) -> Preview:
    """Write the preview of letters already rendered to ``out`` in ``formats``.

    The journal of the mailing, if there is one, gives each letter its state; it is
    opened read-only and a journal that cannot be read is a warning, not an error.
    """
    warnings: list[Problem] = []
    rows: list[JournalRow] | None = None
    path = journal_path(prepared.mailing.folder)
    if path.exists():
        try:
            with Journal.open(path, readonly=True) as journal:
                rows = journal.rows()
        except DispatchError as exc:
            warnings.append(
                Problem(
                    Location(file=path),
                    f"could not be read ({exc}); the preview shows no states",
                    "Run dispatch status to see what is wrong.",
                    warning=True,
                )
            )
    approval = approval_state(prepared)
    result = write_preview(prepared, out, formats, journal_rows=rows, approval=approval)
    return dataclasses.replace(result, warnings=[*result.warnings, *warnings])


def write_preview(
    prepared: Prepared,
    out: Path,
    formats: Iterable[str],
    *,
    journal_rows: Iterable[JournalRow] | None = None,
    approval: str = "",
) -> Preview:
    """Write ``index.html``, ``letters.js``, the assets and the other-language versions.

    ``journal_rows`` (from :meth:`Journal.rows`) give each letter its state after a send.
    Returns where the index is and every warning (the workbook's, then the preview's).
    """
    mailing = prepared.mailing
    linked = [f for f in LINKED_FORMATS if f in set(formats)]
    states = {row.key: state_label(row) for row in journal_rows or ()}
    others = _write_other_languages(prepared, out)
    order: dict[str, int] = {lang: i for i, lang in enumerate(mailing.languages)}
    letters = sorted(
        enumerate(prepared.letters), key=lambda pair: (order.get(pair[1].lang, 99), pair[0])
    )
    renderer = Renderer(mailing, prepared.contacts, prepared.templates)
    subjects: dict[str, str] = {}
    for letter in prepared.letters:
        subjects.setdefault(letter.lang, letter.subject)
    described = [
        _describe(letter, renderer, states, others.get(letter.addressee.key, {}), subjects)
        for _, letter in letters
    ]

    data = {
        "name": mailing.name,
        "formats": linked,
        "pageSize": PAGE_SIZE,
        "languages": {lang: _lang_name(lang) for lang in mailing.languages},
        "subjects": subjects,
        "columns": COLUMNS,
        "rows": [[d[c] for c in COLUMNS] for d in described],
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    data_path = out / "letters.js"
    write_atomic(data_path, f"window.DISPATCH_PREVIEW={text};\n".encode())
    for asset in ASSETS:
        write_atomic(out / asset, package_path("preview_assets", asset).read_bytes())

    counts = prepared.counts()
    to_codes = [c.upper() for c in mailing.addressees.to]
    cc_codes = [c.upper() for c in mailing.addressees.cc]
    categories = [
        (code, prepared.contacts.categories[code].line(mailing.languages[0]), code in cc_codes)
        for code in [*to_codes, *cc_codes]
        if code in prepared.contacts.categories and any(k[1] == code for k in counts)
    ]
    summary = [
        (lang, code, prepared.contacts.categories[code].line(lang), counts[(lang, code)], cc)
        for lang in mailing.languages
        for code, _line, cc in categories
        if counts[(lang, code)]
    ]
    per_lang = Counter(letter.lang for letter in prepared.letters)
    per_state = Counter(d["state"] for d in described if d["state"])
    sent = sorted(row.sent_at for row in journal_rows or () if row.sent_at)
    warnings = list(prepared.warnings)
    page = _INDEX.render(
        name=mailing.name,
        references=" / ".join(dict.fromkeys(mailing.reference.get(x) for x in mailing.languages)),
        template=mailing.template,
        sent_at=_span(sent[0], sent[-1]) if sent else "",
        approval=approval,
        subjects=list(subjects.items()),
        total=len(prepared.letters),
        per_lang=[(lang, per_lang[lang]) for lang in mailing.languages if per_lang[lang]],
        copies=sum(1 for letter in prepared.letters if letter.copy),
        several=sum(1 for letter in prepared.letters if len(letter.categories) > 1),
        per_state=sorted(per_state.items(), key=lambda kv: state_order(kv[0])),
        warnings=[str(w) for w in warnings[:PAGE_WARNINGS]],
        warning_count=len(warnings),
        summary=summary,
        categories=categories,
        lang_names={lang: _lang_name(lang) for lang in mailing.languages},
        first=described[:PAGE_SIZE],
        formats=linked,
        main=linked[0] if linked else "html",
    )
    index = out / "index.html"
    write_atomic(index, page.encode("utf-8"))
    return Preview(index=index, letters=len(prepared.letters), data=data_path, warnings=warnings)


def _span(first: datetime, last: datetime) -> str:
    """``2026-11-30 09:15 – 09:16`` in this machine's time (the journal writes UTC)."""
    start, end = first.astimezone(), last.astimezone()
    same_day = start.date() == end.date()
    return f"{start:%Y-%m-%d %H:%M} – {end:{'%H:%M' if same_day else '%Y-%m-%d %H:%M'}}"


def _describe(
    letter: Letter,
    renderer: Renderer,
    states: Mapping[str, str],
    other: Mapping[str, str],
    subjects: Mapping[str, str],
) -> dict[str, object]:
    person = letter.addressee
    return {
        "lang": letter.lang,
        "stem": letter.stem,
        "name": " ".join(p for p in (person.civility, person.full_name) if p),
        "organisation": person.organisation,
        "email": person.email,
        "salutation": renderer.salutation(person, letter.lang),
        "categories": list(letter.categories),
        "copy": 1 if letter.copy else 0,
        "state": states.get(person.key, ""),
        "other": dict(other),
        # The subject is the same for every letter of a language unless the mailing's
        # subject names the addressee: only a different one is repeated.
        "subject": "" if letter.subject == subjects[letter.lang] else letter.subject,
        "files": [own.name for own in letter.files],
    }


def _write_other_languages(prepared: Prepared, out: Path) -> dict[str, dict[str, str]]:
    """Each letter in the mailing's other languages: ``{key: {lang: "other/<lang>/<id>"}}``.

    The addressee is the same, the salutation the mailing's default in that language (a
    salutation in the workbook is written in the addressee's language). Identical texts are
    written once, so that a mailing without personal text adds one file per language.
    """
    mailing, categories = prepared.mailing, prepared.contacts.categories
    codes = [c.upper() for c in (*mailing.addressees.to, *mailing.addressees.cc)]
    # a language nobody reads may lack the categories' lines: no version in it, not an error
    languages = [
        lang
        for lang in mailing.languages
        if all(code in categories and lang in categories[code].lines for code in codes)
    ]
    if len(languages) < 2:
        return {}
    renderer = Renderer(prepared.mailing, prepared.contacts, prepared.templates)
    written: set[str] = set()
    found: dict[str, dict[str, str]] = {}
    for letter in prepared.letters:
        person = letter.addressee
        for lang in languages:
            if lang == letter.lang:
                continue
            other = renderer.letter(dataclasses.replace(person, language=lang, salutation=""), "")
            digest = hashlib.sha256(other.html.encode("utf-8")).hexdigest()[:16]
            name = f"other/{lang}/{digest}"
            if name not in written:
                write_atomic(out / f"{name}.html", other.html.encode("utf-8"))
                written.add(name)
            found.setdefault(person.key, {})[lang] = name
    return found
