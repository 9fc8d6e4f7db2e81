"""The languages dispatch writes in: one registry, one entry per language.

Each :class:`Language` says everything the code needs about a language: its code, its
names, its Babel locale, how dates, times, ordinals and lists are written
(:class:`Formatting`), which typographic rules apply (``typography``: a rule set of
:mod:`dispatch.typography`), the labels the code writes itself (calendar, link list) and
the default salutation. Adding a language is a folder of templates (``templates/<code>/``)
and one :func:`register` call::

    register(Language(code="es", names={"es": "español", "en": "Spanish"}, ...))

Codes enter normalised (:func:`normalise`: trimmed, lower case) and are compared as they
are afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from markupsafe import Markup
from num2words import num2words

NBSP = "\u00a0"  # NO-BREAK SPACE


def _english_ordinal_words(n: int, gender: str) -> str:
    return str(num2words(n, lang="en", to="ordinal"))


def _english_ordinal(n: int, gender: str, html: bool) -> str:
    # 1st, 2nd, 3rd, but 11th, 12th, 13th (and 111th...). Circulars write them on the line.
    teen = n % 100 in (11, 12, 13)
    suffix = "th" if teen else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return Markup(f"{n}{suffix}") if html else f"{n}{suffix}"


def _french_ordinal(n: int, gender: str, html: bool) -> str:
    suffix = ("er" if gender == "m" else "re") if n == 1 else "e"
    return Markup(f"{n}<sup>{suffix}</sup>") if html else f"{n}{suffix}"


def _french_ordinal_words(n: int, gender: str) -> str:
    import re

    if n == 1:
        return "premier" if gender == "m" else "première"
    words = str(num2words(n, lang="fr", to="ordinal"))
    # num2words 0.5.14 keeps the plural "s": "quatre-vingtsième", "deux centsième".
    words = re.sub(r"(vingt|cent|million|milliard)sième", r"\1ième", words)
    if words in ("un millionième", "un milliardième"):
        words = words.removeprefix("un ")
    return words


def indicator_ordinal(n: int, gender: str, html: bool) -> str:
    """Ordinals with an ordinal indicator, as Spanish, Italian, Portuguese write them: 7.º, 7.ª."""
    text = f"{n}.{'º' if gender == 'm' else 'ª'}"
    return Markup(text) if html else text


@dataclass(frozen=True)
class Formatting:
    """How :mod:`dispatch.formatting` writes dates, times, numbers and lists in a language.

    Patterns are ``str.format`` templates; the date is built from its parts, so that the
    HTML form can put a superscript in ``1<sup>er</sup>``.
    """

    weekday_after: str = ", "  # between the weekday's name and the day: "Tuesday, 7"
    day_month: str = " "  # "7 December", "7 de diciembre"
    month_year: str = " "  # "December 2021", "diciembre de 2021"
    first_of_month: tuple[str, str] | None = None  # ("1er", "1<sup>er</sup>")
    date_article: str = ""  # "le " before a date in running text
    range_running: tuple[str, str] = ("from ", " to ")  # "from 6 to 16 June 2022"
    time: str = "{hour:02d}:{minute:02d}"
    time_range: str = "{first} to {last}"
    zone_time: str = "{place} time"  # "Geneva time"
    zone_time_elided: str | None = None  # before a vowel: "heure d’Addis-Abeba"
    deadline: str = "{date}, {clock} {zone}"
    deadline_labelled: str = "{date}, {clock} {zone}"  # the zone named by the mailing (EST)
    percent: str = "{number}%"
    amount: str = "{currency}" + NBSP + "{number}"
    conjunctions: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"and": "and", "or": "or"})
    )
    ordinal: Callable[[int, str, bool], str] = _english_ordinal  # (n, "m"/"f", html)
    ordinal_words: Callable[[int, str], str] = _english_ordinal_words  # (n, "m"/"f")


@dataclass(frozen=True)
class Labels:
    """Words the code writes itself, not the templates."""

    reference: str = "Ref."
    colon: str = ":"  # what follows a label: French puts a no-break space before it
    links_heading: str = "Links:"  # above the numbered links at the end of a text letter
    link: str = "Link"  # a link the calendar has no label for
    virtual_meeting: str = "Virtual meeting"
    calendar_links: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Language:
    """One language dispatch writes in: what every module needs to know about it."""

    code: str  # ISO 639-1, lower case: "fr"
    names: Mapping[str, str]  # its name in each language, its own first: {"fr": "français"}
    salutation: str  # when neither the addressee nor the mailing gives one
    locale: str = ""  # Babel's locale (default: the code)
    formatting: Formatting = Formatting()
    typography: str = "en"  # the rule set of dispatch.typography that applies
    labels: Labels = Labels()
    agrees_in_gender: bool = False  # the agree filter writes feminine forms

    def __post_init__(self) -> None:
        if self.code != normalise(self.code) or not self.code.isalpha():
            raise ValueError(f"a language code is a word in lower case, like fr, not {self.code!r}")
        if not self.locale:
            object.__setattr__(self, "locale", self.code)

    @property
    def name(self) -> str:
        """The language's name in itself: "français"."""
        return self.names.get(self.code, self.code)


def normalise(code: str) -> str:
    """A language code as the registry knows it: ``normalise(" FR ") == "fr"``."""
    return code.strip().lower()


class UnknownLanguage(ValueError):
    """A language code no :class:`Language` is registered for."""

    def __init__(self, code: str) -> None:
        self.code = code
        known = " or ".join(f'"{c}"' for c in codes())
        super().__init__(f"language {code!r} is not supported: use {known}")


_REGISTRY: dict[str, Language] = {}


def register(language: Language) -> Language:
    """Add ``language`` to the registry (or replace the entry of its code); returns it."""
    _REGISTRY[language.code] = language
    return language


def unregister(code: str) -> None:
    """Remove a language added by :func:`register` (tests; French and English stay)."""
    if code in _BUILT_IN:
        raise ValueError(f"{code!r} is built in and cannot be removed")
    _REGISTRY.pop(normalise(code), None)


def get(code: str) -> Language:
    """The registered language of ``code``; :class:`UnknownLanguage` if none.

    >>> get("fr").salutation
    'Madame, Monsieur,'
    """
    language = _REGISTRY.get(code)
    if language is None:
        raise UnknownLanguage(code)
    return language


def codes() -> tuple[str, ...]:
    """The registered codes, built-in ones first: ``("fr", "en", …)``."""
    return tuple(_REGISTRY)


def is_known(code: str) -> bool:
    return code in _REGISTRY


FRENCH = Language(
    code="fr",
    names=MappingProxyType({"fr": "français", "en": "French"}),
    salutation="Madame, Monsieur,",
    formatting=Formatting(
        weekday_after=" ",
        first_of_month=("1er", "1<sup>er</sup>"),
        date_article="le ",
        range_running=("du ", " au "),
        time="{hour}" + NBSP + "h" + NBSP + "{minute:02d}",
        time_range="de {first} à {last}",
        zone_time="heure de {place}",
        zone_time_elided="heure d’{place}",
        deadline="{date} à {clock}, {zone}",
        deadline_labelled="{date} à {clock} {zone}",
        percent="{number}" + NBSP + "%",
        amount="{number}" + NBSP + "{currency}",
        conjunctions=MappingProxyType({"and": "et", "or": "ou"}),
        ordinal=_french_ordinal,
        ordinal_words=_french_ordinal_words,
    ),
    typography="fr",
    labels=Labels(
        reference="Réf.",
        colon=NBSP + ":",
        links_heading="Liens :",
        link="Lien",
        virtual_meeting="Réunion virtuelle",
        calendar_links=MappingProxyType(
            {
                "web": "Site web",
                "website": "Site web",
                "page": "Site web",
                "registration": "Inscription",
                "register": "Inscription",
                "join": "Connexion",
                "meeting": "Connexion",
                "remote": "Connexion",
                "programme": "Programme",
                "program": "Programme",
                "agenda": "Ordre du jour",
                "event": "Site de la manifestation",
                "initiative": "Initiative",
                "documents": "Documents",
            }
        ),
    ),
    agrees_in_gender=True,
)

ENGLISH = Language(
    code="en",
    names=MappingProxyType({"en": "English", "fr": "anglais"}),
    salutation="Dear Sir/Madam,",
    labels=Labels(
        calendar_links=MappingProxyType(
            {
                "web": "Website",
                "website": "Website",
                "page": "Website",
                "registration": "Registration",
                "register": "Registration",
                "join": "Join",
                "meeting": "Join",
                "remote": "Join",
                "programme": "Programme",
                "program": "Programme",
                "agenda": "Agenda",
                "event": "Event website",
                "initiative": "Initiative",
                "documents": "Documents",
            }
        ),
    ),
)

_BUILT_IN = (FRENCH.code, ENGLISH.code)
register(FRENCH)
register(ENGLISH)
