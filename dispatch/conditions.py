"""Paragraphs for some addressees: the ``when`` of a mailing's body paragraphs.

``[body.visa] when = "addressee.visa_required"`` leaves the paragraph out of the letters
whose addressee it is false for. A condition is an expression of the templates' sandbox
(:mod:`dispatch.templates`), compiled once per language and evaluated for each letter
with the letter's values; its mistakes are reported with the paragraph's field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import jinja2

from dispatch.errors import Location, Problem, TemplateError
from dispatch.mailing import Mailing
from dispatch.templates import TemplateSet, render_problem

__all__ = ["Conditions"]


class Conditions:
    """The ``when`` of a mailing's body paragraphs: compiled once per language in the
    templates' sandbox, evaluated for each letter."""

    def __init__(self, mailing: Mailing, templates: TemplateSet) -> None:
        self.mailing = mailing
        self.templates = templates
        self._compiled: dict[tuple[str, str], Callable[..., Any]] = {}

    def compiled(self, key: str, lang: str) -> Callable[..., Any]:
        """The compiled ``when`` of the paragraph ``body.<key>``."""
        compiled = self._compiled.get((key, lang))
        if compiled is None:
            source = self.mailing.body[key].when or "true"
            env = self.templates.environment(lang, "text")
            try:
                compiled = env.compile_expression(source, undefined_to_none=False)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(
                    [
                        Problem(
                            Location(file=self.mailing.path, field=f"body.{key}.when"),
                            f"is not a valid condition: {exc.message}",
                            "Write a condition on the addressee, e.g. "
                            'when = "addressee.visa_required" or '
                            "when = \"'MS' in addressee.categories\".",
                            value=source,
                        )
                    ]
                ) from None
            self._compiled[(key, lang)] = compiled
        return compiled

    def included(self, lang: str, context: Mapping[str, Any]) -> tuple[str, ...]:
        """The conditional paragraphs whose ``when`` holds for this letter's addressee."""
        out: list[str] = []
        problems: list[Problem] = []
        for key, paragraph in self.mailing.body.items():
            if not paragraph.when:
                continue
            where = Location(file=self.mailing.path, field=f"body.{key}.when")
            try:
                if self.compiled(key, lang)(**context):
                    out.append(key)
            except TemplateError as exc:
                problems += exc.problems
            except Exception as exc:  # noqa: BLE001 - the condition's error is the mailing's
                problem = render_problem(None, exc, context.keys(), where)
                problems.append(problem if problem.where.sheet else replace(problem, where=where))
        if problems:
            raise TemplateError(problems)
        return tuple(out)
