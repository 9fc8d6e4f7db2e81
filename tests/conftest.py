"""Shared fixtures: real workbooks written with openpyxl, real mailing folders, a real
SMTP server (:class:`tests.smtp_server.Sink`) and a journal."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from openpyxl import Workbook

from dispatch import paths
from dispatch.journal import Journal
from tests.helpers import use_relay
from tests.mta import dovecot, mail_root, make_postfix, mta_sink, postfix_relay  # noqa: F401
from tests.smtp_server import Sink

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: The markers of the tests that need outside systems or run long: make test runs them in
#: a step of its own (pytest -m system), make test-fast leaves them out.
SYSTEM = ("slow", "mta", "browser")


def pytest_configure(config: pytest.Config) -> None:
    """Run every test as in a log, whatever started pytest: pytest-xdist's workers are
    given ``COLUMNS=80`` and ``LINES=24``, which would make dispatch wrap its lines (a
    subprocess's too) at 80 columns. A test that wants a width sets it."""
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``system`` every test marked slow, mta or browser."""
    for item in items:
        if any(item.get_closest_marker(name) for name in SYSTEM):
            item.add_marker(pytest.mark.system)


HEADERS = [
    "email",
    "civility",
    "first_name",
    "last_name",
    "function",
    "organisation",
    "country",
    "categories",
    "language",
    "salutation",
    "cc",
    "active",
]
CATEGORIES = [
    ["code", "fr", "en"],
    ["MS", "Aux États Membres de l'UIT", "Member States of ITU"],
    ["AC", "Aux établissements universitaires participant aux travaux de l'UIT", "ITU Academia"],
    [
        "SGC",
        "Aux Présidents et Vice-Présidents des commissions d'études",
        "The Chairmen and Vice-Chairmen of Study Groups",
    ],
]


def person(email: str, **fields: Any) -> dict[str, Any]:
    """A Contacts row as a dict; unspecified columns get plausible values."""
    row: dict[str, Any] = {
        "email": email,
        "civility": "Mme",
        "first_name": "Anne",
        "last_name": "Martin",
        "function": "Directrice",
        "organisation": "Ministère des Postes de Valmont",
        "country": "Valmont",
        "categories": "MS;AC",  # MINIMAL_MAILING addresses both: neither is empty
        "language": "fr",
        "salutation": "",
        "cc": "",
        "active": "yes",
    }
    row.update(fields)
    return row


WorkbookFactory = Callable[..., Path]


@pytest.fixture
def make_workbook(tmp_path: Path) -> WorkbookFactory:
    """Write a real .xlsx with a Contacts and a Categories sheet; return its path."""

    def make(
        people: Sequence[dict[str, Any]] | None = None,
        *,
        headers: Sequence[str] = HEADERS,
        categories: Sequence[Sequence[Any]] = CATEGORIES,
        name: str = "contacts.xlsx",
        raw_rows: Sequence[Sequence[Any]] | None = None,
    ) -> Path:
        wb = Workbook()
        sheet = wb.active
        assert sheet is not None
        sheet.title = "Contacts"
        sheet.append(list(headers))
        if raw_rows is not None:
            for raw in raw_rows:
                sheet.append(list(raw))
        for row in (
            people
            if people is not None
            else [
                person("anne.martin@example.org"),
                person(
                    "john.smith@example.org",
                    civility="Mr",
                    first_name="John",
                    last_name="Smith",
                    organisation="Ministry of ICT of Northmoor",
                    language="en",
                ),
                person(
                    "prof.lee@example.org",
                    categories="AC",
                    language="en",
                    first_name="Mei",
                    last_name="Lee",
                    organisation="Costa Azul University",
                ),
                person("chair@example.org", categories="SGC", first_name="Rémi", last_name="Caron"),
            ]
        ):
            sheet.append([row.get(h.strip().lower(), "") for h in headers])
        cats = wb.create_sheet("Categories")
        for row in categories:
            cats.append(list(row))
        path = tmp_path / name
        wb.save(path)
        return path

    return make


MINIMAL_MAILING = """
template = "invitation"
languages = ["fr", "en"]
date = 2021-10-13
numbered = true

[reference]
fr = "Circulaire TSB 352"
en = "TSB Circular 352"

[place]
fr = "Genève"
en = "Geneva"

[unit]
fr = ["Bureau de la normalisation des télécommunications"]
en = ["Telecommunication Standardization Bureau"]

[contact]
name = { fr = "M. Jean Exemple", en = "Mr Jean Exemple" }
phone = "+41 22 730 6301"
email = "u4ssc@example.org"

[addressees]
to = ["MS", "AC"]
cc = ["SGC"]

[sender]
email = "tsb@example.org"
name = { fr = "UIT – TSB", en = "ITU – TSB" }

[subject]
fr = "Sixième réunion de l'initiative U4SSC ({{ event.start | date }})"
en = "Sixth meeting of the U4SSC initiative ({{ event.start | date }})"

[event]
name = { fr = "Réunion U4SSC", en = "U4SSC meeting" }
start = 2021-12-07
start_time = 10:00:00
end_time = 15:30:00
timezone = "Europe/Zurich"
virtual = true
languages = ["en"]

[body.intro]
fr = "Cette réunion se déroulera {{ event.start | date_range(event.end) }}, {{ event.start_time | time_range(event.end_time, zone=event.zone) }}."
en = "The meeting will be held on {{ event.start | date_range(event.end) }}, {{ event.start_time | time_range(event.end_time, zone=event.zone) }}."

[body.languages]
fr = "La réunion aura lieu en {{ event.languages | join_list }} seulement."
en = "The meeting will be held in {{ event.languages | join_list }} only."

[[signatories]]
name = "Chaesub Lee"
title = { fr = ["Directeur"], en = ["Director"] }
"""


def no_copy(text: str = MINIMAL_MAILING) -> str:
    """The mailing without its copy category (SGC): for a workbook whose rows have none of
    its addressees, since a cc category that addresses nobody is an error (issue 22)."""
    return text.replace('cc = ["SGC"]', "cc = []")


@pytest.fixture
def make_mailing(tmp_path: Path) -> Callable[..., Path]:
    """Write a mailing folder (``mailing.toml`` from text) and return the file's path."""

    def make(
        text: str = MINIMAL_MAILING, *, name: str = "u4ssc-6", files: dict[str, bytes] | None = None
    ) -> Path:
        folder = tmp_path / "mailings" / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "mailing.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        for filename, data in (files or {}).items():
            (folder / filename).write_bytes(data)
        return path

    return make


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A copy of the repository's samples (mailings, workbook, templates) in tmp_path."""
    for item in ("mailings", "templates"):
        shutil.copytree(ROOT / item, tmp_path / item, ignore=shutil.ignore_patterns(".dispatch"))
    shutil.copy(ROOT / "contacts.xlsx", tmp_path / "contacts.xlsx")
    return tmp_path


@pytest.fixture
def sink() -> Iterator[Sink]:
    """An SMTP server on 127.0.0.1 that records what it receives (see tests.smtp_server)."""
    with Sink() as server:
        yield server


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask (files 0644, folders 0755) for this test, whatever the runner's."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def relay_env(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment that sends through ``sink`` (no TLS, 5 s for each reply)."""
    return use_relay(monkeypatch, sink.port, {"DISPATCH_SMTP_TIMEOUT": "5"})


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    """A new journal in ``tmp_path/.dispatch``, closed after the test."""
    with Journal.open(paths.journal_path(tmp_path)) as opened:
        yield opened
