"""Render the letters of a mailing: one :class:`Letter` per addressee, in their language.

The flow is one way: a validated :class:`~dispatch.mailing.Mailing` and the selected
:class:`~dispatch.contacts.Addressee` values go in, letters (subject, HTML, text) come out.
Nothing here writes files or sends anything.

Most letters of a mailing are identical but for the addressee (same language, same
salutation): a letter's text is rendered once per distinct *personal key* and reused,
so that the cost grows with the number of distinct letters rather than of addressees.
A template or mailing text that mentions ``addressee`` makes every letter personal.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import PurePosixPath
from typing import Any, TypeVar

from anyascii import anyascii
from babel import Locale
from markupsafe import Markup

from dispatch import languages
from dispatch.conditions import Conditions
from dispatch.contacts import CONTACTS_SHEET, Addressee, Contacts, lines_missing_for_letters
from dispatch.distinct import DistinctLetter
from dispatch.errors import Location, Problem, TemplateError
from dispatch.letterhead import letterhead_values
from dispatch.links import link_bare_urls
from dispatch.mailing import Mailing, Text, signatory_columns
from dispatch.markdown import link_list
from dispatch.personal import PersonalFile, check_files
from dispatch.placeholders import Namespace, Row, Unset, UnsetField
from dispatch.suggest import did_you_mean
from dispatch.templates import (
    LINKS,
    Output,
    TemplateSet,
    attributes_read,
    render,
)
from dispatch.typography import text_part, typeset, typeset_html

_PERSONAL = re.compile(r"\baddressee\b")
_AGREES = re.compile(r"\bagree\b")  # the agree filter reads the addressee's civility
# a text that brings in another template may read anything: never shared between letters
_BRINGS_IN = re.compile(r"\{%-?\s*(?:include|import|from|extends)\b")
_UNNAMED = re.compile(r"\s*Dear\s+(Sir|Madam|Sirs|Colleague|Colleagues|Member|Members)\b", re.I)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Letter:
    """One addressee's letter, ready to be written to files or put in a message."""

    addressee: Addressee
    distinct: DistinctLetter  # the rendering this letter shares with identical ones
    stem: str  # the file name without extension, unique within the mailing
    categories: tuple[str, ...]  # the mailing's categories this addressee is addressed in
    copy: bool  # addressed only in a copy (cc) category: the preview marks it
    paragraphs: tuple[str, ...] = ()  # the conditional paragraphs (body keys) it holds
    files: tuple[PersonalFile, ...] = ()  # the addressee's own files, attached to it alone

    @property
    def lang(self) -> str:
        return self.distinct.lang

    @property
    def subject(self) -> str:
        return self.distinct.subject

    @property
    def html(self) -> str:
        return self.distinct.html

    @property
    def text(self) -> str:
        return self.distinct.text


def _get(text: Text | None, lang: str, default: str | None = None) -> str | None:
    """A text in ``lang``; ``default`` when the mailing gives none, or gives it empty
    (``venue = { fr = "", en = "" }`` is unset: a letter never prints a blank for it)."""
    if text is None or not text.has(lang):
        return default
    value = text.get(lang)
    return value if value.strip() else default


def language_name(code: str, lang: str) -> str:
    """The name of a language in ``lang``: ``language_name("en", "fr") == "anglais"``.

    The registry's names first, else Babel's (an event's languages may be any).
    """
    if languages.is_known(code) and lang in languages.get(code).names:
        return languages.get(code).names[lang]
    locale = languages.get(lang).locale if languages.is_known(lang) else lang
    name = Locale.parse(locale).languages.get(code, code)
    return str(name)


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)  # organisations and references repeat across a workbook
def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe ASCII slug: ``slug("Ministère des Postes") == "ministere-des-postes"``.

    Transliterated by anyascii, so that every name keeps its letters: ``Œillet`` is
    ``oeillet`` (dropping what NFKD cannot decompose made it ``illet``), ``Ærø`` is
    ``aero``, ``Ørsted`` ``orsted``, ``Łódź`` ``lodz``, ``Дмитрий`` ``dmitriy``.
    """
    if not text.isascii():  # ASCII (most names) is as it is: no transliteration to do
        text = anyascii(unicodedata.normalize("NFC", text))
    out = _NOT_SLUG.sub("-", text.lower()).strip("-")
    return out[:limit].rstrip("-")


def shared_values(mailing: Mailing, contacts: Contacts, lang: str) -> dict[str, Any]:
    """The template context common to every letter in ``lang`` (see the README's table)."""
    cats = contacts.categories
    event = mailing.event
    event_ns: Namespace | None = None
    if event is not None:
        event_ns = Namespace(
            {
                "name": event.name.get(lang),
                "short_name": _get(event.short_name, lang, event.name.get(lang)),
                "kind": event.kind,
                "ordinal": event.ordinal,
                "start": event.start,
                "end": event.last_day,
                "start_time": event.start_time,
                "end_time": event.end_time,
                "zone": event.timezone,
                "zone_place": _get(event.timezone_place, lang),
                "virtual": event.virtual,
                "venue": _get(event.venue, lang),
                "city": _get(event.city, lang),
                "country": _get(event.country, lang),
                "languages": [language_name(code, lang) for code in event.languages],
                "links": Namespace(dict(event.links), "event.links"),
                "registration_deadline": event.registration_deadline,
                "registration_paragraph": event.registration_paragraph,
                "fee": _get(event.fee, lang),
                "zone_label": event.zone_label,
            },
            "event",
        )
    deadline_ns: Namespace | None = None
    if mailing.deadline is not None:
        d = mailing.deadline
        deadline_ns = Namespace(
            {
                "date": d.date,
                "time": d.time,
                "zone": d.timezone,
                "zone_place": _get(d.timezone_place, lang),
                "zone_label": d.zone_label,
            },
            "deadline",
        )
    contact = mailing.contact
    return {
        "lang": lang,
        "mailing": mailing,
        "reference": mailing.reference.get(lang),
        "date": mailing.date,
        "place": mailing.place.get(lang),
        "unit": mailing.unit.get(lang) if mailing.unit is not None else [],
        "letterhead": Namespace(letterhead_values(mailing.head, lang), "letterhead"),
        "contact": Namespace(
            {
                "name": _get(contact.name, lang),
                "phone": contact.phone,
                "fax": contact.fax,
                "email": contact.email,
            },
            "contact",
        ),
        "to": [cats[c.upper()].line(lang) for c in mailing.addressees.to if c.upper() in cats],
        "cc": [cats[c.upper()].line(lang) for c in mailing.addressees.cc if c.upper() in cats],
        # An [event] or [deadline] the mailing does not have: false in {% if event %},
        # an error naming it in {{ event.name }}.
        "event": Unset(name="event", hint="event", exc=UnsetField)
        if event_ns is None
        else event_ns,
        "deadline": Unset(name="deadline", hint="deadline", exc=UnsetField)
        if deadline_ns is None
        else deadline_ns,
        "to_heading": _get(mailing.addressees.heading, lang),
        "signatories": [
            Namespace(
                {
                    "name": s.name_in(lang),
                    "title": s.title.get(lang) if s.title else [],
                    "signed": s.is_signed,
                    "mention": s.mention_in(lang),
                },
                f"signatories[{i}]",
            )
            for i, s in enumerate(mailing.signatories)
        ],
        "layout": layout_values(mailing),
        "annexes": [
            Namespace(
                {
                    "number": i + 1,
                    "title": a.title.get(lang),
                    "file": a.file,
                    "page_title": a.page_title.get(lang) if a.page_title else [a.title.get(lang)],
                },
                f"annexes[{i}]",
            )
            for i, a in enumerate(mailing.annexes)
        ],
        "sender": Namespace(
            {"email": mailing.sender.email, "name": _get(mailing.sender.name, lang, "")},
            "sender",
        ),
        "closing": _get(mailing.closing, lang),
        # a free value written empty ("") is unset, as a cell left empty is
        "values": Namespace(
            {k: None if v == "" else v for k, v in mailing.values.items()}, "values"
        ),
        "numbered": mailing.numbered,
    }


def layout_values(mailing: Mailing) -> Namespace:
    """The mailing's ``[layout]`` choices, with the signatories' columns worked out."""
    layout = mailing.layout
    return Namespace(
        {
            "date_position": layout.date_position,
            "reference_label": layout.reference_label,
            "phone_label": layout.phone_label,
            "reference_bold": layout.reference_bold,
            "addressee_semicolons": layout.addressee_semicolons,
            "subject_label": layout.subject_label,
            "signatory_columns": layout.signatory_columns
            or signatory_columns(len(mailing.signatories)),
        },
        "layout",
    )


_FEMININE_CIVILITY = frozenset(
    {"mme", "madame", "mlle", "mademoiselle", "ms", "mrs", "miss", "madam", "dame", "lady"}
)


def is_feminine(person: Addressee) -> bool:
    """Whether French agrees with this addressee in the feminine (``agree`` filter).

    From the civility (``Mme``, ``S.E. Mme``, ``Ms``…), else from the addressee's own
    salutation (``Madame la Directrice,``); an institution ("Madame, Monsieur") is not.
    """
    words = re.findall(r"[^\W\d_]+", person.civility.lower())
    if words:
        return any(w in _FEMININE_CIVILITY for w in words)
    said = re.findall(r"[^\W\d_]+", person.salutation.lower())
    return (
        bool(said)
        and said[0] in ("madame", "chère", "dear")
        and "monsieur" not in said
        and (said[0] != "dear" or (len(said) > 1 and said[1] in _FEMININE_CIVILITY))
    )


def addressee_values(person: Addressee, contacts: Contacts | None = None) -> Namespace:
    """``addressee`` in a letter: the row's known columns and its own (``extra``) ones.

    An empty cell is unset: a letter may test it (``{% if addressee.country %}``) or say
    what to print instead (``| default("")``); printing it is an error naming the cell.
    """
    return Row(
        {
            "feminine": is_feminine(person),
            "email": person.email,
            "civility": person.civility or None,
            "first_name": person.first_name or None,
            "last_name": person.last_name or None,
            "full_name": person.full_name or None,
            "function": person.function or None,
            "organisation": person.organisation or None,
            "country": person.country or None,
            "categories": list(person.categories),
            "language": person.language,
            **person.extra,
        },
        "addressee",
        file=contacts.path if contacts is not None else None,
        sheet=CONTACTS_SHEET,
        row=person.row,
        headers=contacts.headers if contacts is not None else {},
    )


def _workbook_values(person: Addressee) -> list[str]:
    """The addressee's cells that a letter may print (none of them becomes a link)."""
    return [
        person.civility,
        person.first_name,
        person.last_name,
        person.function,
        person.organisation,
        person.country,
        person.salutation,
        person.email,
    ]


def salutation_of(mailing: Mailing, person: Addressee, lang: str) -> str:
    """The letter's salutation: the addressee's own, else the mailing's, else the default."""
    if person.salutation:
        text = person.salutation
        return text if text.endswith((",", ":")) else text + ","
    return _get(mailing.salutation, lang) or languages.get(lang).salutation


def names_a_person(salutation: str) -> bool:
    """Whether a salutation names someone (``Dear Dr Solberg``), not ``Dear Sir/Madam``."""
    return not _UNNAMED.match(salutation)


def yours(salutation: str) -> str:
    """The English complimentary close that agrees with ``salutation``: ``Yours
    faithfully`` to ``Dear Sir/Madam``, ``Yours sincerely`` to a named person.

    >>> yours("Dear Dr Solberg,"), yours("Dear Sir/Madam,")
    ('Yours sincerely', 'Yours faithfully')
    """
    return "Yours sincerely" if names_a_person(salutation) else "Yours faithfully"


def high_consideration(mailing: Mailing, person: Addressee) -> bool:
    """Whether the closing owes this addressee ``haute considération``: a word of the
    mailing's ``consideration.high`` (ministers, ambassadors, excellencies by default) in
    their civility, function or salutation (``consideration.columns``)."""
    said = " ".join(str(getattr(person, column)) for column in mailing.consideration.columns)
    pattern = _words_pattern(tuple(mailing.consideration.high))
    return bool(said.strip()) and pattern is not None and pattern.search(said) is not None


@lru_cache(maxsize=16)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for whole words, any case (compiled once per mailing, not per row)."""
    alternatives = "|".join(re.escape(w.strip()) for w in words if w.strip())
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if alternatives else None


class SharedParagraphs:
    """Body paragraphs made once for every letter alike in what they may read.

    A text that does not read the addressee is the same for every letter alike in what it
    may read otherwise (language, salutation, agreement, closing degree, subject, and the
    links numbered before it): made once for them (see :meth:`key`), its numbered links
    replayed for each letter.
    """

    def __init__(self, make: Callable[[str, str, Output, str, Mapping[str, Any]], Any]) -> None:
        self._make = make
        self._kept: dict[tuple[Any, ...], tuple[str, tuple[str, ...] | None]] = {}

    def __call__(
        self, source: str, lang: str, output: Output, field_name: str, context: Mapping[str, Any]
    ) -> str | Markup:
        """A Markdown text of the mailing file, its placeholders filled, as HTML or text."""
        key = self.key(source, lang, output, field_name, context)
        if key is None:
            made: str | Markup = self._make(source, lang, output, field_name, context)
            return made
        links = context.get(LINKS)
        kept = self._kept.get(key)
        if kept is None:
            made = self._make(source, lang, output, field_name, context)
            after = tuple(links) if isinstance(links, list) else None
            self._kept[key] = kept = (str(made), after)
        elif isinstance(links, list) and kept[1] is not None:
            links[:] = kept[1]  # the links this text numbered, as if it had been made again
        return Markup(kept[0]) if output == "html" else kept[0]

    @staticmethod
    def key(
        source: str, lang: str, output: Output, field_name: str, context: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """What a text depends on, or None to always make it.

        A body paragraph sees the context common to the language (shared by every
        letter), the values that follow from the salutation and civility, and the subject;
        the addressee only by name (``addressee``, or the ``agree`` filter, whose
        agreement is in the key). Texts rendered after the body (closing, annexes) may
        print the body, so they are always made.
        """
        if (
            not field_name.startswith("body.")
            or _PERSONAL.search(source)
            or _BRINGS_IN.search(source)
        ):
            return None
        person = context.get("addressee")
        links = context.get(LINKS)
        return (
            source,
            lang,
            output,
            field_name,
            context.get("salutation"),
            getattr(person, "feminine", None),
            context.get("high_consideration"),
            context.get("subject"),
            tuple(links) if isinstance(links, list) else None,
        )


class Renderer:
    """Renders the letters of one mailing with one template set; reuses identical letters."""

    def __init__(self, mailing: Mailing, contacts: Contacts, templates: TemplateSet) -> None:
        self.mailing = mailing
        self.contacts = contacts
        self.templates = templates
        self._shared: dict[str, dict[str, Any]] = {}
        # the distinct letters by what they are rendered from (language, salutation…)
        self._distinct: dict[tuple[Any, ...], DistinctLetter] = {}
        # the problems of a letter that failed, by key: its rows share them
        self._failed: dict[tuple[Any, ...], list[Problem]] = {}
        # the conditional paragraphs each distinct letter holds, by key
        self._paragraphs: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self.conditions = Conditions(mailing, templates)
        self.personal = self._mentions_addressee()
        # the addressee's values the letters read: letters alike in them are rendered once
        self.fields: tuple[str, ...] | None = self._addressee_fields() if self.personal else ()
        self.agrees = self._agrees()
        self.renders = 0  # distinct letters actually rendered
        self._to = frozenset(c.upper() for c in mailing.addressees.to)
        self._cc = frozenset(c.upper() for c in mailing.addressees.cc)
        # compiled mailing texts, by (source, lang, output, markdown): looked up once here
        # rather than through the template set's lookup (which resolves its folder each time)
        self._compiled: dict[tuple[str, str, str, bool], Any] = {}
        # when every letter is distinct (a personal column), the paragraphs that do not
        # read the addressee are not filled and converted from Markdown for each letter
        self._block = SharedParagraphs(self._make_block)

    def _texts(self) -> list[str]:
        texts: list[str] = []
        for lang in self.mailing.languages:
            folder = self.templates.root / lang
            texts += [p.read_text(encoding="utf-8") for p in folder.glob("*") if p.is_file()]
            texts.append(self.mailing.subject.get(lang))
            texts += [t.get(lang) for t in self.mailing.body.values() if t.has(lang)]
            texts += [f"{{{{ {t.when} }}}}" for t in self.mailing.body.values() if t.when]
            for text in (self.mailing.closing, *(a.content for a in self.mailing.annexes)):
                if text is not None and text.has(lang):
                    texts.append(text.get(lang))
        return texts

    def _mentions_addressee(self) -> bool:
        return any(_PERSONAL.search(t) for t in self._texts())

    def _addressee_fields(self) -> tuple[str, ...] | None:
        """The addressee's values the letters read, or None if they may read any."""
        env = self.templates.environment(self.mailing.languages[0], "text")
        found: set[str] = set()
        for text in self._texts():
            if not _PERSONAL.search(text):
                continue
            read = attributes_read(env, text, "addressee")
            if read is None:
                return None
            found |= read
        return tuple(sorted(found))

    def _agrees(self) -> bool:
        return any(_AGREES.search(t) for t in self._texts())

    def shared(self, lang: str) -> dict[str, Any]:
        if lang not in self._shared:
            self._shared[lang] = shared_values(self.mailing, self.contacts, lang)
        return self._shared[lang]

    def salutation(self, person: Addressee, lang: str) -> str:
        return salutation_of(self.mailing, person, lang)

    def _inline(
        self,
        source: str,
        lang: str,
        output: Output,
        field_name: str,
        context: Mapping[str, Any],
        *,
        markdown: bool = False,
    ) -> str:
        where = Location(file=self.mailing.path, field=f"{field_name}.{lang}")
        compiled = (source, lang, output, markdown)
        template = self._compiled.get(compiled)
        if template is None:
            template = self.templates.inline(source, lang, output, where, markdown=markdown)
            self._compiled[compiled] = template
        try:
            return render(template, context, where)
        except TemplateError as exc:
            raise TemplateError(
                [p if p.where.sheet else Problem(where, p.message, p.hint) for p in exc.problems]
            ) from None

    def _make_block(
        self, source: str, lang: str, output: Output, field_name: str, context: Mapping[str, Any]
    ) -> str | Markup:
        # markdown=True: a value from the workbook cannot turn into a link or an image.
        filled = self._inline(source, lang, output, field_name, context, markdown=True)
        rendered = self._inline(
            "{{ source | markdown }}", lang, output, field_name, {**context, "source": filled}
        )
        return Markup(rendered) if output == "html" else rendered

    def _render(self, person: Addressee, lang: str) -> tuple[DistinctLetter, tuple[str, ...]]:
        """One letter, and the conditional paragraphs it holds; every problem of its texts
        is collected before one error is raised."""
        problems: list[Problem] = []

        def attempt(make: Callable[[], _T], fallback: _T) -> _T:
            try:
                return make()
            except TemplateError as exc:
                problems.extend(p for p in exc.problems if p not in problems)
                return fallback

        salutation = self.salutation(person, lang)
        base: dict[str, Any] = dict(self.shared(lang))
        base["addressee"] = addressee_values(person, self.contacts)
        base["salutation"] = salutation
        # The closing formula repeats the salutation without its final comma.
        base["salutation_in_closing"] = salutation.rstrip(",:").strip()
        # "Dear Sir/Madam," is closed "Yours faithfully,", a named salutation "Yours sincerely,".
        base["named_salutation"] = names_a_person(salutation)
        # For a closing written in the mailing: "{{ yours }}," follows the same rule.
        base["yours"] = yours(salutation)
        # The degree of the French closing: "haute considération" to a minister…
        high = high_consideration(self.mailing, person)
        base["high_consideration"] = high
        base["consideration"] = languages.get(lang).degrees.get("high" if high else "usual", "")
        subject_text = attempt(
            lambda: self._inline(
                self.mailing.subject.get(lang), lang, "text", "subject", dict(base, output="text")
            ),
            "",
        )
        subject = typeset(" ".join(subject_text.split()), lang)
        base["subject"] = subject
        nothing: tuple[str, ...] = ()
        included = attempt(
            partial(self.conditions.included, lang, dict(base, output="text")), nothing
        )
        results: dict[Output, str] = {}
        output: Output
        for output in ("text", "html"):
            links: list[str] = []
            context = dict(base, output=output)
            context[LINKS] = links
            context["body"] = [
                attempt(
                    partial(self._block, text.get(lang), lang, output, f"body.{key}", context), ""
                )
                for key, text in self.mailing.body.items()
                if not text.when or key in included
            ]
            if self.mailing.closing is not None and self.mailing.closing.has(lang):
                # The closing formula is a template of its own, checked like a paragraph.
                closing = attempt(
                    partial(
                        self._inline,
                        self.mailing.closing.get(lang),
                        lang,
                        output,
                        "closing",
                        context,
                    ),
                    "",
                )
                context["closing"] = Markup(closing) if output == "html" else closing
            context["annexes"] = [
                Namespace(
                    dict(
                        annex.values,
                        content=attempt(
                            partial(
                                self._block,
                                source.content.get(lang),
                                lang,
                                output,
                                f"annexes[{i}].content",
                                context,
                            ),
                            "",
                        )
                        if source.content is not None
                        else None,
                    ),
                    f"annexes[{i}]",
                )
                for i, (annex, source) in enumerate(
                    zip(base["annexes"], self.mailing.annexes, strict=True)
                )
            ]
            context["annexes"] += own_annexes(person, len(context["annexes"]))
            if problems:
                continue  # the letter would show the broken texts: report them instead
            template = self.templates.letter(self.mailing.template, lang, output)
            rendered_letter = render(template, context)
            if output == "html":
                # The workbook's values stay text: an address in a cell is not linked.
                linked = link_bare_urls(rendered_letter, _workbook_values(person))
                results[output] = typeset_html(linked, lang)
            else:
                results[output] = typeset(rendered_letter, lang)
                if links:  # the addresses of the text's numbered links, at its end
                    tail = typeset(link_list(links, lang), lang)
                    results[output] = results[output].rstrip("\n") + "\n\n\n" + tail + "\n"
                results[output] = text_part(results[output], lang)  # RTL: isolates
        if problems:
            raise TemplateError(problems)
        self.renders += 1
        return DistinctLetter(lang, subject, str(results["html"]), results["text"]), included

    def letter(self, person: Addressee, stem: str) -> Letter:
        lang = (
            person.language
            if person.language in self.mailing.languages
            else (self.mailing.languages[0])
        )
        files: tuple[PersonalFile, ...] = ()
        file_problems: list[Problem] = []
        try:
            files = personal_files(self, person, lang)
        except TemplateError as exc:
            file_problems = exc.problems
        key = self._key(person, lang)
        distinct = self._distinct.get(key)
        if distinct is None:
            failed = self._failed.get(key)
            if failed is not None:  # the same letter failed for another row: name this one
                raise TemplateError(
                    [
                        replace(p, where=replace(p.where, row=person.row)) if p.where.sheet else p
                        for p in failed
                    ]
                    + file_problems
                )
            try:
                distinct, self._paragraphs[key] = self._render(person, lang)
                self._distinct[key] = distinct
            except TemplateError as exc:
                self._failed[key] = exc.problems
                raise TemplateError(exc.problems + file_problems) from None
        if file_problems:
            raise TemplateError(file_problems)
        to, cc = self._to, self._cc
        mine = tuple(c for c in person.categories if c in to or c in cc)
        return Letter(
            addressee=person,
            distinct=distinct,
            stem=stem,
            categories=mine,
            copy=not any(c in to for c in mine),
            paragraphs=self._paragraphs[key],
            files=files,
        )

    def own_file_names(
        self, person: Addressee, lang: str, problems: list[Problem]
    ) -> list[tuple[str, str, int | None]]:
        """The names of the addressee's own files, unchecked: (name, what names it, the
        per-addressee annex it fills or None); a pattern that fails adds to ``problems``."""
        names: list[tuple[str, str, int | None]] = [
            (name, "the attachments column", None) for name in person.attachments
        ]
        for i, annex in enumerate(self.mailing.annexes):
            if not (annex.per_addressee and annex.file):
                continue
            context = dict(self.shared(lang), addressee=addressee_values(person, self.contacts))
            try:
                name = self._inline(annex.file, lang, "text", f"annexes[{i}].file", context)
            except TemplateError as exc:
                problems += exc.problems
                continue
            names.append((name.strip(), f"annexes[{i}].file of {self.mailing.path.name}", i))
        return names

    def _key(self, person: Addressee, lang: str) -> tuple[Any, ...]:
        """What a letter is rendered from: letters with the same key are the same letter.

        The language, the salutation and what follows from the addressee's civility, and
        exactly the addressee's values the letters read (all of them, when a template
        uses ``addressee`` otherwise than by its fields).
        """
        if self.fields is None:
            return (person.key,)
        key: tuple[Any, ...] = (lang, self.salutation(person, lang), person.attachments)
        if self.agrees:
            key += (is_feminine(person),)
        key += (high_consideration(self.mailing, person),)
        if self.fields:
            values = addressee_values(person).values
            key += tuple(_hashable(values.get(name)) for name in self.fields)
        return key


def personal_files(renderer: Renderer, person: Addressee, lang: str) -> tuple[PersonalFile, ...]:
    """The addressee's own files (``attachments`` column, per-addressee annexes),
    checked; a :class:`TemplateError` naming the row for each one that is wrong."""
    row = Location(
        file=renderer.contacts.path,
        sheet=CONTACTS_SHEET,
        row=person.row,
        column=renderer.contacts.headers.get("attachments", "attachments"),
    )
    problems: list[Problem] = []
    names = renderer.own_file_names(person, lang, problems)
    found = check_files(renderer.mailing.folder, names, row, renderer.mailing.max_message_mb)
    problems += [p for p in found if isinstance(p, Problem)]
    if problems:
        raise TemplateError(problems)
    return tuple(f for f in found if isinstance(f, PersonalFile))


def own_annexes(person: Addressee, before: int) -> list[Namespace]:
    """The files of the addressee's ``attachments`` column as annexes of their letter,
    numbered after the mailing's ``before`` annexes, each titled by its file name."""
    out = []
    for i, name in enumerate(person.attachments):
        title = PurePosixPath(name.replace("\\", "/")).name
        number = before + i + 1
        out.append(
            Namespace(
                {
                    "number": number,
                    "title": title,
                    "file": name,
                    "page_title": [title],
                    "content": None,
                },
                f"annexes[{number - 1}]",
            )
        )
    return out


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def file_stems(mailing: Mailing, people: Sequence[Addressee]) -> list[str]:
    """One file-name stem per addressee: reference, language, organisation and name.

    ``circulaire-tsb-352_fr_ministere-des-postes_jean-dupont``; when two addressees
    would share a name, their e-mail address is added to both, so that names stay stable.
    """
    stems = []
    for person in people:
        lang = person.language
        ref = (
            slug(mailing.reference.get(lang) if mailing.reference.has(lang) else mailing.name, 30)
            or "letter"
        )
        who = "_".join(p for p in (slug(person.organisation), slug(person.full_name)) if p)
        stems.append(f"{ref}_{lang}_{who or slug(person.email.split('@')[0]) or 'addressee'}")
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    named = [
        stem if counts[stem] == 1 else f"{stem}_{slug(person.email, 60)}"
        for stem, person in zip(stems, people, strict=True)
    ]
    # Addresses that differ only in punctuation or accents, or beyond 60 characters, still
    # give one name: a short digest of the address tells them apart (one file each).
    taken: set[str] = set()
    unique = []
    for stem, person in zip(named, people, strict=True):
        digest = hashlib.sha256(person.key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        candidate, n = stem, 1
        while candidate in taken:
            candidate = f"{stem}_{digest}" + (f"-{n}" if n > 1 else "")
            n += 1
        taken.add(candidate)
        unique.append(candidate)
    return unique


def language_problems(
    mailing: Mailing, contacts: Contacts, people: Iterable[Addressee]
) -> list[Problem]:
    """Addressees whose language the mailing is not written in, and unknown categories."""
    people = list(people)
    sides = {"to": mailing.addressees.to, "cc": mailing.addressees.cc}
    read = {p.language for p in people if p.language in mailing.languages}
    problems = lines_missing_for_letters(contacts, sides, read)
    for person in people:
        if person.language not in mailing.languages:
            problems.append(
                Problem(
                    Location(
                        file=contacts.path, sheet="Contacts", row=person.row, column="language"
                    ),
                    f"is not a language of this mailing ({', '.join(mailing.languages)})",
                    f"Add {person.language!r} to languages in {mailing.path.name} with its texts, "
                    "or change the addressee's language."
                    + did_you_mean(person.language, mailing.languages),
                    value=person.language,
                )
            )
    for side in ("to", "cc"):
        for i, code in enumerate(getattr(mailing.addressees, side)):
            if code.upper() not in contacts.categories:
                known = ", ".join(contacts.categories) or "none"
                problems.append(
                    Problem(
                        Location(file=mailing.path, field=f"addressees.{side}[{i}]"),
                        f"is not a category of the workbook {contacts.path.name} (codes: {known})",
                        "Correct the code, or add it to the Categories sheet."
                        + did_you_mean(code, contacts.categories),
                        value=code,
                    )
                )
    return problems
