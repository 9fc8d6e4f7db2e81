"""The benchmark's own workloads: a workbook of N fictional addressees and mailings to run.

The addressees come from ``scripts/make_sample_contacts.py`` (``generated``: fictional
people, ``example.org`` addresses, French and English in turn) and the workbook is written
by its ``write_workbook``, Categories sheet included. Two changes make every row a letter
of the sample mailing, ``mailings/tsb-352``:

* each addressee's category cycles over the mailing's own codes (``to`` and ``cc``), so
  that all N addressees get a letter, copies included (the generator also uses codes the
  sample mailing does not address);
* one addressee in ten has a personal salutation, so that the mailing has exactly four
  distinct letters (French and English, each with the default and the personal
  salutation), as a real circular does.

A *personal* copy of the mailing adds a paragraph naming the addressee, which makes every
letter distinct (the PDF benchmark needs distinct letters).
"""

from __future__ import annotations

import csv
import json
import re
import runpy
import shutil
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import partial
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parent.parent
SAMPLE_MAILING = REPO / "mailings" / "tsb-352"
SAMPLE_SCRIPT = REPO / "scripts" / "make_sample_contacts.py"

PERSONAL_SALUTATION = {"fr": "Madame la Déléguée, Monsieur le Délégué,", "en": "Dear Delegate,"}
DISTINCT_LETTERS = 4  # (fr, en) x (default, personal salutation)

_PERSONAL_PARAGRAPH = """
[body.personal]
fr = "La présente lettre est adressée à {{ addressee.full_name }} ({{ addressee.email }})."
en = "This letter is addressed to {{ addressee.full_name }} ({{ addressee.email }})."
"""

Row = list[str]


def _sample_script() -> dict[str, Any]:
    return runpy.run_path(str(SAMPLE_SCRIPT))


def headers() -> list[str]:
    """The columns of the Contacts sheet, as the sample script writes them."""
    return list(cast(list[str], _sample_script()["HEADERS"]))


def mailing_codes(mailing: Path = SAMPLE_MAILING) -> list[str]:
    """The category codes a mailing addresses, ``to`` then ``cc``."""
    data = tomllib.loads((mailing / "mailing.toml").read_text(encoding="utf-8"))
    addressees = data.get("addressees", {})
    return [str(c).upper() for c in [*addressees.get("to", []), *addressees.get("cc", [])]]


def addressees(count: int, codes: Sequence[str]) -> list[Row]:
    """``count`` fictional addressees, each in one of ``codes``, both languages."""
    script = _sample_script()
    names = script["HEADERS"]
    generated = cast(Callable[[int], list[Row]], script["generated"])
    rows = generated(count)
    category = names.index("categories")
    salutation = names.index("salutation")
    language = names.index("language")
    for i, row in enumerate(rows):
        row[category] = codes[i % len(codes)]
        if i % 10 == 3:
            row[salutation] = PERSONAL_SALUTATION[row[language]]
    return rows


def write_workbook(path: Path, rows: list[Row]) -> Path:
    """The workbook of ``rows``, written by the sample script (Categories sheet included)."""
    writer = cast(Callable[[Path, list[Row]], None], _sample_script()["write_workbook"])
    path.parent.mkdir(parents=True, exist_ok=True)
    writer(path, rows)
    return path


def copy_mailing(
    dest: Path, workbook: Path, *, personal: bool = False, used: set[str] | None = None
) -> Path:
    """A copy of the sample mailing in ``dest`` reading ``workbook``; a fresh journal."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(SAMPLE_MAILING, dest, ignore=shutil.ignore_patterns(".dispatch"))
    toml = dest / "mailing.toml"
    text = toml.read_text(encoding="utf-8")
    line = f"contacts = {json.dumps(str(workbook.resolve()))}"
    text, found = re.subn(r"(?m)^contacts\s*=.*$", lambda _: line, text, count=1)
    if not found:
        text = line + "\n" + text
    if personal:
        text += _PERSONAL_PARAGRAPH
    if used is not None:
        # A category of `to` that no addressee has is an error: address only those used.
        def keep(match: re.Match[str]) -> str:
            codes = [c for c in json.loads(match.group(2)) if c.upper() in used]
            return f"{match.group(1)}{json.dumps(codes)}"

        text = re.sub(r"(?m)^((?:to|cc)\s*=\s*)(\[.*\])$", keep, text)
    toml.write_text(text, encoding="utf-8")
    return dest


def fresh_copy(mailing: Path, dest: Path) -> Path:
    """``mailing`` copied to ``dest`` without its journal: a mailing never sent."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(mailing, dest, ignore=shutil.ignore_patterns(".dispatch"))
    return dest


@dataclass(frozen=True)
class Workload:
    """N addressees: their workbook and the sample mailing reading it."""

    n: int
    rows: list[Row]
    workbook: Path
    mailing: Path

    @classmethod
    def build(cls, root: Path, n: int, *, personal: bool = False) -> Workload:
        """Write the workbook and the mailing in ``root``; ``personal``: every letter distinct."""
        codes = mailing_codes()
        rows = addressees(n, codes)
        workbook = write_workbook(root / f"contacts-{n}.xlsx", rows)
        used = set(codes[: len(rows)]) if len(rows) < len(codes) else None
        mailing = copy_mailing(root / f"tsb-352-{n}", workbook, personal=personal, used=used)
        return cls(n=n, rows=rows, workbook=workbook, mailing=mailing)

    def emails(self, language: str, limit: int) -> list[str]:
        index = headers().index("language")
        return [r[0] for r in self.rows if r[index] == language][:limit]


# -- the peer's inputs -------------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """One of our messages, taken apart for the peer's template to copy."""

    language: str
    subject: str  # the Subject header as it goes on the wire (RFC 2047 words)
    sender: str  # the From header, likewise
    text: str
    html: str
    attachments: tuple[Path, ...]


def _raw_header(data: bytes, name: str) -> str:
    found = re.search(rb"(?mi)^" + name.encode() + rb":(.*(?:\r?\n[ \t].*)*)", data)
    if found is None:
        raise ValueError(f"the message has no {name} header")
    return " ".join(found.group(1).decode("ascii").split())


def sample_letters(messages: Path, dest: Path) -> list[Letter]:
    """One letter per language, taken from the ``.eml`` files of a render in ``messages``.

    The text and HTML parts become the letter; the attachments (the PDF letter and the
    calendar invitation) are written to ``dest/<lang>/``.
    """
    letters = []
    for lang_dir in sorted(p for p in messages.iterdir() if p.is_dir()):
        emls = sorted(lang_dir.glob("*.eml"))
        if not emls:
            continue
        data = emls[0].read_bytes()
        message = BytesParser(policy=policy.SMTP).parsebytes(data)
        assert isinstance(message, EmailMessage)
        bodies: dict[str, str] = {}
        attachments: list[Path] = []
        for part in message.walk():
            if part.is_multipart():
                continue
            filename = part.get_filename()
            if filename:
                path = dest / lang_dir.name / filename
                path.parent.mkdir(parents=True, exist_ok=True)
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                path.write_bytes(payload)
                attachments.append(path)
            elif part.get_content_maintype() == "text":
                assert isinstance(part, EmailMessage)
                bodies.setdefault(part.get_content_subtype(), str(part.get_content()))
        letters.append(
            Letter(
                language=lang_dir.name,
                subject=_raw_header(data, "Subject"),
                sender=_raw_header(data, "From"),
                text=bodies.get("plain", ""),
                html=bodies.get("html", ""),
                attachments=tuple(attachments),
            )
        )
    return letters


def _raw(text: str) -> str:
    """Jinja text that prints ``text`` as it is."""
    if "{% endraw %}" in text:
        raise ValueError("a letter holds '{% endraw %}': it cannot be copied into the template")
    return "{% raw %}" + text + "{% endraw %}"


def _attachment(letter: Letter, index: int) -> str:
    return str(letter.attachments[index])


def write_peer_inputs(
    dest: Path, letters: Sequence[Letter], rows: list[Row], port: int, *, text_only: bool = False
) -> Path:
    """The peer's template, CSV database and server config, from our letters and rows.

    The template is our letter itself, text and HTML, with the same attachments (the PDF
    letter and the calendar invitation), so that both tools build messages of the same
    length. Headers are ASCII (RFC 2047 words, the bare address in To) since the peer
    sends with ``smtplib``, which refuses anything else.
    ``text_only``: the text letter alone, no HTML and no attachment (the ``--format txt``
    comparison). Returns the folder; ``server.conf`` points at ``port`` on 127.0.0.1.
    """
    dest.mkdir(parents=True, exist_ok=True)
    boundary = "==dispatch-benchmark-boundary=="

    def by_language(pick: Callable[[Letter], str]) -> str:
        parts = []
        for i, letter in enumerate(letters):
            keyword = "if" if i == 0 else "elif"
            parts.append(f"{{% {keyword} language == {letter.language!r} %}}{pick(letter)}")
        return "".join(parts) + "{% endif %}"

    attachment_lines = [
        "ATTACHMENT: " + by_language(partial(_attachment, index=i))
        for i in range(min(len(x.attachments) for x in letters))
    ]
    if text_only:
        attachment_lines = []
    template = "\n".join(
        [
            "TO: {{ email }}",
            "FROM: " + by_language(lambda x: x.sender),
            "SUBJECT: " + by_language(lambda x: x.subject),
            *attachment_lines,
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "",
            f"--{boundary}",
            "Content-Type: text/plain; charset=utf-8",
            "",
            by_language(lambda x: _raw(x.text)),
            f"--{boundary}",
            "Content-Type: text/html; charset=utf-8",
            "",
            by_language(lambda x: _raw(x.html)),
            f"--{boundary}--",
            "",
        ]
    )
    if text_only:
        template = "\n".join(
            [
                "TO: {{ email }}",
                "FROM: " + by_language(lambda x: x.sender),
                "SUBJECT: " + by_language(lambda x: x.subject),
                "",
                by_language(lambda x: _raw(x.text)),
                "",
            ]
        )
    (dest / "template.txt").write_text(template, encoding="utf-8")
    names = headers()
    with (dest / "database.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(names)
        writer.writerows(rows)
    (dest / "server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nratelimit = 0\n", encoding="utf-8"
    )
    return dest
