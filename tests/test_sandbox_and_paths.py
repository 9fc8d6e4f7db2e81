"""The sandbox and the paths: a template reads the mailing's values and nothing else.

Templates and the texts of a mailing file run in a tightened Jinja2 sandbox: no way to
Python's internals (``__class__``, ``__globals__``...), no method of a path, no pydantic
machinery, no change to the mailing's values, no include or extends outside the
templates folder. Annexes stay in the mailing's folder; letters are written under the
output folder with safe names, whatever the workbook holds. Each refusal is a located
problem (exit code 2), never a traceback, and never shows the value it was after.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import re
import shutil
import textwrap
from html import unescape
from pathlib import Path

import pytest
from openpyxl import Workbook

from dispatch.mailing import Mailing
from dispatch.templates import LetterSandbox
from tests import helpers
from tests.conftest import CATEGORIES, HEADERS, TEMPLATES, no_copy, person

SECRET = "TOPSECRET-4f1c"  # in files beside the mailing and the templates: never shown


def run(*args: str | Path) -> tuple[int, str]:
    """The command as a user runs it: exit code 0 or 2, never 1, never a traceback."""
    code, out, err = helpers.run(*args)
    output = out + err
    assert code in (0, 2), output
    assert "Traceback" not in output
    assert SECRET not in output
    return code, output


def workbook(path: Path, people: list[dict[str, object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Contacts"
    sheet.append(HEADERS)
    for values in people:
        sheet.append([values.get(h, "") for h in HEADERS])
    categories = book.create_sheet("Categories")
    for row in CATEGORIES:
        categories.append(row)
    book.save(path)
    return path


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A user's folder: a mailing, a workbook, and a secret beside them."""
    (tmp_path / "secret.txt").write_text(SECRET)
    folder = tmp_path / "mailings" / "u4ssc-6"
    folder.mkdir(parents=True)
    (folder / "mailing.toml").write_text(textwrap.dedent(no_copy()), encoding="utf-8")
    workbook(
        tmp_path / "contacts.xlsx",
        [person("anne@example.org"), person("john@example.org", language="en")],
    )
    return tmp_path


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the templates, a secret beside it and a link in it to that secret.

    Shared by the tests of this module: each adds a letter kind of its own (a probe), so
    that the templates every kind extends are compiled once.
    """
    root = tmp_path_factory.mktemp("site")
    (root / "secret.html").write_text(SECRET)
    shutil.copytree(TEMPLATES, root / "templates")
    (root / "templates" / "fr" / "evil.html").symlink_to(root / "secret.html")
    return root / "templates"


_probes = itertools.count(1)


def with_paragraph(site: Path, text: str) -> Path:
    """The mailing with ``text`` opening its first French paragraph (a Markdown text)."""
    path = site / "mailings" / "u4ssc-6" / "mailing.toml"
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    source = path.read_text(encoding="utf-8")
    path.write_text(source.replace('fr = "Cette réunion', f'fr = "{escaped} Cette réunion'))
    return path


def with_probe(site: Path, templates: Path, text: str) -> tuple[Path, str]:
    """The mailing, sent with a new letter kind: an invitation with ``text`` at line 5 of
    its French HTML template, first in its body block. Returns the mailing and the kind.

    ``{% extends %}`` replaces line 1 instead: a template extends one other only.
    """
    kind = f"probe-{next(_probes)}"
    for lang in ("fr", "en"):
        for suffix in (".html", ".txt"):
            lines = (templates / lang / f"invitation{suffix}").read_text().split("\n")
            if (lang, suffix) == ("fr", ".html"):
                assert lines[0].startswith("{% extends") and lines[3] == "{% block body %}"
                if text.startswith("{% extends"):
                    lines[0] = text
                else:
                    lines.insert(4, text)
            (templates / lang / f"{kind}{suffix}").write_text("\n".join(lines))
    path = site / "mailings" / "u4ssc-6" / "mailing.toml"
    source = path.read_text(encoding="utf-8")
    path.write_text(source.replace('template = "invitation"', f'template = "{kind}"'))
    return path, kind


ESCAPES = [
    pytest.param("{{ mailing.__class__ }}", "'__class__' of 'Mailing'", id="class"),
    pytest.param("{{ mailing.__class__.__mro__[1].__subclasses__() }}", "'__class__'", id="mro"),
    pytest.param(
        "{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__class__' of 'str'", id="subclasses"
    ),
    pytest.param("{{ mailing.__class__.__init__ }}", "'__init__'", id="mailing-init"),
    pytest.param(
        "{{ event.__init__.__globals__ }}", "'__init__' of 'Namespace'", id="init-globals"
    ),
    pytest.param(
        "{{ self.__init__.__globals__ }}", "'__init__' of 'TemplateReference'", id="self-init"
    ),
    pytest.param(
        "{{ self._TemplateReference__context }}", "'_TemplateReference__context'", id="self-context"
    ),
    pytest.param("{{ cycler.__init__.__globals__ }}", "'__init__'", id="cycler-globals"),
    pytest.param("{{ joiner.__init__.__globals__.os }}", "'__init__'", id="joiner-globals"),
    pytest.param("{{ namespace.__init__.__globals__ }}", "'__init__'", id="namespace-globals"),
    pytest.param("{{ lipsum.__globals__ }}", "'__globals__' of 'function'", id="lipsum-globals"),
    pytest.param(
        "{{ lipsum.__globals__['os'].popen('id').read() }}", "'__globals__'", id="lipsum-os"
    ),
    pytest.param(
        "{{ '{0.__class__}'.format(mailing) }}", "'__class__' of 'Mailing'", id="format-string"
    ),
    pytest.param("{{ mailing.path.read_text() }}", "'read_text' of 'PosixPath'", id="path-read"),
    pytest.param(
        "{{ mailing.path.write_text('x') }}", "'write_text' of 'PosixPath'", id="path-write"
    ),
    pytest.param(
        "{{ mailing.folder.parent.joinpath('secret.txt').read_text() }}",
        "'parent' of 'PosixPath'",
        id="path-walk",
    ),
    pytest.param(
        "{{ mailing.parse_file('../../secret.txt') }}",
        "'parse_file' of 'Mailing'",
        id="pydantic-parse-file",
    ),
    pytest.param(
        "{{ mailing.model_fields['path'].annotation('../../secret.txt') }}",
        "'model_fields' of 'Mailing'",
        id="pydantic-classes",
    ),
    pytest.param("{{ mailing.model_dump() }}", "'model_dump' of 'Mailing'", id="pydantic-dump"),
    pytest.param("{{ mailing.body.clear() }}", "'clear' of 'dict'", id="mutate-body"),
    pytest.param("{{ mailing.signatories.append(1) }}", "'append' of 'list'", id="mutate-list"),
    pytest.param("{{ 'x' * 10**9 }}", "the result is too long", id="huge-string"),
    pytest.param("{{ 9 ** 99999 }}", "the power 99999 is too large", id="huge-power"),
]


@pytest.mark.parametrize(("expression", "refused"), ESCAPES)
def test_a_mailing_text_cannot_leave_the_sandbox(site: Path, expression: str, refused: str) -> None:
    mailing = with_paragraph(site, expression)
    out = site / "out"
    code, output = run("render", mailing, "--contacts", site / "contacts.xlsx", "--out", out)
    assert code == 2
    assert "- mailing.toml, field body.intro.fr: does something templates may not do (" in output
    assert refused in output
    assert "Templates may only read the mailing's values." in output
    assert not out.exists()
    assert "Circulaire TSB 352" in mailing.read_text(encoding="utf-8")  # not overwritten


@pytest.mark.parametrize(("expression", "refused"), ESCAPES)
def test_a_template_cannot_leave_the_sandbox(
    site: Path, templates: Path, expression: str, refused: str
) -> None:
    mailing, kind = with_probe(site, templates, expression)
    code, output = run(
        "check", mailing, "--contacts", site / "contacts.xlsx", "--templates", templates
    )
    assert code == 2
    assert f"- {kind}.html, line 5: does something templates may not do (" in output
    assert refused in output


def test_a_refused_call_does_not_show_the_object_it_was_made_on() -> None:
    """Jinja's own message is ``repr(obj)``: for a model's method, the whole mailing."""
    sandbox = LetterSandbox()
    assert not sandbox.is_safe_callable(Path("x").read_text)
    assert not sandbox.is_safe_callable(Path)
    assert not sandbox.is_safe_callable(Mailing)
    template = sandbox.from_string("{{ f() }}")
    with pytest.raises(Exception, match=r"^Path\.read_text may not be called in a template$"):
        template.render(f=Path(SECRET).read_text)


OUTSIDE = [
    pytest.param("{% include '../../etc/passwd' %}", "../../etc/passwd", id="include-dotdot"),
    pytest.param("{% include '/etc/passwd' %}", "/etc/passwd", id="include-absolute"),
    pytest.param("{% include '../secret.html' %}", "../secret.html", id="include-beside"),
    pytest.param(
        "{% include 'fr/../../secret.html' %}", "fr/../../secret.html", id="include-through-lang"
    ),
    pytest.param("{% extends '../secret.html' %}", "../secret.html", id="extends-beside"),
    pytest.param("{% import '/etc/passwd' as p %}", "/etc/passwd", id="import-absolute"),
    pytest.param("{% from '../secret.html' import x %}", "../secret.html", id="from-import"),
    pytest.param("{% include 'evil.html' %}", "evil.html", id="symlink-out-of-the-folder"),
]


@pytest.mark.parametrize(("statement", "name"), OUTSIDE)
def test_a_template_cannot_include_or_extend_a_file_outside_the_templates_folder(
    site: Path, templates: Path, statement: str, name: str
) -> None:
    mailing, kind = with_probe(site, templates, statement)
    code, output = run(
        "check", mailing, "--contacts", site / "contacts.xlsx", "--templates", templates
    )
    assert code == 2
    line = 1 if statement.startswith("{% extends") else 5
    assert (
        f"- {kind}.html, line {line}: names the template {name!r}, which is not in the "
        "templates folder. A template may include or extend only the templates of its folder"
    ) in output


@pytest.mark.parametrize(("statement", "name"), OUTSIDE[:3])
def test_a_mailing_text_cannot_include_a_file_outside_the_templates_folder(
    site: Path, statement: str, name: str
) -> None:
    mailing = with_paragraph(site, statement)
    code, output = run("check", mailing, "--contacts", site / "contacts.xlsx")
    assert code == 2
    assert (
        f"- mailing.toml, field body.intro.fr: names the template {name!r}, which is not in "
        "the templates folder"
    ) in output


def test_an_error_in_an_included_template_names_that_template_and_its_line(site: Path) -> None:
    shutil.copytree(TEMPLATES, site / "templates")
    base = site / "templates" / "fr" / "base.html"
    lines = base.read_text(encoding="utf-8").split("\n")
    lines.insert(4, "{{ 1 / 0 }}")
    base.write_text("\n".join(lines), encoding="utf-8")
    code, output = run(
        "check",
        site / "mailings" / "u4ssc-6",
        "--contacts",
        site / "contacts.xlsx",
        "--templates",
        site / "templates",
    )
    assert code == 2
    assert "- base.html, line 5: failed to render: ZeroDivisionError: division by zero." in output


def test_a_syntax_error_in_an_included_template_names_that_template_and_its_line(
    site: Path,
) -> None:
    shutil.copytree(TEMPLATES, site / "templates")
    base = site / "templates" / "en" / "base.txt"
    lines = base.read_text(encoding="utf-8").split("\n")
    lines.insert(2, "{% if %}")
    base.write_text("\n".join(lines), encoding="utf-8")
    code, output = run(
        "check",
        site / "mailings" / "u4ssc-6",
        "--contacts",
        site / "contacts.xlsx",
        "--templates",
        site / "templates",
    )
    assert code == 2
    assert "- base.txt, line 3: template syntax error: Expected an expression" in output


ANNEXES = [
    pytest.param("../../secret.txt", "points outside the mailing's folder", id="dotdot"),
    pytest.param("/etc/passwd", "points outside the mailing's folder", id="absolute"),
    pytest.param("link.txt", "points outside the mailing's folder", id="symlink-out"),
    pytest.param("a\\u0000b.pdf", "is not a usable file name", id="nul"),
    pytest.param("x" * 5000 + ".pdf", "is not a usable file name", id="name-too-long"),
    pytest.param("sub/", "does not exist", id="folder"),
    pytest.param("con.txt", "does not exist", id="windows-device-name"),
]


@pytest.mark.parametrize(("file", "refused"), ANNEXES)
def test_an_annex_is_read_only_from_the_mailing_folder(site: Path, file: str, refused: str) -> None:
    folder = site / "mailings" / "u4ssc-6"
    (folder / "link.txt").symlink_to(site / "secret.txt")
    (folder / "sub").mkdir()
    path = folder / "mailing.toml"
    annex = f'\n[[annexes]]\ntitle = {{ fr = "Annexe", en = "Annex" }}\nfile = "{file}"\n'
    path.write_text(path.read_text(encoding="utf-8") + annex, encoding="utf-8")
    out = site / "out"
    code, output = run(
        "render", folder, "--contacts", site / "contacts.xlsx", "--out", out, "--format", "eml"
    )
    assert code == 2
    assert "- mailing.toml, field annexes[0].file: " in output
    assert refused in output
    assert not out.exists()


HOSTILE_NAMES = [
    "../../etc/passwd",
    "/etc/passwd",
    "con",
    "CON.txt",
    "aux",
    "nul",
    "lpt1",
    "a/b\\c",
    "..",
    ".",
    ':*?<>|"',
    "~",
    "-rf",
    "\u202eexe.pdf",
    "👩\u200d💻",
    "x" * 300,
    "Zoé Lefèvre",
    "",
]
WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def hostile_people() -> list[dict[str, object]]:
    people = []
    for i, name in enumerate(HOSTILE_NAMES):
        people.append(
            person(
                f"p{i}@example.org",
                organisation=name,
                first_name=name,
                last_name=HOSTILE_NAMES[-1 - i],
                language="fr" if i % 2 else "en",
            )
        )
    # Addresses that differ only in punctuation, beyond 60 characters, or not in ASCII.
    long_local = "l" * 64
    for address in (
        "a.b@example.org",
        "a-b@example.org",
        "a_b@example.org",
        f"{long_local}@example.org",
        f"{long_local}@example.com",
        "日本@example.org",
        "中国@example.org",
        "con@example.org",
    ):
        people.append(person(address, organisation="", first_name="", last_name=""))
    return people


def test_letters_named_after_hostile_workbook_values_stay_in_the_output_folder(
    site: Path,
) -> None:
    contacts = workbook(site / "contacts.xlsx", hostile_people())
    mailing = site / "mailings" / "u4ssc-6" / "mailing.toml"
    source = mailing.read_text(encoding="utf-8")
    mailing.write_text("attach_pdf = false\n" + source, encoding="utf-8")  # quicker
    out = site / "out"
    before = {p for p in site.rglob("*") if not p.is_relative_to(out)}
    code, output = run(
        "render",
        site / "mailings" / "u4ssc-6",
        "--contacts",
        contacts,
        "--out",
        out,
        "--format",
        "html,txt,eml",
    )
    assert code == 0, output
    after = {p for p in site.rglob("*") if not p.is_relative_to(out)}
    assert after == before  # nothing written beside the output folder
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 3 * len(hostile_people())  # one file per letter and format: none lost
    for path in files:
        assert path.resolve().is_relative_to(out.resolve())
        assert path.parent.parent == out and path.parent.name in ("fr", "en")
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*\.(html|txt|eml)", path.name), path.name
        assert len(path.name.encode()) <= 255
        assert not WINDOWS_DEVICES.match(path.name)
    for eml in out.rglob("*.eml"):
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        for part in message.iter_attachments():
            name = part.get_filename() or ""
            assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name), name


@pytest.mark.parametrize(
    "value",
    [
        "![logo](../../secret.png)",
        "[click here](https://evil.example/login)",
        "<img src=x onerror=alert(1)>",
        "**bold** _emphasis_ `code`",
        "# A heading\n\n- a list",
    ],
)
def test_a_workbook_value_in_a_markdown_paragraph_stays_text(site: Path, value: str) -> None:
    """A paragraph of the mailing may show a workbook value: it is text, not Markdown.

    Otherwise an organisation named ``![x](../../secret.png)`` would put an image in the
    letter that the PDF renderer reads from outside the mailing's folder.
    """
    mailing = with_paragraph(site, "Pour {{ addressee.organisation }} :")
    contacts = workbook(site / "contacts.xlsx", [person("anne@example.org", organisation=value)])
    out = site / "out"
    code, output = run("render", mailing, "--contacts", contacts, "--out", out, "--format", "html")
    assert code == 0, output
    (letter,) = out.rglob("*.html")
    html = letter.read_text(encoding="utf-8")
    found = re.search(r"Pour(.*)Cette réunion", html, re.DOTALL)  # typography binds "Pour"
    assert found, html
    paragraph = found.group(1)
    for tag in ("<img", "<a ", "<strong>", "<em>", "<code>", "<h1>", "<li>"):
        assert tag not in paragraph, paragraph
    text = unescape(re.sub(r"<[^>]+>", "", paragraph))
    for word in re.findall(r"[\w/.]+", value):
        assert word in text, (word, text)
