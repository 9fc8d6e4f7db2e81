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

import contextlib
import difflib
import hashlib
import re
from collections.abc import Callable, Collection, Mapping, MutableSequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2 import StrictUndefined, nodes, pass_context
from jinja2.exceptions import UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from dispatch.errors import Location, Problem, TemplateError
from dispatch.filters import install_filters
from dispatch.markdown import to_html, to_text
from dispatch.placeholders import EmptyCell, UnknownField, UnsetField, file_field
from dispatch.resources import TEMPLATES, package_path
from dispatch.sandbox import LetterSandbox, TemplateLimitError

Output = Literal["html", "text"]
SUFFIX: dict[Output, str] = {"html": ".html", "text": ".txt"}

#: The templates bundled with dispatch: the package resource ``dispatch/_templates``, which
#: the wheel holds as files and which, in a source checkout, is a link to the repository's
#: ``templates/`` folder. A secretariat's own templates are named by ``templates = "folder"``
#: in the mailing file or by ``--templates``; the working directory is never searched.
DEFAULT_TEMPLATES = TEMPLATES


def markdown_to_text(source: str, links: MutableSequence[str] | None = None) -> str:
    """Markdown as a plain-text letter shows it, from the tokens the HTML is made of.

    Bullets as ``•``, list numbers as written, links as ``label [n]`` with their address
    added to ``links`` (``label (url)`` without it). See :mod:`dispatch.markdown`.

    >>> markdown_to_text("See the [site](https://example.org).")
    'See the site (https://example.org).'
    """
    return to_text(source, links)


#: The context variable holding the addresses of a text letter's links (a list).
LINKS = "link_refs"


@pass_context
def _markdown_filter(context: Context, source: str) -> str | Markup:
    """``{{ text | markdown }}``: HTML for the html output, plain text for the text output.

    In text, links are numbered in the list the context holds under :data:`LINKS`, shared
    by every paragraph of one letter, so that the numbers run through the letter.
    """
    if context.get("output") == "html":
        return Markup(to_html(str(source)))
    links = context.get(LINKS)
    return to_text(str(source), links if isinstance(links, list) else None)


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


def attributes_read(env: jinja2.Environment, source: str, name: str) -> set[str] | None:
    """The attributes of ``name`` a template text reads (``addressee.country`` → country),
    or None when it uses ``name`` otherwise (as a whole, or under a computed key) or does
    not parse: then anything of it may count.

    >>> sorted(attributes_read(jinja2.Environment(), "{{ a.x }}{{ a['y'] | e }}", "a"))
    ['x', 'y']
    """
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError:
        return None
    found: set[str] = set()
    reached: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node  # type: ignore[attr-defined]
        if isinstance(target, nodes.Name) and target.name == name:
            if isinstance(node, nodes.Getattr):
                found.add(node.attr)
            elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
                found.add(str(node.arg.value))
            else:
                return None
            reached.add(id(target))
    for named in tree.find_all(nodes.Name):
        if named.name == name and id(named) not in reached:
            return None
    return found


def syntax_problem(folder: Path, exc: jinja2.TemplateSyntaxError) -> Problem:
    file = Path(exc.filename) if exc.filename else folder / (exc.name or "?")
    return Problem(
        Location(file=file, line=exc.lineno),
        f"template syntax error: {exc.message}",
        "Correct the template.",
    )


def render_problem(
    template_name: str | None,
    exc: Exception,
    known: Collection[str] = (),
    used_in: Location | None = None,
) -> Problem:
    """A located problem for an error raised while rendering (undefined placeholder...).

    The location is the innermost template the error was raised in (an included one too).
    ``known`` are the names the template could read, for a "did you mean". An empty
    workbook cell is located in the workbook, and the text that prints it is named
    (``used_in``, else the template and line).
    """
    file, line = _template_frame(exc)
    where = Location(file=Path(file) if file else template_name, line=line)
    if isinstance(exc, EmptyCell):
        return empty_cell_problem(exc, used_in or where)
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
    if isinstance(exc, UnsetField | UnknownField | UndefinedError):
        return Problem(where, *placeholder_problem(exc, known))
    if isinstance(exc, TemplateLimitError):
        return Problem(
            where,
            f"stopped: {message}",
            "A template may loop over the mailing's lists, not produce text without end: "
            "correct the loop or the value it uses.",
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


def empty_cell_problem(exc: EmptyCell, used_in: Location) -> Problem:
    """An empty cell a letter prints: where the cell is, and which text prints it."""
    field = exc.field
    return Problem(
        Location(file=exc.file, sheet=exc.sheet, row=exc.row, column=exc.column),  # type: ignore[arg-type]
        f"is empty, and {used_in.describe()} prints it as {field}: the letter would show a blank",
        "Fill the cell, or say in the letter what to print instead "
        f'({{{{ {field} | default("…") }}}}), or keep it in '
        f"{{% if {field} %}}…{{% endif %}}.",
    )


def placeholder_problem(exc: UndefinedError, known: Collection[str] = ()) -> tuple[str, str]:
    """What is wrong with a placeholder, and what to do: the message and the hint."""
    if isinstance(exc, UnsetField):
        field = exc.field
        return (
            f"the placeholder {field} has no value: the mailing file does not set it",
            f"Set {file_field(field)} in the mailing file, or take the placeholder out of "
            f"this text (or keep it in {{% if {field} %}}…{{% endif %}}).",
        )
    if isinstance(exc, UnknownField):
        field, close = exc.field, exc.suggestion
    else:
        match = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(exc))
        field = next((g for g in match.groups() if g), "") if match else ""
        if not field:
            return (
                str(exc),
                "Give it a value in the mailing file or the workbook, or correct the template.",
            )
        found = difflib.get_close_matches(field, list(known), n=1, cutoff=0.6)
        close = found[0] if found and "is undefined" in str(exc) else None
    if close:
        return (
            f"the placeholder {field} names no value",
            f"Did you mean {close}? Correct the placeholder.",
        )
    return (
        f"the placeholder {field} names no value",
        "Correct the placeholder (see the README for the names a letter can use).",
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


def _finalize(value: Any) -> Any:
    """What ``{{ … }}`` prints: never ``None`` (a value the mailing leaves unset)."""
    if value is None:
        raise UndefinedError("a placeholder has no value (it would print None)")
    return value


def _literal_finalize(value: Any) -> Markup:
    return markdown_literal(_finalize(value))


_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def markdown_escaped(value: Any) -> str:
    """A value put into Markdown source for the text letter: its punctuation
    backslash-escaped, so that it shows as typed (``<b>Ann</b> & Co``, ``A*B*C``).

    >>> print(markdown_escaped("A*B* <b>"))
    A\\*B\\* \\<b\\>
    """
    return _MD_PUNCTUATION.sub(r"\\\1", str(value))


def _escaped_finalize(value: Any) -> str:
    return markdown_escaped(_finalize(value))


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


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja's own cache of compiled templates (its private per-user folder), so that a
    run does not compile again the letter templates the last one compiled: a third of the
    time a render of a few distinct letters spends in its templates.

    Jinja keys a template by its name and file and checks its source; the key here also
    holds what else shapes the compiled code (the environment's settings, this module's
    sandbox and the filters' names), so that no environment is handed another's code.
    A cache that cannot be written is skipped: the template is compiled, as without one.
    """

    def __init__(self, salt: str) -> None:
        super().__init__()
        self.salt = salt

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{self.salt}\0{name}", filename)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # a full or read-only disk: compiled next time
            super().dump_bytecode(bucket)


@lru_cache(maxsize=1)
def _code_salt() -> str:
    digest = hashlib.sha256()
    for module in ("templates.py", "filters.py"):
        digest.update(package_path(module).read_bytes())
    return digest.hexdigest()[:16]


def _compiled_templates(lang: str, output: Output, markdown: bool) -> jinja2.BytecodeCache | None:
    try:
        return _CompiledTemplates(f"{_code_salt()}:{lang}:{output}:{markdown}")
    except (OSError, RuntimeError):  # no private cache folder can be made here
        return None


@lru_cache(maxsize=32)
def _environment(root: Path, lang: str, output: Output, markdown: bool) -> SandboxedEnvironment:
    env = LetterSandbox(
        finalize=(_literal_finalize if output == "html" else _escaped_finalize)
        if markdown
        else _finalize,
        loader=_FolderLoader(root, lang),
        undefined=StrictUndefined,
        autoescape=output == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        bytecode_cache=_compiled_templates(lang, output, markdown),
    )
    install_filters(env)
    env.filters["markdown"] = _markdown_filter
    env.globals.update(lang=lang, output=output)
    return env


@lru_cache(maxsize=1024)  # the subject and paragraphs of a mailing, in a few outputs
def _inline(root: Path, lang: str, output: Output, source: str, markdown: bool) -> jinja2.Template:
    return _environment(root, lang, output, markdown).from_string(source)


def render(
    template: jinja2.Template, context: Mapping[str, Any], used_in: Location | None = None
) -> str:
    """Render, turning any error into a :class:`TemplateError` that says where.

    A placeholder with no value is an error (never ``None`` in a letter), and one that
    names no value gets the closest name of ``context`` as a "did you mean". ``used_in``
    names the text rendered when it is not a template file (a field of the mailing file).
    """
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
        raise TemplateError([render_problem(template.name, exc, context.keys(), used_in)]) from None
