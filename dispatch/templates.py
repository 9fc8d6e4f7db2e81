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
import contextvars
import difflib
import hashlib
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, MutableSequence
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from pathlib import Path, PurePath
from typing import Any, Literal

import jinja2
from jinja2 import StrictUndefined, nodes, pass_context
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment
from markupsafe import Markup, escape
from pydantic import BaseModel

from dispatch.errors import Location, Problem, TemplateError
from dispatch.filters import install_filters
from dispatch.markdown import to_html, to_text
from dispatch.placeholders import EmptyCell, UnknownField, UnsetField, file_field
from dispatch.resources import TEMPLATES, package_path

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


#: Limits of one render (a letter, a subject, a body paragraph), with room to spare: a
#: letter is a few tens of kilobytes, loops over an agenda or a list of annexes run a few
#: dozen times, and a render takes milliseconds. A template bomb reaches them in well under
#: a second instead of taking the machine's memory (9.8 GB in 25 s) or never ending.
MAX_OUTPUT = 2_000_000  # characters produced, every piece counted
MAX_ITERATIONS = 100_000  # turns of all the loops of one render together
MAX_RANGE = 10_000  # items of one range()
MAX_SECONDS = 5.0  # wall time of one render
_WIDE = 100_000  # a width, length or repeat count no letter needs


class TemplateLimitError(SecurityError):
    """A render went past one of the sandbox's limits (output, loop turns, time, range)."""


@dataclass
class _Budget:
    deadline: float
    output: int = 0
    iterations: int = 0
    ticks: int = field(default=0, repr=False)

    def tick(self) -> None:
        """Count a step (a call, a loop's end...); look at the clock every 256 steps."""
        self.ticks += 1
        if not self.ticks & 255:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(
                f"the template took longer than {MAX_SECONDS:g} seconds to render "
                "(a loop that does not end?)"
            )

    def add_iterations(self, count: int) -> None:
        self.iterations += count
        if self.iterations > MAX_ITERATIONS:
            raise TemplateLimitError(
                f"the loops of the template turned more than {MAX_ITERATIONS:,} times"
            )

    def add_output(self, count: int) -> None:
        self.output += count
        if self.output > MAX_OUTPUT:
            raise TemplateLimitError(f"the template produced more than {MAX_OUTPUT:,} characters")


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "dispatch_template_budget", default=None
)


class _LetterTemplate(jinja2.Template):
    """A template whose render (with every include and macro in it) shares one budget."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        if _budget.get() is not None:  # rendered from inside another render
            return super().render(*args, **kwargs)
        token = _budget.set(_Budget(deadline=time.monotonic() + MAX_SECONDS))
        try:
            return super().render(*args, **kwargs)
        finally:
            _budget.reset(token)


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """A loop's items, counted against the render's budget (in steps of 256: cheap)."""
    budget = _budget.get()
    if budget is None:
        yield from iterable
        return
    turns = 0
    for item in iterable:
        turns += 1
        if not turns & 255:
            budget.add_iterations(256)
            budget.check_time()
        yield item
    budget.add_iterations(turns & 255)
    budget.tick()


def _safe_range(*args: int) -> range:
    """``range`` with at most :data:`MAX_RANGE` items."""
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise TemplateLimitError(f"range() of {len(rng):,} items (at most {MAX_RANGE:,})")
    return rng


_LOOP_GUARD = "__dispatch_counted__"
_FORMAT_WIDTH = re.compile(r"%[-#0 +]*\d{6,}|\{[^{}]*?\d{6,}[^{}]*\}")  # "%0999999d", "{:>999999}"
_SIZED_FILTERS = frozenset({"center", "indent", "truncate", "wordwrap", "format"})
_SIZED_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "format"})


def _check_sizes(name: str, args: Iterable[Any]) -> None:
    for value in args:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _WIDE:
            raise TemplateLimitError(f"{name} with {value:,} (at most {_WIDE:,})")
        if isinstance(value, str) and _FORMAT_WIDTH.search(value):
            raise TemplateLimitError(f"{name} with a width of a hundred thousand or more")


def _sized_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)  # keeps pass_context & co
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_sizes(f"the {name} filter", (*args, *kwargs.values()))
        return function(*args, **kwargs)

    return guarded


_OPEN = frozenset({"lparen", "lbracket", "lbrace"})
_CLOSE = frozenset({"rparen", "rbracket", "rbrace"})


class _CountedLoops(Extension):
    """Every loop's items go through :func:`_counted`: the only way to count the turns of
    a loop that outputs nothing (``{% for i in range(n) %}{% for j in ... %}``).

    Done on the tokens, through Jinja's public extension API (``filter_stream``):
    ``{% for x in ITEMS if ... recursive %}`` is read as
    ``{% for x in __dispatch_counted__((ITEMS)) if ... recursive %}``. Jinja ends a
    loop's items at ``if``, ``recursive`` or ``%}`` outside brackets; the double
    parentheses keep ``for x in a, b`` the one tuple it was.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        state, depth, previous = "text", 0, None
        for token in stream:
            if state == "target" and token.test("name:in"):
                yield token
                yield Token(token.lineno, "name", _LOOP_GUARD)
                yield Token(token.lineno, "lparen", "(")
                yield Token(token.lineno, "lparen", "(")
                state, depth = "items", 0
                continue
            if state == "items":
                depth += (token.type in _OPEN) - (token.type in _CLOSE)
                ends = token.type == "block_end" or token.test_any("name:if", "name:recursive")
                if depth == 0 and ends:
                    yield Token(token.lineno, "rparen", ")")
                    yield Token(token.lineno, "rparen", ")")
                    state = "text"
            elif previous == "block_begin" and token.test("name:for"):
                state = "target"
            previous = token.type
            yield token


class LetterSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, tightened: a template reads the mailing's values and nothing else.

    Beyond what Jinja blocks (``__class__``, ``_private``, ``list.append``…): no method of
    a path (``mailing.path.read_text()`` would read any file, ``write_text`` write one), and
    of a pydantic model only its fields and dispatch's own properties and methods, not
    pydantic's machinery (``parse_file`` reads a file, ``model_fields`` leads to classes).

    And limits on what one render may cost (template bombs): :data:`MAX_OUTPUT` characters,
    :data:`MAX_ITERATIONS` loop turns, :data:`MAX_RANGE` items per ``range()``,
    :data:`MAX_SECONDS`; widths and repeat counts of a hundred thousand or more are refused.
    Past a limit the render stops with a :class:`TemplateLimitError`, which
    :func:`render` reports with the template (or mailing field) and line.
    """

    intercepted_binops = frozenset({"*", "**", "%"})
    template_class = _LetterTemplate

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _safe_range
        self.globals[_LOOP_GUARD] = _counted
        self.add_extension(_CountedLoops)
        for name in _SIZED_FILTERS & self.filters.keys():
            self.filters[name] = _sized_filter(name, self.filters[name])

    def concat(self, pieces: Iterable[str]) -> str:
        """Join a render's pieces, counting them against :data:`MAX_OUTPUT` and the time."""
        budget = _budget.get()
        if budget is None:
            return "".join(pieces)
        out: list[str] = []
        append = out.append
        size = 0  # not yet added to the budget
        for piece in pieces:
            size += len(piece)
            append(piece)
            if size > 65_536 or not len(out) & 255:
                budget.add_output(size)
                size = 0
                budget.check_time()
        budget.add_output(size)
        budget.tick()
        return "".join(out)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            _check_sizes("the % operator", (left,))
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
        if isinstance(obj, str) and attribute in ("format", "format_map"):
            _check_sizes(f"{attribute}()", (obj,))  # Jinja wraps these: check the string here
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
        budget = _budget.get()
        if budget is not None:
            budget.tick()
        method = getattr(obj, "__name__", "")
        if isinstance(getattr(obj, "__self__", None), str) and method in _SIZED_METHODS:
            _check_sizes(f"{method}()", (obj.__self__, *args, *kwargs.values()))
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
