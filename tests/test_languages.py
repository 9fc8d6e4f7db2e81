"""The language registry: a third language is a folder of templates and one entry."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from dispatch import languages
from dispatch.email_html import email_html
from dispatch.formatting import date_range, format_date, ordinal
from dispatch.languages import Language
from dispatch.templates import DEFAULT_TEMPLATES
from tests.conftest import WorkbookFactory, person
from tests.helpers import run

MakeMailing = Callable[..., Path]


@pytest.fixture(autouse=True)
def _registry_as_built() -> Iterator[None]:
    """A language a test adds (Portuguese) leaves the registry with the test."""
    yield
    for code in languages.codes():
        if code not in languages.built_in():
            languages.unregister(code)
    languages.load_folder(languages.bundled_folder())  # a mailing's own fr, en... leave too


SPANISH_MAILING = """
template = "invitation"
languages = ["es"]
date = 2021-10-13

[reference]
es = "Circular TSB 352"

[place]
es = "Ginebra"

[unit]
es = ["Oficina de Normalización de las Telecomunicaciones"]

[addressees]
to = ["MS"]

[sender]
email = "tsb@example.org"

[subject]
es = "Sexta reunión ({{ event.start | date }})"

[event]
name = { es = "Reunión U4SSC" }
start = 2021-12-07
start_time = 10:00:00
end_time = 15:30:00
timezone = "Europe/Zurich"
virtual = true

[body.intro]
es = "La reunión tendrá lugar {{ event.start | date_range(event.end) }}."

[[signatories]]
name = "Seizo Onoe"
title = { es = ["Director"] }
"""


def _spanish_templates(folder: Path) -> Path:
    """dispatch's templates with Spanish alone (templates/es and its language.toml)."""
    shutil.copytree(DEFAULT_TEMPLATES, folder)
    for other in folder.iterdir():
        if other.is_dir() and other.name != "es":
            shutil.rmtree(other)
    return folder


def test_a_registered_language_formats_with_its_profile() -> None:
    # Spanish is now built in, from templates/es/language.toml
    assert format_date(date(2021, 12, 7), "es") == "7 de diciembre de 2021"
    assert format_date(date(2021, 12, 7), "es", weekday=True) == "martes, 7 de diciembre de 2021"
    assert date_range(date(2022, 6, 6), date(2022, 6, 16), "es") == "del 6 al 16 de junio de 2022"
    assert ordinal(7, "es", gender="f") == "7.ª"


def test_codes_are_normalised_and_unknown_ones_refused() -> None:
    assert languages.normalise(" FR ") == "fr"
    with pytest.raises(languages.UnknownLanguage, match='use "fr" or "en" or "es"'):
        languages.get("xx")
    with pytest.raises(ValueError, match="lower case"):
        Language(code="ES", names={}, salutation="")


def test_a_third_language_is_a_template_folder_and_one_registry_entry(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    templates = _spanish_templates(tmp_path / "my-templates")
    mailing = make_mailing(SPANISH_MAILING)
    workbook = make_workbook(
        [person("ana@example.org", language="es", civility="", salutation="")],
        categories=[
            ["code", "fr", "en", "es"],
            ["MS", "Aux États", "Member States", "Estados Miembros"],
            ["AC", "Aux universités", "Academia", "Instituciones académicas"],
        ],
    )
    out = tmp_path / "out"
    code, stdout, stderr = run(
        "render", mailing, "--contacts", workbook, "--templates", templates, "--out", out,
        "--format", "txt,html",
    )  # fmt: skip
    assert code == 0, stdout + stderr
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.suffix in (".txt", ".html")
    ]
    assert len(texts) == 2
    for text in texts:
        assert "el 7 de diciembre de 2021" in text
        assert "Muy señores míos:" in text
        assert "Madame" not in text and "Dear" not in text
        assert "décembre" not in text and "December" not in text
        assert "Estados Miembros" in text and "Member States" not in text


PORTUGUESE = """
code = "pt"
names = { pt = "português", en = "Portuguese", fr = "portugais" }
aliases = ["portugues"]
salutation = "Excelentíssimos Senhores,"
closing = "Com os melhores cumprimentos,"

[dates]
style = "cldr"
article = "a "
range_running = ["de ", " a "]

[times]
zone = "hora de {place}"
places = { "Europe/Zurich" = "Genebra" }

[numbers]
conjunctions = { and = "e", or = "ou" }

[ordinals]
style = "indicator"

[typography]
quotes = ["«", "»", "“", "”"]

[labels]
reference = "Ref.ª"
links_heading = "Ligações:"
"""

PORTUGUESE_MAILING = (
    re.sub(
        r"(^|\{ )es = ",
        r"\1pt = ",
        SPANISH_MAILING.replace(
            'languages = ["es"]', 'languages = ["pt"]\ntemplates = "templates"'
        ),
        flags=re.M,
    )
    .replace("Ginebra", "Genebra")
    .replace("Reunión", "Reunião")
    .replace("tendrá lugar", "terá lugar")
)


def test_portuguese_is_added_by_a_template_folder_and_a_language_file_alone(
    tmp_path: Path, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    """Done when of issue 23: no code changed, a folder in the mailing's templates."""
    mailing = make_mailing(PORTUGUESE_MAILING)
    templates = mailing.parent / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    shutil.copytree(templates / "es", templates / "pt")
    (templates / "pt" / "language.toml").write_text(PORTUGUESE, encoding="utf-8")
    for path in (templates / "pt").iterdir():
        text = path.read_text(encoding="utf-8").replace('lang="es"', 'lang="pt"')
        text = text.replace("Asunto", "Assunto").replace(
            "Atentamente,", "Com os melhores cumprimentos,"
        )
        path.write_text(text, encoding="utf-8")
    workbook = make_workbook(
        [person("ana@example.org", language="Português", civility="", salutation="")],
        categories=[["code", "en", "pt"], ["MS", "Member States", "Estados Membros"],
                    ["AC", "Academia", "Instituições académicas"]],
    )  # fmt: skip
    out = tmp_path / "out"
    code, stdout, stderr = run(
        "render", mailing, "--contacts", workbook, "--out", out, "--format", "txt,html"
    )
    assert code == 0, stdout + stderr
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.suffix in (".txt", ".html")
    ]
    assert len(texts) == 2
    for text in texts:
        assert "a 7 de dezembro de 2021" in text  # CLDR's long date, the file's article
        assert "Excelentíssimos Senhores," in text
        assert "Estados Membros" in text and "Member States" not in text
        assert "Assunto" in text
        assert "Com os melhores cumprimentos," in text
        assert "diciembre" not in text and "December" not in text
    assert languages.resolve("portugues") == "pt"


def test_a_broken_language_file_is_reported_where_it_is(
    tmp_path: Path, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing = make_mailing(PORTUGUESE_MAILING)
    folder = mailing.parent / "templates" / "pt"
    folder.mkdir(parents=True)
    (folder / "language.toml").write_text(
        PORTUGUESE.replace("direction", "x") + '\ndirection = "sideways"\nlocale = "xx_QQ"\n',
        encoding="utf-8",
    )
    code, stdout, stderr = run("check", mailing, "--contacts", make_workbook())
    assert code == 2, stdout + stderr
    flat = " ".join((stdout + stderr).split())
    assert "language.toml" in flat
    assert "direction" in flat


@pytest.mark.parametrize(
    ("lang", "day", "running"),
    [
        ("es", "7 de diciembre de 2021", "del 6 al 16 de junio de 2022"),
        ("ru", "7 декабря 2021\u202fг.", "с 6 по 16 июня 2022\u202fг."),
        ("zh", "2021年12月7日", "2022年6月6日至16日"),
        ("ar", "7 ديسمبر 2021", "من 6 إلى 16 يونيو 2022"),
    ],
    ids=["es", "ru", "zh", "ar"],
)
def test_the_official_languages_write_dates_as_cldr_and_their_files_say(
    lang: str, day: str, running: str
) -> None:
    assert format_date(date(2021, 12, 7), lang) == day
    assert date_range(date(2022, 6, 6), date(2022, 6, 16), lang) == running


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Arabic", "ar"),
        ("árabe", "ar"),
        ("arabe", "ar"),
        ("ESPAÑOL", "es"),
        ("中文", "zh"),
        ("ru", "ru"),
    ],
)
def test_a_language_is_named_by_its_code_or_any_of_its_names(name: str, code: str) -> None:
    assert languages.resolve(name) == code


def test_no_language_literal_is_left_outside_the_registry_and_the_templates() -> None:
    import re

    # The registry itself is allowed, and so are examples in docs (``"fr"``), comments and
    # the few lines marked "language-literal:" with their reason.
    root = Path(languages.__file__).parent
    literal = re.compile(r"""(?<![\w-])["'](?:fr|en)["'](?![\w-])""")
    quoted = re.compile(r"``.*?``|\s#.*$")
    found = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "languages.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if literal.search(quoted.sub("", line))
        and "language-literal:" not in line
        and ">>>" not in line
    ]
    assert found == []


def test_a_language_file_names_its_fonts_and_a_missing_one_stops_the_pdf(
    tmp_path: Path, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing = make_mailing(PORTUGUESE_MAILING)
    templates = mailing.parent / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    shutil.copytree(templates / "es", templates / "pt")
    (templates / "pt" / "language.toml").write_text(
        PORTUGUESE.replace("[dates]", 'fonts = ["No Such Font Family"]\n\n[dates]'),
        encoding="utf-8",
    )
    for path in (templates / "pt").glob("*.html"):
        path.write_text(path.read_text("utf-8").replace('lang="es"', 'lang="pt"'), "utf-8")
    workbook = make_workbook(
        [person("ana@example.org", language="pt", civility="", salutation="")],
        categories=[["code", "pt"], ["MS", "Estados Membros"], ["AC", "Academia"]],
    )
    out = tmp_path / "out"
    code, stdout, stderr = run(
        "render", mailing, "--contacts", workbook, "--out", out, "--format", "pdf"
    )
    assert code != 0
    flat = " ".join((stdout + stderr).split())
    assert 'language.toml: the letter\'s font "No Such Font Family" is not installed' in flat
    assert not list(out.rglob("*.pdf"))


def test_a_language_of_a_templates_folder_given_on_the_command_line_is_known(
    tmp_path: Path, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing = make_mailing(PORTUGUESE_MAILING.replace('templates = "templates"\n', ""))
    templates = tmp_path / "our-templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    shutil.copytree(templates / "es", templates / "pt")
    (templates / "pt" / "language.toml").write_text(PORTUGUESE, encoding="utf-8")
    workbook = make_workbook(
        [person("ana@example.org", language="pt", civility="", salutation="")],
        categories=[["code", "pt"], ["MS", "Estados Membros"], ["AC", "Academia"]],
    )
    code, stdout, stderr = run(
        "check", mailing, "--contacts", workbook, "--templates", templates, columns=200
    )
    assert code == 0, stdout + stderr
    assert "Estados Membros" in stdout


def test_the_closings_degrees_are_the_language_files(
    tmp_path: Path, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    """``{{ consideration }}`` is the ``degrees`` of the letter's language file: French's
    are there, and a language added by a mailing brings its own."""
    french = languages.get("fr").degrees
    assert french == {"high": "haute considération", "usual": "considération distinguée"}
    mailing = make_mailing(
        PORTUGUESE_MAILING + '\n[closing]\npt = "Com a expressão da minha {{ consideration }},"\n'
    )
    templates = mailing.parent / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    shutil.copytree(templates / "es", templates / "pt")
    (templates / "pt" / "language.toml").write_text(
        PORTUGUESE.replace(
            "[dates]",
            'degrees = { high = "mais alta consideração", usual = "elevada consideração" }'
            "\n\n[dates]",
        ),
        encoding="utf-8",
    )
    workbook = make_workbook(
        [
            person("ana@example.org", language="pt", civility="", salutation=""),
            person("min@example.org", language="pt", civility="", salutation="",
                   function="Ministro; ministre"),
        ],
        categories=[["code", "pt"], ["MS", "Estados Membros"], ["AC", "Academia"]],
    )  # fmt: skip
    out = tmp_path / "out"
    code, stdout, stderr = run(
        "render", mailing, "--contacts", workbook, "--out", out, "--format", "txt"
    )
    assert code == 0, stdout + stderr
    texts = {p.name: p.read_text(encoding="utf-8") for p in out.rglob("*.txt")}
    assert len(texts) == 2
    [ana] = [t for name, t in texts.items() if "ana" in name]
    [minister] = [t for name, t in texts.items() if "ana" not in name]
    assert "Com a expressão da minha elevada consideração," in ana
    assert "Com a expressão da minha mais alta consideração," in minister


def test_a_language_files_degrees_need_both_words(tmp_path: Path) -> None:
    path = tmp_path / "pt" / "language.toml"
    path.parent.mkdir()
    path.write_text(
        PORTUGUESE.replace("[dates]", 'degrees = { high = "mais alta consideração" }\n\n[dates]'),
        encoding="utf-8",
    )
    with pytest.raises(languages.LanguageFileError) as caught:
        languages.parse(path)
    assert [(p[1], p[2]) for p in caught.value.problems] == [("degrees.usual", "Field required")]


def test_a_language_files_fonts_reach_the_email_html(
    tmp_path: Path, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    """The e-mail shows a language added by a mailing in the fonts its file names (the PDF
    does); dispatch's own languages keep email.css's fonts (with readers' system fonts)."""
    mailing = make_mailing(PORTUGUESE_MAILING)
    templates = mailing.parent / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    shutil.copytree(templates / "es", templates / "pt")
    (templates / "pt" / "language.toml").write_text(
        PORTUGUESE.replace("[dates]", 'fonts = ["DejaVu Serif"]\n\n[dates]'), encoding="utf-8"
    )
    for path in (templates / "pt").glob("*.html"):
        path.write_text(path.read_text("utf-8").replace('lang="es"', 'lang="pt"'), "utf-8")
    workbook = make_workbook(
        [person("ana@example.org", language="pt", civility="", salutation="")],
        categories=[["code", "pt"], ["MS", "Estados Membros"], ["AC", "Academia"]],
    )
    out = tmp_path / "out"
    code, stdout, stderr = run(
        "render", mailing, "--contacts", workbook, "--out", out, "--format", "eml"
    )
    assert code == 0, stdout + stderr
    [eml] = out.rglob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    part = message.get_body(("html",))
    assert part is not None
    letter = re.search(r'<article class="letter"[^>]*style="([^"]*)"', part.get_content())
    assert letter is not None
    assert re.search(r"font-family: ['\"]DejaVu Serif['\"], serif", letter.group(1))

    zh = '<html lang="zh"><body><article class="letter" lang="zh">中文</article></body></html>'
    assert "Noto Serif CJK SC" in email_html(zh)
    assert "DejaVu" not in email_html(zh)
