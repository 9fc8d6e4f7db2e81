"""Hostile input, generated: workbooks, CSV exports, mailing files and templates.

Each generated input either loads, with every value normalised (trimmed, NFC) and typed,
or ``dispatch check`` refuses it with exit code 2 and problems that each say where: sheet,
row and column for a workbook; field or line for a mailing file; file and line for a
template. Never a traceback, never exit code 1. The examples run through the command as
a user runs it (``CliRunner`` with ``catch_exceptions=False``, so that any exception
fails the test with its traceback).

``make test`` runs 60 examples per property; ``make fuzz`` (HYPOTHESIS_PROFILE=fuzz) 2000.
The broken files a user gives by mistake (an .xls, an encrypted .xlsx...) are kept in
``tests/data`` and tested one by one at the end.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from email_validator import validate_email
from hypothesis import event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from dispatch.contacts import Addressee, Contacts, load_contacts
from dispatch.errors import ContactsError, InvalidInput, MailingError, Problem
from dispatch.mailing import load_mailing
from dispatch.prepare import prepare
from dispatch.templates import TemplateSet
from tests.conftest import CATEGORIES, HEADERS, MINIMAL_MAILING, TEMPLATES, no_copy, person
from tests.helpers import run

DATA = Path(__file__).resolve().parent / "data"
#: the slow properties (a mailing rendered per example) run a third of the profile's examples
FEW = max(10, (settings().max_examples or 60) // 3)


# --- running dispatch as a user does ------------------------------------------------


def check(mailing: Path, contacts: Path, *extra: str) -> tuple[int, str]:
    """``dispatch check``: its exit code (0 or 2, never 1) and what it printed on stderr."""
    code, stdout, stderr = run("check", mailing, "--contacts", contacts, *extra)
    output = stdout + stderr
    assert code in (0, 2), output
    assert "Traceback" not in output
    return code, stderr


_COUNT = re.compile(r"^(\d+) problems? found; nothing was written or sent\.$", re.MULTILINE)
_WORKBOOK_LINE = re.compile(
    r"^- (?P<file>[^,:\n]+\.(?:xlsx|csv)), sheet (?P<sheet>[^,:\n]+)"
    r"(?:, row (?P<row>\d+)(?: to row (?P<last>\d[\d ]*))?"  # a run of rows: one line
    # a header may itself hold a quote (an own column: issue 22): up to the closing '": '
    r"(?:, column \"(?P<column>[^\n]*?)\")?)?: (?P<message>.*)$",
    re.MULTILINE,
)
_MAILING_LINE = re.compile(
    r'^- mailing\.toml, (?:field (?:"(?:[^"\\\n]|\\.)*"|[^\s:"])+|line \d+)(?:, field \S+)?: ',
    re.MULTILINE,
)
_TEMPLATE_LINE = re.compile(r"^- [\w.-]+\.(?:html|txt)(?:, line \d+)?: ", re.MULTILINE)
#: the problems of a whole sheet, which have no row or column to name
_SHEET_PROBLEMS = ("is missing", "is empty")


def assert_every_problem_is_located(stderr: str) -> None:
    """Each problem the CLI printed names sheet, row and column (or field, or line).

    Values may hold line breaks, so problems are counted rather than split into lines: the
    header says how many, and as many lines must start with a full location.
    """
    problems = stderr.split("\nWarnings:\n")[0]
    found = _COUNT.search(problems)
    assert found, stderr
    expected = int(found.group(1))
    workbook = list(_WORKBOOK_LINE.finditer(problems))
    for line in workbook:
        if line["row"] is None:
            assert line["message"].startswith(_SHEET_PROBLEMS), line.group(0)
        elif line["column"] is None:
            # a missing column: row 1, and the message names the column
            assert line["row"] == "1", line.group(0)
            assert line["message"].startswith('has no column "'), line.group(0)
    rows = sum(
        int(line["last"].replace(" ", "")) - int(line["row"]) + 1 if line["last"] else 1
        for line in workbook
    )  # the same problem on consecutive rows is printed once (dispatch.errors.summarise)
    located = rows + len(_MAILING_LINE.findall(problems)) + len(_TEMPLATE_LINE.findall(problems))
    assert located == expected, stderr


# --- values that load are normalised and typed ----------------------------------------

_TEXT_FIELDS = (
    "email",
    "civility",
    "first_name",
    "last_name",
    "function",
    "organisation",
    "country",
    "salutation",
)
_EDGES = re.compile(r"^[\s\u200b\u200c\u200d\u2060\ufeff]|[\s\u200b\u200c\u200d\u2060\ufeff]$")


def assert_normalised(contacts: Contacts) -> None:
    for person_ in contacts.addressees:
        assert isinstance(person_, Addressee)
        assert isinstance(person_.row, int) and person_.row >= 2
        for name in _TEXT_FIELDS:
            value = getattr(person_, name)
            assert isinstance(value, str)
            assert unicodedata.normalize("NFC", value) == value, (name, value)
            assert not _EDGES.search(value), (name, value)
        assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029\x85]", person_.email + person_.full_name)
        validate_email(person_.email, check_deliverability=False)
        assert person_.language in ("fr", "en")
        assert person_.categories
        assert all(code in contacts.categories for code in person_.categories)
        assert isinstance(person_.active, bool)
        for address in person_.cc:
            validate_email(address, check_deliverability=False)
    for code, category in contacts.categories.items():
        assert code == category.code == code.strip().upper()
        readers = {p.language for p in contacts.addressees if code in p.categories}
        assert all(category.lines.get(lang) for lang in readers)


def assert_loads_or_is_located(path: Path) -> None:
    """The library's side of the property: typed values, or problems that say where."""
    try:
        contacts = load_contacts(path)
    except ContactsError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert_located_in_workbook(problem)
        return
    assert_normalised(contacts)


def assert_located_in_workbook(problem: Problem) -> None:
    where = problem.where
    assert where.file is not None and where.sheet is not None, str(problem)
    if where.row is None:
        assert problem.message.startswith(_SHEET_PROBLEMS), str(problem)
    elif where.column is None:
        assert where.row == 1 and problem.message.startswith('has no column "'), str(problem)


# --- generated cells and workbooks ----------------------------------------------------

ERROR_CODES = ["#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NULL!", "#NUM!"]
FORMULAS = ["=1+1", "=A1", "=SUM(A1:A3)", "=1/0", '="a"&"b"', "=NA()", '=HYPERLINK("x")']
SAMPLES = [
    "",
    " ",
    "\t",
    "\u00a0",
    "\u3000",
    "\u200b",
    "\ufeff",
    "   padded   ",
    "e\u0301",  # e + combining acute: NFC makes one code point
    "Zoe\u0301 Lefe\u0300vre",
    "\u0301",
    "مرحبا بالعالم",
    "שלום",
    "\u202eevil\u202c",  # right-to-left override
    "👩\u200d💻 🇨🇭",
    "a\nb",
    "a\r\nb",
    "line\u2028separator",
    "x" * 5000,
    "{{ mailing.__class__ }}",
    "{% include '/etc/passwd' %}",
    "![x](../../secret.png)",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "/etc/passwd",
    "con",
    "MS; AC",
    "ms,ac,",
    "fr",
    "EN",
    "yes",
    "non",
    "x@example.org",
    "Anne.Martin@Example.org ",
    "jean.dupont@exemple",
    "a@b@c",
    "#N/A",  # as text in a CSV export, an ordinary value
]
# XML 1.0 cannot hold these, so neither can an .xlsx; the CSV properties use them.
_XLSX_EXCLUDED = "".join(chr(c) for c in range(0x20) if ILLEGAL_CHARACTERS_RE.match(chr(c)))
_XLSX_EXCLUDED += "\ufffe\uffff"

xlsx_text = st.one_of(
    st.sampled_from(SAMPLES),
    st.text(
        st.characters(codec="utf-8", exclude_characters=_XLSX_EXCLUDED),  # no surrogates
        max_size=40,
    ),
)
any_text = st.one_of(
    st.sampled_from(SAMPLES),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.text(st.sampled_from("\x00\x01\x07\x08\x0b\x0c\x1b\x7f\r\n\t\"';,a@é"), max_size=12),
)
xlsx_cell = st.one_of(
    st.none(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
    st.times(),
    st.sampled_from(FORMULAS),
    st.sampled_from(ERROR_CODES),
    xlsx_text,
)

# Sheet names from a plain alphabet, so that a location can be matched in the output.
sheet_name = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABC 0123456789_-"), min_size=1)
sheet_name = sheet_name.map(str.strip).filter(lambda n: 0 < len(n) <= 31)


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True one time in ``n`` or so (hypothesis draws small integers, 0 above all, often)."""
    return st.sampled_from([False] * (n - 1) + [True])


@st.composite
def headers(draw: st.DrawFn, names: list[str]) -> list[Any]:
    """The header row as a user may have typed it: case, spaces, hyphens, duplicates, extras."""
    out: list[Any] = []
    for name in names:
        if draw(one_in(40)):
            continue  # a missing column
        shown = draw(
            st.sampled_from(
                [
                    name,
                    name.upper(),
                    name.title(),
                    name.replace("_", " "),
                    name.replace("_", "-"),
                    f" {name} ",
                    f"{name}\u00a0",
                ]
            )
        )
        out.append(shown)
        if draw(one_in(80)):
            out.append(name)  # the same column twice
    extras = draw(st.lists(st.one_of(xlsx_text, st.integers(), st.none()), max_size=2))
    out += extras
    return draw(st.permutations(out))


def column_key(header: Any) -> str:
    """The column a header names, as the reader matches it."""
    return re.sub(r"[\s-]+", "_", str(header).strip().lower())


_FREE_TEXT = {"civility", "first_name", "last_name", "function", "organisation", "country"}


@st.composite
def contact_rows(draw: st.DrawFn, header: list[Any]) -> list[list[Any]]:
    """Rows of plausible values, some cells replaced by hostile ones."""
    rows = []
    for i in range(draw(st.integers(0, 5))):
        values = person(f"p{i}@example.org", categories=draw(st.sampled_from(["MS", "AC", "SGC"])))
        row = []
        for cell in header:
            key = column_key(cell)
            # Free text takes anything (and must come out normalised); a hostile value in a
            # checked column (email, language...) is refused, so it comes more rarely.
            odds = 2 if key in _FREE_TEXT else 10
            hostile = draw(one_in(odds))
            row.append(draw(xlsx_cell) if hostile else values.get(key, ""))
        rows.append(row)
    return rows


@st.composite
def workbooks(draw: st.DrawFn) -> Workbook:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    used: set[str] = set()

    def add_sheet(wanted: str) -> Any:
        name = wanted if wanted.lower().strip() not in used else f"{wanted}2"
        used.add(name.lower().strip())
        return book.create_sheet(name)

    # A sheet is missing one time in ten; its name's case and spaces vary.
    contacts_name: str | None = draw(
        st.sampled_from(["Contacts"] * 5 + ["contacts", "CONTACTS", " Contacts "])
    )
    categories_name: str | None = draw(st.sampled_from(["Categories"] * 7 + ["categories "]))
    if draw(one_in(10)):
        contacts_name, categories_name = draw(
            st.sampled_from([(None, categories_name), (contacts_name, None), (None, None)])
        )
    if contacts_name is not None:
        sheet = add_sheet(contacts_name)
        header = draw(headers(HEADERS))
        sheet.append(header)
        rows = draw(contact_rows(header))
        for row in rows:
            sheet.append(row)
        width, height = max(len(header), 1), len(rows) + 1
        for _ in range(draw(st.integers(0, 2))):  # merged cells, the header row too
            top = draw(st.integers(1, height))
            left = draw(st.integers(1, width))
            bottom = draw(st.integers(top, height))
            right = draw(st.integers(left, width))
            if (top, left) != (bottom, right):
                sheet.merge_cells(
                    start_row=top, start_column=left, end_row=bottom, end_column=right
                )
        for row_number in draw(st.lists(st.integers(1, height), max_size=2)):
            sheet.row_dimensions[row_number].hidden = True
    if categories_name is not None:
        sheet = add_sheet(categories_name)
        table = [list(row) for row in CATEGORIES]
        if draw(one_in(4)):
            r = draw(st.integers(0, len(table) - 1))
            c = draw(st.integers(0, 2))
            table[r][c] = draw(xlsx_cell)
        if draw(one_in(6)):
            table.append(list(table[1]))  # a code twice
        for row in table:
            sheet.append(row)
    for _ in range(draw(st.integers(0, 2))):  # extra sheets, whatever they hold
        extra = add_sheet(draw(sheet_name))
        for row in draw(st.lists(st.lists(xlsx_cell, max_size=4), max_size=3)):
            extra.append(row)
    if not book.sheetnames:
        add_sheet("Feuil1")
    order = draw(st.permutations(list(range(len(book.sheetnames)))))
    book._sheets = [book._sheets[i] for i in order]  # openpyxl has no public way to reorder
    return book


@pytest.fixture(scope="module")
def mailing_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mailings") / "u4ssc-6"
    folder.mkdir()
    path = folder / "mailing.toml"
    path.write_text(textwrap.dedent(no_copy()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def good_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Contacts"
    sheet.append(HEADERS)
    sheet.append([person("anne@example.org").get(h, "") for h in HEADERS])
    sheet.append([person("john@example.org", language="en").get(h, "") for h in HEADERS])
    categories = book.create_sheet("Categories")
    for row in CATEGORIES:
        categories.append(row)
    path = tmp_path_factory.mktemp("workbook") / "contacts.xlsx"
    book.save(path)
    return path


@contextmanager
def example_folder() -> Iterator[Path]:
    """A folder for one example, removed after it (a test runs many examples)."""
    with tempfile.TemporaryDirectory(prefix="dispatch-example-") as folder:
        yield Path(folder)


@given(book=workbooks())
def test_a_generated_workbook_loads_normalised_or_every_problem_names_its_cell(
    book: Workbook, mailing_file: Path
) -> None:
    with example_folder() as folder:
        path = folder / "contacts.xlsx"
        book.save(path)
        assert_loads_or_is_located(path)
        code, stderr = check(mailing_file, path)
    event(f"dispatch check: exit {code}")  # see --hypothesis-show-statistics
    if code == 2:
        assert_every_problem_is_located(stderr)


@st.composite
def csv_exports(draw: st.DrawFn) -> bytes:
    """A CSV export: any text (NUL and control characters too), any separator and encoding."""
    header = [str(h) for h in draw(headers(HEADERS)) if h is not None]
    rows = [header]
    for i in range(draw(st.integers(0, 4))):
        values = person(f"p{i}@example.org")
        rows.append(
            [
                draw(any_text) if draw(one_in(4)) else str(values.get(column_key(h), ""))
                for h in header
            ]
        )
    separator = draw(st.sampled_from([";", ",", "\t"]))
    if draw(one_in(5)):
        text = "\n".join(separator.join(row) for row in rows)  # no quoting: may be broken
    else:
        out = io.StringIO()
        csv.writer(out, delimiter=separator).writerows(rows)
        text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(encoding, errors="replace")


@given(data=csv_exports())
@settings(max_examples=FEW)
def test_a_generated_csv_export_loads_normalised_or_every_problem_names_its_cell(
    data: bytes, mailing_file: Path
) -> None:
    with example_folder() as folder:
        path = folder / "contacts.csv"
        path.write_bytes(data)
        categories = "\n".join(";".join(row) for row in CATEGORIES)
        (folder / "contacts.categories.csv").write_text(categories, encoding="utf-8")
        assert_loads_or_is_located(path)
        code, stderr = check(mailing_file, path)
    event(f"dispatch check: exit {code}")  # see --hypothesis-show-statistics
    if code == 2:
        assert_every_problem_is_located(stderr)


@given(
    name=st.sampled_from(["contacts.xlsx", "contacts.ods", "contacts.csv", "contacts.xls"]),
    head=st.sampled_from(
        [b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf"]
    ),
    body=st.binary(max_size=2000),
)
@settings(max_examples=FEW)
def test_any_bytes_as_a_workbook_give_a_problem_never_a_traceback(
    name: str, head: bytes, body: bytes, mailing_file: Path
) -> None:
    with example_folder() as folder:
        path = folder / name
        path.write_bytes(head + body)
        try:
            load_contacts(path)
        except ContactsError as exc:
            for problem in exc.problems:
                assert problem.where.file is not None, str(problem)
        code, stderr = check(mailing_file, path)
    event(f"dispatch check: exit {code}")
    if code == 2:
        assert _COUNT.search(stderr), stderr


# --- generated mailing files ------------------------------------------------------------

BASE_MAILING: dict[str, Any] = tomllib.loads(textwrap.dedent(MINIMAL_MAILING))

toml_scalar = st.one_of(
    any_text.map(lambda s: s.replace("\x7f", "")),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.times(),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.sampled_from(["Europe", "Mars/Olympus_Mons", "Europe/Geneva", "../../etc/passwd", "UTC"]),
    st.sampled_from(["{{ event.start | date }}", "{{ nope }}", "{{ x", "{% if %}", "{{ 1/0 }}"]),
)
toml_value = st.recursive(
    toml_scalar,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["fr", "en", "de", "name", "x", ""]), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield (*prefix, i)
            yield from _paths(inner, (*prefix, i))


def _typo(key: str, where: int) -> str:
    """A plausible misspelling: a letter dropped, doubled or swapped with the next."""
    if len(key) < 2:
        return key + "s"
    i = where % (len(key) - 1)
    dropped = key[:i] + key[i + 1 :]
    doubled = key[: i + 1] + key[i:]
    swapped = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    return (dropped, doubled, swapped)[where % 3]


@st.composite
def mailings(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE_MAILING)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(data))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["delete", "replace", "as-string", "typo", "unknown"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(toml_value)
        elif action == "as-string":  # 2021-12-07 written "2021-12-07", 10:00 written "10h"
            parent[key] = str(parent[key])
        elif isinstance(key, str) and isinstance(parent, dict):
            new = _typo(key, draw(st.integers(0, 100))) if action == "typo" else draw(any_text)
            parent[new] = parent.pop(key)
    return data


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but DEL must be escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def to_toml(value: Any) -> str:
    """A value as inline TOML (tables inline, so that a whole file is ``key = value`` lines)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(to_toml(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_key(k)} = {to_toml(v)}" for k, v in value.items()) + "}"


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_document(data: dict[str, Any]) -> str:
    return "\n".join(f"{toml_key(k)} = {to_toml(v)}" for k, v in data.items()) + "\n"


def test_the_toml_writer_of_these_tests_round_trips() -> None:
    assert tomllib.loads(toml_document(BASE_MAILING)) == BASE_MAILING


def assert_located_in_mailing(problem: Problem) -> None:
    where = problem.where
    assert where.file is not None, str(problem)
    assert where.field is not None or where.line is not None, str(problem)


@given(data=mailings())
@settings(max_examples=FEW)
def test_a_generated_mailing_file_loads_or_every_problem_names_its_field(
    data: dict[str, Any], good_workbook: Path
) -> None:
    with example_folder() as folder:
        path = folder / "mailing.toml"
        path.write_text(toml_document(data), encoding="utf-8")
        try:
            load_mailing(path)
        except MailingError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert_located_in_mailing(problem)
        code, stderr = check(path, good_workbook)
    event(f"dispatch check: exit {code}")  # see --hypothesis-show-statistics
    if code == 2:
        assert_every_problem_is_located(stderr)


TOML_FRAGMENTS = [
    "[",
    "]",
    "[[",
    "]]",
    " = ",
    '"',
    "'''",
    "\n",
    "event",
    "template",
    "date",
    "2021-12-07",
    "10:00:00",
    "1979-05-27T07:32:00Z",
    "{",
    "}",
    ",",
    ".",
    "fr",
    "true",
    "nan",
    "\\u0000",
    "é",
    "#",
]


@given(st.lists(st.sampled_from(TOML_FRAGMENTS), max_size=30).map("".join))
@settings(max_examples=FEW)
def test_any_text_as_a_mailing_file_gives_a_located_problem(text: str) -> None:
    with example_folder() as folder:
        path = folder / "mailing.toml"
        path.write_text(text, encoding="utf-8")
        try:
            load_mailing(path)
        except MailingError as exc:
            problems = exc.problems
        else:
            return
    for problem in problems:
        assert_located_in_mailing(problem)
        if "not valid TOML" in problem.message:
            assert problem.where.line is not None, str(problem)


# --- generated templates --------------------------------------------------------------

TEMPLATE_FRAGMENTS = [
    "{{ ",
    " }}",
    "{% ",
    " %}",
    "{# ",
    " #}",
    "{%- ",
    " -%}",
    "if ",
    "endif",
    "else",
    "for x in ",
    "endfor",
    "block body",
    "endblock",
    "extends 'base.html'",
    "extends 'invitation.html'",
    "include 'base.html'",
    "include '../../etc/passwd'",
    "include '/etc/passwd'",
    "macro m()",
    "endmacro",
    "m()",
    "super()",
    "set x = ",
    "mailing",
    "event",
    "addressee",
    "salutation",
    ".",
    "__class__",
    "__globals__",
    "path",
    "name",
    "start",
    "(",
    ")",
    "[",
    "]",
    "|",
    " date",
    " upper",
    " markdown",
    "'",
    '"',
    "\n",
    " ",
    "1",
    "/",
    "*",
    "**",
    "~",
    "range(3)",
    "cycler",
    "self",
    "x",
    "é",
    "\u202e",
    "😀",
]


@given(
    source=st.lists(st.sampled_from(TEMPLATE_FRAGMENTS), max_size=30).map("".join),
    target=st.sampled_from(["fr/invitation.html", "en/invitation.txt", "fr/base.html"]),
)
@settings(max_examples=FEW)
def test_a_generated_template_renders_or_every_problem_names_file_and_line(
    source: str, target: str, mailing_file: Path, good_workbook: Path
) -> None:
    with example_folder() as folder:
        templates = folder / "templates"
        shutil.copytree(TEMPLATES, templates)
        (templates / target).write_text(source, encoding="utf-8")
        try:
            prepare(mailing_file, contacts_path=good_workbook, templates=TemplateSet(templates))
        except InvalidInput as exc:
            for problem in exc.problems:
                assert problem.where.file is not None, str(problem)
                if "syntax error" in problem.message:
                    assert problem.where.line is not None, str(problem)
        code, stderr = check(mailing_file, good_workbook, "--templates", str(templates))
    event(f"dispatch check: exit {code}")  # see --hypothesis-show-statistics
    if code == 2:
        assert_every_problem_is_located(stderr)


# --- mailing files: each kind of mistake, and what the user reads ---------------------

MAILING_MISTAKES = [
    pytest.param(
        ('timezone = "Europe/Zurich"', 'timezone = "Europe"'),
        "- mailing.toml, field event.timezone: \"Europe\" is not valid: 'Europe' is not an "
        "IANA time zone (write it like Europe/Zurich or America/New_York).",
        id="zone-that-is-a-folder",
    ),
    pytest.param(
        ('timezone = "Europe/Zurich"', 'timezone = "Mars/Olympus_Mons"'),
        "- mailing.toml, field event.timezone: \"Mars/Olympus_Mons\" is not valid: "
        "'Mars/Olympus_Mons' is not an IANA time zone",
        id="zone-that-does-not-exist",
    ),
    pytest.param(
        ('timezone = "Europe/Zurich"', f'timezone = "{"Europe/" * 60}"'),
        "- mailing.toml, field event.timezone: \"Europe/Europe/",
        id="zone-name-too-long-for-the-file-system",
    ),
    pytest.param(
        ("start = 2021-12-07", 'start = "2021-12-07"'),
        '- mailing.toml, field event.start: "2021-12-07" is not valid: Input should be a '
        "valid date. Write a TOML date without quotes, like 2021-12-07.",
        id="date-as-a-string",
    ),
    pytest.param(
        ("start = 2021-12-07", "naem = 1\nstart = 2021-12-07"),
        '- mailing.toml, field event.naem: "naem" is not a field of a mailing file here. '
        'Did you mean "name"?',
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        ("[body.intro]\n", "[body.intro]\nfe = 'x'\n"),
        '- mailing.toml, field body.intro.fe: "fe" is not a field of a mailing file here. '
        "Expected one of: fr, en, when.",
        id="unknown-language-in-a-paragraph",
    ),
    pytest.param(
        ("numbered = true", "numbered = true\n\"my key\" = 1"),
        '- mailing.toml, field "my key": "my key" is not a field of a mailing file here.',
        id="quoted-unknown-key",
    ),
    pytest.param(
        ("numbered = true", 'numbered = true\npath = "/etc"'),
        '- mailing.toml, field path: "path" is not a field of a mailing file here.',
        id="path-is-not-a-key",
    ),
    pytest.param(
        ("numbered = true", "numbered = true\n[values]\nwhen = 2021-12-07T10:00:00Z"),
        '- mailing.toml, field values.when: "2021-12-07 10:00:00+00:00" is not valid: '
        "Input should be a valid date, a valid "
        "time, a valid integer, a valid number or a valid string. Correct it and run again.",
        id="free-value-of-no-type-one-problem",
    ),
    pytest.param(
        ("numbered = true", 'numbered = "yes"'),
        '- mailing.toml, field numbered: "yes" is not valid: Input should be a valid boolean.',
        id="wrong-type",
    ),
    pytest.param(
        ("[addressees]\nto = [\"MS\", \"AC\"]\ncc = [\"SGC\"]", ""),
        "- mailing.toml, field addressees: is missing. Add it to the mailing file.",
        id="missing-table",
    ),
    pytest.param(
        ("[[signatories]]", "[[signatories]]\n[signatories"),
        "- mailing.toml, line ",
        id="toml-syntax-error",
    ),
    pytest.param(
        ('en = ["Director"] }', 'en = ["Director"] }\n[[annexes]]\ntitle = {fr="A", en="A"}\n'
         'file = "a\\u0000b"'),
        '- mailing.toml, field annexes[0].file: "a',
        id="annex-name-with-nul",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "expected"), MAILING_MISTAKES)
def test_each_mistake_in_a_mailing_file_names_its_field_and_what_to_do(
    edit: tuple[str, str], expected: str, good_workbook: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "mailing"
    folder.mkdir()
    text = textwrap.dedent(MINIMAL_MAILING)
    assert edit[0] in text
    (folder / "mailing.toml").write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    code, stderr = check(folder, good_workbook)
    assert code == 2
    assert expected in stderr, stderr
    assert_every_problem_is_located(stderr)


# --- the broken files a user gives by mistake, kept in tests/data -----------------------

BROKEN_FILES = [
    pytest.param(
        "old-excel.xls",
        'old-excel.xls: holds no sheet at all. Add a sheet "Contacts" and a sheet "Categories"',
        id="xls-without-sheets",
    ),
    pytest.param(
        "encrypted.xlsx",
        "encrypted.xlsx: is not a readable .xlsx workbook: it is password-protected (encrypted). "
        "Open it in Excel, remove the password",
        id="password-protected-xlsx",
    ),
    pytest.param(
        "truncated.xlsx",
        "truncated.xlsx: is not a readable .xlsx workbook: the file is damaged",
        id="truncated-zip",
    ),
    pytest.param(
        "damaged.xlsx",
        "damaged.xlsx: is not a readable .xlsx workbook: the file is damaged",
        id="corrupt-zip-member",
    ),
    pytest.param(
        "text-renamed.xlsx",
        "text-renamed.xlsx: is not a readable .xlsx workbook: it is a text file (a CSV export, "
        "or a web page?) renamed .xlsx. If it is a CSV export, name it .csv",
        id="text-renamed-xlsx",
    ),
]


@pytest.mark.parametrize(("name", "expected"), BROKEN_FILES)
def test_a_file_that_is_not_a_readable_workbook_says_what_it_is_and_what_to_do(
    name: str, expected: str, mailing_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    code, stderr = check(mailing_file, path)
    assert code == 2
    assert f"1 problem found; nothing was written or sent.\n- {expected}" in stderr


def _copy_csv(name: str, tmp_path: Path) -> Path:
    for suffix in (".csv", ".categories.csv"):
        shutil.copy(DATA / f"{name}{suffix}", tmp_path / f"contacts{suffix}")
    return tmp_path / "contacts.csv"


@pytest.mark.parametrize("name", ["bom", "latin1"])
def test_a_csv_export_in_utf8_with_bom_or_latin1_keeps_its_accents(
    name: str, tmp_path: Path
) -> None:
    contacts = load_contacts(_copy_csv(name, tmp_path))
    (zoe,) = contacts.addressees
    assert (zoe.email, zoe.first_name, zoe.last_name) == (
        "zoe.lefevre@example.org",
        "Zoé",
        "Lefèvre",
    )
    assert zoe.organisation == "Ministère des Postes"
    assert contacts.categories["MS"].line("fr") == "Aux États Membres de l'UIT"


def test_a_latin1_csv_loads_with_a_warning_to_export_utf8(
    mailing_file: Path, tmp_path: Path
) -> None:
    path = _copy_csv("latin1", tmp_path)
    only_ms = tmp_path / "mailing.toml"  # the CSV's one addressee is in MS: AC would be empty
    only_ms.write_text(mailing_file.read_text().replace('to = ["MS", "AC"]', 'to = ["MS"]'))
    code, _, stderr = run("check", str(only_ms), "--contacts", str(path))
    assert code == 0, stderr
    assert (
        "contacts.csv: is not UTF-8: it was read as Windows Latin-1 (cp1252). If accented "
        'letters look wrong, export it again as "CSV UTF-8"'
    ) in stderr


@pytest.mark.parametrize(
    ("lock", "application"),
    [("~$contacts.xlsx", "Excel"), (".~lock.contacts.xlsx#", "LibreOffice")],
)
def test_a_lock_file_beside_the_workbook_warns_that_it_may_be_open_and_unsaved(
    lock: str, application: str, mailing_file: Path, good_workbook: Path, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.xlsx"
    shutil.copy(good_workbook, path)
    (tmp_path / lock).write_bytes(b"\x05owner")
    code, _, stderr = run("check", str(mailing_file), "--contacts", str(path))
    assert code == 0, stderr
    assert (
        f"Warnings:\n- {lock}: exists: the workbook may be open in {application}, with unsaved "
        f"changes. Save and close it in {application} first"
    ) in stderr


def test_the_lock_file_warning_comes_with_the_problems_too(
    mailing_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.xlsx"
    shutil.copy(DATA / "truncated.xlsx", path)
    (tmp_path / "~$contacts.xlsx").write_bytes(b"\x05owner")
    code, stderr = check(mailing_file, path)
    assert code == 2
    assert "Warnings:\n- ~$contacts.xlsx: exists: the workbook may be open in Excel" in stderr


MISNAMED = [
    pytest.param(
        "contacts.csv",
        b"PK\x03\x04",
        "is a workbook (.xlsx or .ods), not a CSV file",
        id="xlsx-named-csv",
    ),
    pytest.param(
        "contacts.xlsx",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "is an old Excel 97-2003 workbook (.xls), named .xlsx",
        id="xls-named-xlsx",
    ),
    pytest.param(
        "contacts.xls",
        b"<html><table><tr><td>email",
        "it is a text file (a CSV export, or a web page?)",
        id="web-page-named-xls",
    ),
    pytest.param("contacts.xlsx", b"", "the file is empty (0 bytes)", id="empty-file"),
    pytest.param(
        "contacts.txt",
        b"email;language\n",
        "is not a workbook dispatch reads (its name ends in .txt)",
        id="txt",
    ),
]


@pytest.mark.parametrize(("name", "content", "expected"), MISNAMED)
def test_a_workbook_under_another_name_is_told_apart(
    name: str, content: bytes, expected: str, mailing_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(content + b"\0" * 64 if content.startswith(b"\xd0") else content)
    code, stderr = check(mailing_file, path)
    assert code == 2
    assert f"- {name}: " in stderr and expected in stderr, stderr


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("/", "- is a folder, not a workbook."),
        ("..", "- ..: is a folder, not a workbook."),
        ("nope.xlsx", "- nope.xlsx: does not exist."),
        (
            "/etc/passwd",
            "- passwd: is not a workbook dispatch reads (its name ends in nothing)",
        ),
    ],
)
def test_a_contacts_key_that_names_no_workbook_is_a_problem(
    key: str, expected: str, tmp_path: Path
) -> None:
    folder = tmp_path / "mailing"
    folder.mkdir()
    text = f'contacts = "{key}"\n' + textwrap.dedent(MINIMAL_MAILING)
    (folder / "mailing.toml").write_text(text, encoding="utf-8")
    code, stdout, stderr = run("check", str(folder))
    assert code == 2, stdout + stderr
    assert expected in stderr
    assert "root:" not in stderr  # nothing of the file is shown


def test_an_ods_named_xlsx_is_told_apart(mailing_file: Path, tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "contacts.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame([{"email": "a@example.org"}]).to_excel(writer, index=False)
    renamed = path.rename(tmp_path / "contacts.xlsx")
    code, stderr = check(mailing_file, renamed)
    assert code == 2
    assert (
        "- contacts.xlsx: is not a readable .xlsx workbook: it is an .ods workbook named .xlsx. "
        "Rename it contacts.ods and run again."
    ) in stderr


def test_an_excel_error_in_a_cell_is_reported_there_not_read_as_empty(
    mailing_file: Path, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Contacts"
    sheet.append(HEADERS)
    sheet.append([person("#N/A", organisation="#REF!").get(h, "") for h in HEADERS])
    categories = book.create_sheet("Categories")
    for row in CATEGORIES:
        categories.append(row)
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    code, stderr = check(mailing_file, path)
    assert code == 2
    assert (
        '- contacts.xlsx, sheet Contacts, row 2, column "email": holds the Excel error #N/A '
        "instead of a value. Correct the formula, or type the value, and run again."
    ) in stderr
    assert 'row 2, column "organisation": holds the Excel error #REF!' in stderr
    assert "is empty" not in stderr  # the error is the problem, not an empty cell


def test_merged_cells_hidden_rows_and_formulas_read_as_the_file_stores_them(
    tmp_path: Path,
) -> None:
    """dispatch reads what the file holds, not what the window shows.

    A hidden row is an addressee like any other (leave someone out with active = no; a
    warning names it); a merged cell's value belongs to its first row only; a formula
    reads as the value Excel computed and saved, and one never computed (a file written
    by a program) is a problem naming its cell, never a silent blank.
    """
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Contacts"
    sheet.append(HEADERS)
    for i in range(3):
        sheet.append([person(f"p{i}@example.org", organisation="").get(h, "") for h in HEADERS])
    column = HEADERS.index("organisation") + 1
    sheet.cell(row=2, column=column, value="Ministère des Postes")
    sheet.merge_cells(start_row=2, start_column=column, end_row=3, end_column=column)
    sheet.row_dimensions[4].hidden = True
    sheet.cell(row=4, column=HEADERS.index("country") + 1, value='=UPPER("valmont")')
    categories = book.create_sheet("Categories")
    for row in CATEGORIES:
        categories.append(row)
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    with pytest.raises(ContactsError) as raised:
        load_contacts(path)
    assert [str(p) for p in raised.value.problems] == [
        'contacts.xlsx, sheet Contacts, row 4, column "country": holds a formula whose '
        "value was never calculated (the workbook was written by a program and never "
        "opened in a spreadsheet). Open and save the workbook in Excel or LibreOffice, "
        "and run again."
    ]
    sheet.cell(row=4, column=HEADERS.index("country") + 1, value="Valmont")
    book.save(path)
    people = load_contacts(path).addressees
    assert [(p.row, p.organisation, p.country) for p in people] == [
        (2, "Ministère des Postes", "Valmont"),
        (3, "", "Valmont"),
        (4, "", "Valmont"),  # hidden: an addressee like any other
    ]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_a_sheet_whose_last_row_is_1048576_is_read_quickly_in_little_memory(
    suffix: str, tmp_path: Path
) -> None:
    """Excel's last row: the reader must not build a million empty rows to reach it.

    The sheet holds a header, one addressee, and one value in row 1 048 576 (an .xlsx
    whose dimension claims A1:XFD1048576; an .ods that repeats an empty row down to it).
    It is read in a child process, whose peak memory is its own.
    """
    path = tmp_path / f"contacts{suffix}"
    if suffix == ".xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Contacts")
        sheet.append(HEADERS)
        sheet.append([person("anne@example.org").get(h, "") for h in HEADERS])
        categories = book.create_sheet("Categories")
        for row in CATEGORIES:
            categories.append(row)
        book.save(path)
        _put_far_row(path, 1_048_576, "zoe@example.org")
    else:
        _far_ods(path, 1_048_576, "zoe@example.org")
    child = textwrap.dedent(
        f"""
        import resource, time
        from pathlib import Path
        from dispatch.contacts import load_contacts
        from dispatch.errors import ContactsError
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.process_time()  # CPU time: the machine may be busy
        try:
            load_contacts(Path({str(path)!r}))
        except ContactsError as exc:
            print(exc.problems[0])
        print(time.process_time() - started)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=120, check=True
    )
    problem, seconds, grown_kib = result.stdout.splitlines()
    assert problem.startswith(f'{path.name}, sheet Contacts, row 1048576, column "categories"')
    assert float(seconds) < 5, seconds
    assert int(grown_kib) < 100 * 1024, grown_kib  # the old reader took 43 s and 600 MB


def _put_far_row(path: Path, row: int, value: str) -> None:
    """Put ``value`` in column A of ``row`` of the first sheet, by editing its XML."""
    far = path.with_name("far.xlsx")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(far, "w", zipfile.ZIP_DEFLATED) as dest:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                cell = f'<c r="A{row}" t="inlineStr"><is><t>{value}</t></is></c>'
                text = text.replace("</sheetData>", f'<row r="{row}">{cell}</row></sheetData>')
                text = re.sub(r'<dimension ref="[^"]*"/>', "", text)
                dimension = f'<dimension ref="A1:XFD{row}"/>'
                text = text.replace("<sheetData>", f"{dimension}<sheetData>", 1)
                data = text.encode()
            dest.writestr(item, data)
    far.replace(path)


def _far_ods(path: Path, row: int, value: str) -> None:
    """An .ods with one addressee, then empty rows repeated down to ``row``, holding ``value``."""
    import pandas as pd

    with pd.ExcelWriter(path, engine="odf") as writer:
        people = pd.DataFrame([person("anne@example.org")])
        people.to_excel(writer, sheet_name="Contacts", index=False)
        pd.DataFrame(CATEGORIES[1:], columns=CATEGORIES[0]).to_excel(
            writer, sheet_name="Categories", index=False
        )
    far = path.with_name("far.ods")
    repeat = row - 3  # rows 1 and 2 hold the header and Anne; the last row holds ``value``
    empty = f'<table:table-row table:number-rows-repeated="{repeat}"><table:table-cell/>'
    cell = f'<table:table-cell office:value-type="string"><text:p>{value}</text:p>'
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(far, "w") as dest:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "content.xml":
                text = data.decode()
                end = text.index("</table:table>")  # the first sheet: Contacts
                rows = f"{empty}</table:table-row><table:table-row>{cell}</table:table-cell>"
                text = text[:end] + rows + "</table:table-row>" + text[end:]
                data = text.encode()
            dest.writestr(item, data)
    far.replace(path)
