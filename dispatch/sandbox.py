"""The sandbox a template renders in: its limits (output, loop turns, ranges, time, widths),
the extension that counts every loop, and what a template may read of paths and models."""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import wraps
from pathlib import PurePath
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

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
