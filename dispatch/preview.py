"""The preview page: an ``index.html`` beside the rendered letters, to read before sending.

It lists every letter grouped by language and category, with the addressee, the subject
and links to the HTML, PDF and ``.eml`` files, and the validation warnings. It is a plain
file with relative links: it works offline, from the file system, without a server.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import jinja2

from dispatch.output import write_atomic
from dispatch.prepare import Prepared
from dispatch.render import Letter

_PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Preview – {{ name }}</title>
<style>
body { font-family: "Liberation Sans", Arial, sans-serif; margin: 2rem auto; max-width: 72rem;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; color: #444; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eee;
         vertical-align: top; }
th { background: #f5f5f5; } .warnings { background: #fff8e1; padding: .6rem 1rem; }
.summary td:last-child, .summary th:last-child { text-align: right; }
a { color: #0b5cad; }
</style>
</head>
<body>
<h1>{{ name }} – {{ total }} letters</h1>
<p>Reference: {{ references }} · Template: {{ template }} · Files in
<code>{{ out }}</code></p>
{% if warnings %}
<div class="warnings"><strong>Warnings</strong>
<ul>{% for w in warnings %}<li>{{ w }}</li>{% endfor %}</ul></div>
{% endif %}
<table class="summary">
<tr><th>Language</th><th>Category</th><th>Letters</th></tr>
{% for lang, groups in languages %}{% for code, line, letters in groups %}
<tr><td>{{ lang }}</td><td>{{ code }} – {{ line }}</td><td>{{ letters | length }}</td></tr>
{% endfor %}{% endfor %}
</table>
{% for lang, groups in languages %}
<h2 id="{{ lang }}">{{ lang_names[lang] }}</h2>
{% for code, line, letters in groups %}
<h3 id="{{ lang }}-{{ code }}">{{ code }} – {{ line }}</h3>
<table>
<tr><th>Addressee</th><th>Organisation</th><th>E-mail</th><th>Subject</th><th>Files</th></tr>
{% for letter in letters %}
<tr><td>{{ letter.addressee.full_name or "—" }}</td><td>{{ letter.addressee.organisation }}</td>
<td>{{ letter.addressee.email }}</td><td>{{ letter.subject }}</td>
<td>{% for ext in formats %}
<a href="{{ lang }}/{{ letter.stem | urlencode }}.{{ ext }}">{{ ext }}</a>{{ "·" if not loop.last }}
{% endfor %}</td></tr>
{% endfor %}
</table>
{% endfor %}
{% endfor %}
</body>
</html>
"""
)

LANG_NAMES = {"fr": "Français", "en": "English"}


def grouped(prepared: Prepared) -> list[tuple[str, list[tuple[str, str, list[Letter]]]]]:
    """Letters by language, then by category in the order of the mailing (to, then cc)."""
    mailing = prepared.mailing
    order = [c.upper() for c in [*mailing.addressees.to, *mailing.addressees.cc]]
    by: dict[str, dict[str, list[Letter]]] = defaultdict(lambda: defaultdict(list))
    for letter in prepared.letters:
        for code in letter.categories:
            by[letter.lang][code].append(letter)
    out: list[tuple[str, list[tuple[str, str, list[Letter]]]]] = []
    for lang in mailing.languages:
        if lang not in by:
            continue
        groups = [
            (code, prepared.contacts.categories[code].line(lang), by[lang][code])
            for code in order
            if code in by[lang]
        ]
        out.append((lang, groups))
    return out


def write_index(prepared: Prepared, out: Path, formats: list[str]) -> Path:
    """Write ``out/index.html`` for letters already written to ``out`` in ``formats``."""
    mailing = prepared.mailing
    page = _PAGE.render(
        name=mailing.name,
        total=len(prepared.letters),
        references=" / ".join(dict.fromkeys(mailing.reference.get(x) for x in mailing.languages)),
        template=mailing.template,
        out=str(out),
        warnings=[str(w) for w in prepared.warnings],
        languages=grouped(prepared),
        lang_names=LANG_NAMES,
        formats=[f for f in formats if f in ("html", "pdf", "eml", "txt")],
    )
    path = out / "index.html"
    write_atomic(path, page.encode("utf-8"))
    return path
