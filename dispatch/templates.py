"""Letter templates: a sandboxed Jinja2 environment per language and output.

Templates live in ``templates/<lang>/<kind>.html`` and ``<kind>.txt`` and extend
``base.html`` / ``base.txt``. They run in Jinja2's :class:`SandboxedEnvironment` with
``StrictUndefined`` (a placeholder with no value is an error naming template, line and
placeholder) and, for HTML, autoescape on. The formatting and typography filters of
:mod:`dispatch.filters` are installed in every environment, plus ``markdown``.

Free text of the mailing file (subject, body paragraphs) may hold placeholders too:
it is rendered as a small template of its own with the same context (:meth:`Templates.inline`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2 import StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt
from markupsafe import Markup

from dispatch.errors import Location, Problem, TemplateError
from dispatch.filters import install_filters

Output = Literal["html", "text"]
SUFFIX: dict[Output, str] = {"html": ".html", "text": ".txt"}

#: The templates bundled with dispatch (the repository's ``templates/`` folder).
DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@cache
def _markdown() -> MarkdownIt:
    # Raw HTML passes: the filters emit <sup> for ordinals. Values from the workbook are
    # already escaped by autoescape before the Markdown step, so they cannot inject tags.
    return MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})


_MD_LINK = re.compile(r"\[([^\]]+)\]\((<[^>]*>|[^)\s]*)\)")
_MD_EMPH = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_MD_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)


def markdown_to_text(source: str) -> str:
    """Markdown as a plain-text letter shows it: links as ``text (url)``, bullets as ``•``.

    >>> markdown_to_text("See the [site](https://example.org).")
    'See the site (https://example.org).'
    """

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2).strip("<>")
        if not url or url == "#" or url == label:
            return label
        return f"{label} ({url})"

    text = _MD_LINK.sub(link, source)
    text = _MD_EMPH.sub(r"\2", text)
    text = _MD_BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    return text.strip()


@pass_context
def _markdown_filter(context: Context, source: str) -> str | Markup:
    """``{{ text | markdown }}``: HTML for the html output, plain text for the text output."""
    if context.get("output") == "html":
        return Markup(_markdown().render(str(source)).strip())
    return markdown_to_text(str(source))


@dataclass(frozen=True)
class TemplateSet:
    """Where the templates are; one environment per (language, output) is built lazily."""

    root: Path = DEFAULT_TEMPLATES

    def environment(self, lang: str, output: Output) -> SandboxedEnvironment:
        return _environment(self.root.resolve(), lang, output)

    def kinds(self, lang: str) -> list[str]:
        folder = self.root / lang
        return sorted(
            p.stem for p in folder.glob("*.html") if not p.stem.startswith("_") and p.stem != "base"
        )

    def letter(self, kind: str, lang: str, output: Output) -> jinja2.Template:
        """The compiled template for one letter kind; a :class:`TemplateError` if broken."""
        env = self.environment(lang, output)
        name = f"{kind}{SUFFIX[output]}"
        try:
            return env.get_template(name)
        except jinja2.TemplateNotFound as exc:
            known = ", ".join(self.kinds(lang)) or "none"
            raise TemplateError(
                [
                    Problem(
                        Location(file=self.root / lang / (exc.name or name)),
                        f"does not exist (letter kinds in {self.root / lang}: {known})",
                        "Correct `template` in the mailing file, or add the template.",
                    )
                ]
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError([syntax_problem(self.root / lang, exc)]) from None

    def inline(self, source: str, lang: str, output: Output, where: Location) -> jinja2.Template:
        """A mailing-file text compiled as a small template (subject, a body paragraph)."""
        try:
            return _inline(self.root.resolve(), lang, output, source)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                [
                    Problem(
                        where,
                        f"is not a valid template text: {exc.message} (line {exc.lineno})",
                        "Placeholders are written {{ event.start | date }}; check the braces.",
                    )
                ]
            ) from None


def syntax_problem(folder: Path, exc: jinja2.TemplateSyntaxError) -> Problem:
    file = Path(exc.filename) if exc.filename else folder / (exc.name or "?")
    return Problem(
        Location(file=file, line=exc.lineno),
        f"template syntax error: {exc.message}",
        "Correct the template.",
    )


def render_problem(template_name: str | None, exc: Exception, tb: Any = None) -> Problem:
    """A located problem for an error raised while rendering (undefined placeholder...)."""
    line = _template_line(exc)
    message = str(exc)
    if isinstance(exc, jinja2.UndefinedError):
        match = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", message)
        name = next((g for g in match.groups() if g), None) if match else None
        what = f"the placeholder {name!r} has no value" if name else message
        return Problem(
            Location(file=template_name, line=line),
            what,
            "Give it a value in the mailing file or the workbook, or correct the template.",
        )
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return Problem(
            Location(file=template_name, line=line),
            f"does something templates may not do ({message})",
            "Templates may only read the mailing's values.",
        )
    return Problem(
        Location(file=template_name, line=line),
        f"failed to render: {type(exc).__name__}: {message}",
        "Correct the template or the value it uses.",
    )


def _template_line(exc: BaseException) -> int | None:
    """The template line where ``exc`` was raised.

    Jinja rewrites the traceback of an error raised in template code so that its frames
    carry the template's file name and line: take the innermost such frame.
    """
    tb = exc.__traceback__
    line = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith((".html", ".txt", "<template>")):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@cache
def _environment(root: Path, lang: str, output: Output) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([root / lang, root]),
        undefined=StrictUndefined,
        autoescape=output == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    install_filters(env)
    env.filters["markdown"] = _markdown_filter
    env.globals.update(lang=lang, output=output)
    return env


@cache
def _inline(root: Path, lang: str, output: Output, source: str) -> jinja2.Template:
    return _environment(root, lang, output).from_string(source)


def render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render, turning any error into a :class:`TemplateError` that says where."""
    try:
        return template.render(context)
    except jinja2.TemplateError as exc:
        raise TemplateError([render_problem(template.name, exc)]) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise TemplateError([render_problem(template.name, exc)]) from None
