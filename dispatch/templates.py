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

import importlib.resources
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path, PurePath
from typing import Any, Literal

import jinja2
from jinja2 import StrictUndefined, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pydantic import BaseModel

from dispatch.errors import Location, Problem, TemplateError
from dispatch.filters import install_filters

Output = Literal["html", "text"]
SUFFIX: dict[Output, str] = {"html": ".html", "text": ".txt"}

#: The templates bundled with dispatch: the package resource ``dispatch/_templates``, which
#: the wheel holds as files and which, in a source checkout, is a link to the repository's
#: ``templates/`` folder. A secretariat's own templates are named by ``templates = "folder"``
#: in the mailing file or by ``--templates``; the working directory is never searched.
DEFAULT_TEMPLATES = Path(str(importlib.resources.files("dispatch") / "_templates")).resolve()


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
        return _environment(self.root.resolve(), lang, output, False)

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

    def inline(
        self, source: str, lang: str, output: Output, where: Location, *, markdown: bool = False
    ) -> jinja2.Template:
        """A mailing-file text compiled as a small template (subject, a body paragraph).

        ``markdown=True``: the text is Markdown source, and each value a placeholder puts in
        it stays text (see :func:`markdown_literal`).
        """
        try:
            return _inline(self.root.resolve(), lang, output, source, markdown)
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


def render_problem(template_name: str | None, exc: Exception) -> Problem:
    """A located problem for an error raised while rendering (undefined placeholder...).

    The location is the innermost template the error was raised in (an included one too).
    """
    file, line = _template_frame(exc)
    where = Location(file=Path(file) if file else template_name, line=line)
    message = str(exc)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return syntax_problem(Path(template_name or "."), exc)
    if isinstance(exc, jinja2.TemplateNotFound):
        return Problem(
            where,
            f"names the template {exc.name!r}, which is not in the templates folder",
            "A template may include or extend only the templates of its folder, by a name "
            'relative to it, like "base.html".',
        )
    if isinstance(exc, jinja2.UndefinedError):
        match = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", message)
        name = next((g for g in match.groups() if g), None) if match else None
        what = f"the placeholder {name!r} has no value" if name else message
        return Problem(
            where,
            what,
            "Give it a value in the mailing file or the workbook, or correct the template.",
        )
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return Problem(
            where,
            f"does something templates may not do ({message})",
            "Templates may only read the mailing's values.",
        )
    return Problem(
        where,
        f"failed to render: {type(exc).__name__}: {message}",
        "Correct the template or the value it uses.",
    )


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """The template file and line where ``exc`` was raised.

    Jinja rewrites the traceback of an error raised in template code so that its frames
    carry the template's file name and line: take the innermost such frame.
    """
    tb = exc.__traceback__
    file, line = None, None
    while tb is not None:
        frame = tb.tb_frame
        if "__jinja_exception__" in frame.f_globals or frame.f_code.co_filename.endswith(
            (".html", ".txt", "<template>")
        ):
            file, line = frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    return (None if file == "<template>" else file), line


class LetterSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, tightened: a template reads the mailing's values and nothing else.

    Beyond what Jinja blocks (``__class__``, ``_private``, ``list.append``…): no method of
    a path (``mailing.path.read_text()`` would read any file, ``write_text`` write one), and
    of a pydantic model only its fields and dispatch's own properties and methods, not
    pydantic's machinery (``parse_file`` reads a file, ``model_fields`` leads to classes).
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        # "x" * 10**10 or 10**10**10 would take the memory or the time of the whole machine.
        if operator == "**" and isinstance(right, int) and abs(right) > _MAX_POWER:
            raise SecurityError(f"the power {right} is too large (at most {_MAX_POWER})")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > _MAX_REPEAT
                ):
                    raise SecurityError(f"the result is too long (at most {_MAX_REPEAT})")
        return super().call_binop(context, operator, left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return _readable(obj, attr) and bool(super().is_safe_attribute(obj, attr, value))

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Jinja reads the attribute before it asks whether it is safe: refuse by name first,
        # so that a refused attribute is never evaluated (pydantic warns on model_fields).
        if not _readable(obj, attribute):
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str) and not _readable(obj, argument):
            return self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)

    def is_safe_callable(self, obj: Any) -> bool:
        if isinstance(obj, type) and issubclass(obj, PurePath | BaseModel):
            return False
        if isinstance(getattr(obj, "__self__", None), PurePath):
            return False
        return bool(super().is_safe_callable(obj))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if not self.is_safe_callable(obj):
            # Jinja's message shows repr(obj): for a model's method, the whole mailing.
            name = getattr(obj, "__qualname__", type(obj).__name__)
            raise SecurityError(f"{name} may not be called in a template")
        return super().call(context, obj, *args, **kwargs)


_MAX_POWER = 1000
_MAX_REPEAT = 100_000

#: what a template may read of a path: its name, never its content or its folder
_PATH_ATTRIBUTES = frozenset({"name", "stem", "suffix"})


def _readable(obj: Any, attr: str) -> bool:
    """Whether a template may read ``attr`` of a path or a model (other objects: Jinja says)."""
    if isinstance(obj, PurePath):
        return attr in _PATH_ATTRIBUTES
    model = obj if isinstance(obj, type) else type(obj)
    if issubclass(model, BaseModel):
        return _model_attribute(model, attr)
    return True


def _model_attribute(model: type[BaseModel], attr: str) -> bool:
    """A field, or an attribute dispatch's model classes define (not one of pydantic's)."""
    if attr in model.model_fields or not hasattr(model, attr):
        return True  # a field; or no such attribute, which Jinja reports as undefined
    if attr.startswith("model_"):
        return False
    return any(
        attr in vars(klass)
        for klass in model.__mro__
        if isinstance(klass, type) and issubclass(klass, BaseModel) and klass is not BaseModel
    )


_MD_SYNTAX = re.compile(r"(<[^>]*>|&#?\w+;)|([\\`*_{}\[\]()#+\-.!|~=:])")


def markdown_literal(value: Any) -> Markup:
    """A value put into Markdown source, as HTML whose punctuation is written as entities.

    Markdown reads ``&#91;`` as a plain ``[``: a workbook value such as
    ``![x](../../secret.png)`` then shows as typed instead of becoming an image that the
    PDF renderer would fetch, or a link. Tags of filter output (``<sup>``) pass.

    >>> str(markdown_literal("[a](b)"))
    '&#91;a&#93;&#40;b&#41;'
    """
    html = str(escape(value))
    return Markup(_MD_SYNTAX.sub(lambda m: m.group(1) or f"&#{ord(m.group(2))};", html))


class _FolderLoader(jinja2.FileSystemLoader):
    """Templates of one folder only: Jinja refuses ``../``, and this refuses a symbolic
    link in the folder that points outside it (``fr/header.html -> /etc/passwd``)."""

    def __init__(self, root: Path, lang: str) -> None:
        super().__init__([root / lang, root])
        self.root = root.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.root):
            raise jinja2.TemplateNotFound(template)
        return source, filename, uptodate


@lru_cache(maxsize=32)
def _environment(root: Path, lang: str, output: Output, markdown: bool) -> SandboxedEnvironment:
    env = LetterSandbox(
        finalize=markdown_literal if markdown and output == "html" else None,
        loader=_FolderLoader(root, lang),
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


@lru_cache(maxsize=1024)  # the subject and paragraphs of a mailing, in a few outputs
def _inline(root: Path, lang: str, output: Output, source: str, markdown: bool) -> jinja2.Template:
    return _environment(root, lang, output, markdown).from_string(source)


def render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render, turning any error into a :class:`TemplateError` that says where."""
    try:
        return template.render(context)
    except RecursionError:
        raise TemplateError(
            [
                Problem(
                    Location(file=template.name),
                    "calls itself without end (a macro or block that includes itself?)",
                    "Correct the template.",
                )
            ]
        ) from None
    except Exception as exc:  # noqa: BLE001 - anything a template does wrong is the template's
        raise TemplateError([render_problem(template.name, exc)]) from None
