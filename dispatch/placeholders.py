"""What a placeholder finds when its field has no value, or is no field at all.

A letter must never print ``None`` or a literal ``{{ … }}``. The values a template reads
come in :class:`Namespace` (``event``, ``contact``, ``values``…), which know their own name:

- a field the mailing leaves unset (``event.venue`` of a virtual meeting) reads as
  :class:`Unset`: false in ``{% if event.venue %}``, replaced by
  ``{{ event.venue | default("…") }}``, an :class:`UnsetField` error naming
  ``event.venue`` when it is printed or given to a filter;
- a name that is no field (``event.venu``) reads as :class:`Unknown`: an
  :class:`UnknownField` error naming ``event.venu`` and the closest field
  (``event.venue``), and ``is defined`` is false, as for any undefined name.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import UndefinedError

__all__ = [
    "EmptyCell",
    "Namespace",
    "Row",
    "Unknown",
    "UnknownField",
    "Unset",
    "UnsetField",
    "file_field",
]


class UnsetField(UndefinedError):
    """A placeholder names a field that has no value in this mailing.

    ``str(exc)`` is the field's whole name as a template writes it (``event.venue``).
    """

    @property
    def field(self) -> str:
        return str(self)


class EmptyCell(UnsetField):
    """A placeholder prints a workbook cell that is empty for this addressee.

    ``str(exc)`` is the field (``addressee.country``); ``file``, ``sheet``, ``row`` and
    ``column`` (its header) say which cell.
    """

    def __init__(
        self, message: str, *, file: object = None, sheet: str = "", row: int = 0, column: str = ""
    ) -> None:
        super().__init__(message)
        self.file, self.sheet, self.row, self.column = file, sheet, row, column


class UnknownField(UndefinedError):
    """A placeholder names no field. ``field`` is the whole name written, ``suggestion``
    the closest known one (or None)."""

    def __init__(self, message: str, field: str = "", suggestion: str | None = None) -> None:
        super().__init__(message)
        self.field = field or message
        self.suggestion = suggestion


class Unset(StrictUndefined):
    """A known field without a value: false in a test, an error anywhere else.

    >>> bool(Unset(hint="event.venue"))
    False
    """

    __slots__ = ()

    def __bool__(self) -> bool:  # type: ignore[override]
        return False


class Unknown(StrictUndefined):
    """A name that is not a field of the object it is read from (a misspelling)."""

    __slots__ = ()


def _unknown(field: str, known: list[str]) -> Callable[[str], UnknownField]:
    def make(message: str) -> UnknownField:
        close = difflib.get_close_matches(field, known, n=1, cutoff=0.6)
        return UnknownField(message, field, close[0] if close else None)

    return make


@dataclass(frozen=True)
class Namespace:
    """A read-only bag of values for templates (attribute access, like a model), named.

    ``path`` is how a template reaches it (``event``, ``event.links``): errors give the
    whole name of a placeholder. A value of None is a field left unset (:class:`Unset`).
    """

    values: Mapping[str, Any]
    path: str = ""

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> Any:
        if name not in self.values:
            field = self._name(name)
            known = [self._name(k) for k in self.values]
            make = _unknown(field, known)
            return Unknown(obj=self, name=name, hint=field, exc=make)  # type: ignore[arg-type]
        value = self.values[name]
        if value is None:
            return Unset(name=name, hint=self._name(name), exc=UnsetField)
        return value

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def get(self, name: str, default: Any = None) -> Any:
        """The raw value (None when unset), for Python code."""
        value = self.values.get(name)
        return default if value is None else value


#: Namespace a template names otherwise than the mailing file does.
_FILE_FIELDS = {
    "event.zone": "event.timezone",
    "event.zone_place": "event.timezone_place",
    "event.end": "event.end",
    "deadline.zone": "deadline.timezone",
    "deadline.zone_place": "deadline.timezone_place",
    "deadline.time": "deadline.time",
}


def file_field(field: str) -> str:
    """The key of the mailing file behind a template's field name.

    >>> file_field("event.zone_place")
    'event.timezone_place'
    """
    return _FILE_FIELDS.get(field, field)


@dataclass(frozen=True)
class Row(Namespace):
    """An addressee's values, read from one row of a workbook: an empty cell reads as
    :class:`Unset` (false in ``{% if %}``, replaced by ``default``), whose error when
    printed (:class:`EmptyCell`) names the cell."""

    file: object = None
    sheet: str = ""
    row: int = 0
    headers: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        if name in self.values and self.values[name] is None:
            column = self.headers.get(name, name)
            cell = partial(EmptyCell, file=self.file, sheet=self.sheet, row=self.row, column=column)
            return Unset(name=name, hint=self._name(name), exc=cell)  # type: ignore[arg-type]
        return super().__getitem__(name)
