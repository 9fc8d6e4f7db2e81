"""The languages dispatch writes in: one registry, filled from language definition files.

A language is a folder of templates (``templates/<code>/``) holding its letters and one
file, ``language.toml``, that says everything the code needs about it: its names, its
Babel locale, how dates, times, ordinals and lists are written (:class:`Formatting`),
its typographic rules (:class:`TypographyRules`), line breaking, fonts and writing
direction, the labels the code writes itself (calendar, link list), the default salutation
and closing, and whether words agree with the addressee (``agree``). Adding a language
needs no code: a template folder with its ``language.toml`` (the README's "Languages"
section documents the keys), in dispatch's templates or in a mailing's own.

The languages of dispatch's own templates folder are read on first use; a mailing's
templates folder adds its own (:func:`load_folder`). :func:`parse` validates a file and
raises :class:`LanguageFileError` with every problem, each naming its key.

Codes enter normalised (:func:`normalise`: trimmed, lower case) and are compared as they
are afterwards.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from markupsafe import Markup

from dispatch.resources import TEMPLATES

NBSP = "\u00a0"  # NO-BREAK SPACE
FILE_NAME = "language.toml"


# ---------------------------------------------------------------------------------------
# Ordinals: the styles a language file may name.


def _english_ordinal(n: int, gender: str, html: bool) -> str:
    # 1st, 2nd, 3rd, but 11th, 12th, 13th (and 111th...). Circulars write them on the line.
    teen = n % 100 in (11, 12, 13)
    suffix = "th" if teen else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return Markup(f"{n}{suffix}") if html else f"{n}{suffix}"


def _french_ordinal(n: int, gender: str, html: bool) -> str:
    suffix = ("er" if gender == "m" else "re") if n == 1 else "e"
    return Markup(f"{n}<sup>{suffix}</sup>") if html else f"{n}{suffix}"


def indicator_ordinal(n: int, gender: str, html: bool) -> str:
    """Ordinals with an ordinal indicator, as Spanish, Italian, Portuguese write them: 7.º, 7.ª."""
    text = f"{n}.{'º' if gender == 'm' else 'ª'}"
    return Markup(text) if html else text


def _pattern_ordinal(masculine: str, feminine: str) -> Callable[[int, str, bool], str]:
    def ordinal(n: int, gender: str, html: bool) -> str:
        text = (masculine if gender == "m" else feminine).format(n=n)
        return Markup(text) if html else text

    return ordinal


def _num2words_ordinal(words_lang: str) -> Callable[[int, str], str]:
    def words(n: int, gender: str) -> str:
        from num2words import num2words

        try:
            return str(num2words(n, lang=words_lang, to="ordinal"))
        except NotImplementedError:
            raise ValueError(f"num2words has no ordinals in words for {words_lang!r}") from None

    return words


def _french_ordinal_words(n: int, gender: str) -> str:
    from num2words import num2words

    if n == 1:
        return "premier" if gender == "m" else "première"
    words = str(num2words(n, lang="fr", to="ordinal"))  # language-literal: the style is French
    # num2words 0.5.14 keeps the plural "s": "quatre-vingtsième", "deux centsième".
    words = re.sub(r"(vingt|cent|million|milliard)sième", r"\1ième", words)
    if words in ("un millionième", "un milliardième"):
        words = words.removeprefix("un ")
    return words


#: ``[ordinals] style`` of a language file: how a number becomes an ordinal in figures.
ORDINAL_STYLES: Mapping[str, Callable[[int, str, bool], str]] = MappingProxyType(
    {"english": _english_ordinal, "french": _french_ordinal, "indicator": indicator_ordinal}
)


def _no_ordinal_words(n: int, gender: str) -> str:
    raise ValueError("this language has no ordinals in words (its language file names none)")


@dataclass(frozen=True)
class Formatting:
    """How :mod:`dispatch.formatting` writes dates, times, numbers and lists in a language.

    Patterns are ``str.format`` templates; the date is built from its parts, so that the
    HTML form can put a superscript in ``1<sup>er</sup>``. ``dates = "cldr"`` writes dates
    as Unicode CLDR's long format does (through Babel: ``7 декабря 2021 г.``,
    ``2021年12月7日``), ranges with ``range_running``/``range_compact`` around CLDR's parts.
    """

    dates: str = "letter"  # "letter": from the parts below; "cldr": CLDR's long date
    weekday_after: str = ", "  # between the weekday's name and the day: "Tuesday, 7"
    day_month: str = " "  # "7 December", "7 de diciembre"
    month_year: str = " "  # "December 2021", "diciembre de 2021"
    first_of_month: tuple[str, str] | None = None  # ("1er", "1<sup>er</sup>")
    date_article: str = ""  # "le " before a date in running text
    place_date: str = "{place}, {date}"  # "Genève, le 13 octobre 2021"; "日内瓦，2021年10月13日"
    range_running: tuple[str, str] = ("from ", " to ")  # "from 6 to 16 June 2022"
    range_big_endian: bool = False  # "2022年6月6日至16日": the start whole, the end reduced
    time: str = "{hour:02d}:{minute:02d}"
    time_range: str = "{first} to {last}"
    time_range_zone: str = "{range} ({zone})"  # "10:00 to 15:30 (Geneva time)"
    zone_time: str = "{place} time"  # "Geneva time"
    zone_time_elided: str | None = None  # before a vowel: "heure d’Addis-Abeba"
    zone_places: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    deadline: str = "{date}, {clock} {zone}"
    deadline_labelled: str = "{date}, {clock} {zone}"  # the zone named by the mailing (EST)
    percent: str = "{number}%"
    amount: str = "{currency}" + NBSP + "{number}"
    digits: str = "latn"  # "arab": Arabic-Indic digits (٠١٢…) in dates and numbers
    list_separator: str = ", "  # "A, B and C"; Chinese "A、B和C"
    conjunctions: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"and": "and", "or": "or"})
    )
    attached: tuple[str, ...] = ()  # conjunctions joined to the next word: Arabic "B وC"
    ordinal: Callable[[int, str, bool], str] = _english_ordinal  # (n, "m"/"f", html)
    ordinal_words: Callable[[int, str], str] = _no_ordinal_words  # (n, "m"/"f")


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
class TypographyRules:
    """The micro-typography of a language, as :mod:`dispatch.typography` applies it.

    ``spacing = "french"`` adds the French rules (no-break spaces before ``: ; ! ?`` and
    inside ``« »``, ``23 h 59``, ``76e``, ``n° 5``, grouped thousands); ``"none"`` has no
    space before marks. ``punctuation`` maps ASCII marks typed after a letter of
    ``script`` to the language's own (Arabic ``,`` → ``،``; Chinese ``,`` → ``，``).
    """

    spacing: str = "none"  # "french" or "none"
    quotes: tuple[str, str, str, str] = ("“", "”", "‘", "’")  # outer and inner pairs
    elided_years: bool = False  # English "the ’90s", "’21"
    no_break_before_dash: bool = False  # Russian "слово — слово": the dash never starts a line
    script: str = ""  # a regular expression class of the language's letters: "\u0600-\u06ff"
    punctuation: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    no_space_between_letters: bool = False  # Chinese: no space between two Chinese characters


@dataclass(frozen=True)
class Language:
    """One language dispatch writes in: what every module needs to know about it."""

    code: str  # ISO 639-1, lower case: "fr"
    names: Mapping[str, str]  # its name in each language, its own first
    salutation: str  # when neither the addressee nor the mailing gives one
    locale: str = ""  # Babel's locale (default: the code)
    closing: str = ""  # the closing formula when the mailing gives none ("" : the template's)
    # the closing's degrees, {{ consideration }}: "high" to a minister, "usual" to the others
    degrees: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    formatting: Formatting = Formatting()
    typography: TypographyRules = TypographyRules()
    labels: Labels = Labels()
    agree: str | None = None  # the agreement rule of the agree filter: "french", or none
    direction: str = "ltr"  # "rtl": written right to left
    line_breaking: str = "western"  # "cjk": breaks between characters, justified lines
    fonts: tuple[str, ...] = ()  # font families, first choice first (print.css has a fallback)
    aliases: tuple[str, ...] = ()  # other spellings of its name a workbook may hold
    by_default: bool = False  # a mailing that names no languages writes in it
    source: Path | None = None  # the language file it was read from

    def __post_init__(self) -> None:
        if self.code != normalise(self.code) or not self.code.isalpha():
            raise ValueError(f"a language code is a word in lower case, like fr, not {self.code!r}")
        if not self.locale:
            object.__setattr__(self, "locale", self.code)

    @property
    def name(self) -> str:
        """The language's name in itself: "français"."""
        return self.names.get(self.code, self.code)

    @property
    def agrees_in_gender(self) -> bool:
        return self.agree is not None


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
_BUILT_IN: list[str] = []
_BUILT_IN_SOURCES: dict[str, Path | None] = {}  # the file each built-in language came from
_LOADED = False


def bundled_folder() -> Path:
    """dispatch's own templates folder, whose languages are the built-in ones."""
    return TEMPLATES


def _ensure_loaded() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for language in load_folder(bundled_folder(), replace=False):
        _BUILT_IN.append(language.code)
        _BUILT_IN_SOURCES[language.code] = language.source


def register(language: Language) -> Language:
    """Add ``language`` to the registry (or replace the entry of its code); returns it."""
    _ensure_loaded()
    _REGISTRY[language.code] = language
    return language


def unregister(code: str) -> None:
    """Remove a language added by :func:`register` (tests; the built-in ones stay)."""
    _ensure_loaded()
    if code in _BUILT_IN:
        raise ValueError(f"{code!r} is built in and cannot be removed")
    _REGISTRY.pop(normalise(code), None)


def get(code: str) -> Language:
    """The registered language of ``code``; :class:`UnknownLanguage` if none.

    >>> get("fr").salutation
    'Madame, Monsieur,'
    """
    _ensure_loaded()
    language = _REGISTRY.get(code)
    if language is None:
        raise UnknownLanguage(code)
    return language


def codes() -> tuple[str, ...]:
    """The registered codes, dispatch's own first, in the order of its templates folder."""
    _ensure_loaded()
    return tuple(_REGISTRY)


def is_known(code: str) -> bool:
    _ensure_loaded()
    return code in _REGISTRY


def built_in() -> tuple[str, ...]:
    """The codes of dispatch's own templates folder."""
    _ensure_loaded()
    return tuple(_BUILT_IN)


def defaults() -> tuple[str, ...]:
    """The languages of a mailing that names none: those whose file says ``default = true``."""
    _ensure_loaded()
    return tuple(code for code, language in _REGISTRY.items() if language.by_default)


def default() -> Language:
    """The language of a label when a text names none: the first of dispatch's own."""
    return get(built_in()[0]) if built_in() else next(iter(_REGISTRY.values()))


def added_files() -> tuple[Path, ...]:
    """The files of the registered languages that are not dispatch's own (a mailing's
    templates folder): what another process loads (:func:`load_files`) to have this
    process's registry, as the PDF workers of ``--jobs`` do."""
    _ensure_loaded()
    return tuple(
        language.source
        for code, language in _REGISTRY.items()
        if language.source is not None and language.source != _BUILT_IN_SOURCES.get(code)
    )


def load_files(files: Iterable[Path]) -> None:
    """Register the language of each file (from :func:`added_files` of another process),
    in order, over dispatch's own of the same code; :class:`LanguageFileError` if one
    cannot be used."""
    _ensure_loaded()
    for path in files:
        _, language = _parsed(path)
        _REGISTRY[language.code] = language


def _folded(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def resolve(name: str) -> str | None:
    """The code of a language named by its code or one of its names, in any case and with
    or without accents: ``resolve("Árabe") == resolve("arabic") == "ar"``; None if none."""
    _ensure_loaded()
    wanted = _folded(name)
    for language in _REGISTRY.values():
        spellings = (language.code, *language.names.values(), *language.aliases)
        if any(_folded(s) == wanted for s in spellings):
            return language.code
    return None


def suggest(name: str) -> str | None:
    """The registered code or name closest to a misspelt one, for "did you mean"."""
    _ensure_loaded()
    spellings = {
        _folded(s): language.code
        for language in _REGISTRY.values()
        for s in (language.code, *language.names.values(), *language.aliases)
    }
    close = difflib.get_close_matches(_folded(name), list(spellings), n=1, cutoff=0.7)
    return spellings[close[0]] if close else None


# ---------------------------------------------------------------------------------------
# Language definition files


class LanguageFileError(ValueError):
    """A language file that cannot be used: every problem, as (file, key, message, value)."""

    def __init__(self, problems: list[tuple[Path, str, str, Any]]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(f"{first[0]}, {first[1] or 'file'}: {first[2]}")


_NAMES = re.compile(r"[a-z]{2,3}\Z")


def parse(path: Path) -> tuple[int, Language]:
    """Read and validate one language file: its ``order`` among the others and its language;
    :class:`LanguageFileError` with every problem."""
    from pydantic import ValidationError

    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise LanguageFileError([(path, "", f"cannot be read ({exc.strerror})", None)]) from None
    except UnicodeDecodeError:
        raise LanguageFileError([(path, "", "is not UTF-8 text", None)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise LanguageFileError([(path, "", f"is not valid TOML: {exc}", None)]) from None
    try:
        from dispatch._language_schema import LanguageFile

        model = LanguageFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "is not a key of a language file"
            problems.append((path, key, message, err.get("input")))
        raise LanguageFileError(problems) from None
    problems = _check(path, model)
    if problems:
        raise LanguageFileError(problems)
    return model.order, _language(path, model)


def _check(path: Path, model: Any) -> list[tuple[Path, str, str, Any]]:
    from babel import Locale, UnknownLocaleError

    problems: list[tuple[Path, str, str, Any]] = []
    code = normalise(model.code)
    if code != model.code or not _NAMES.match(code):
        problems.append((path, "code", "is not a language code in lower case, like pt", model.code))
    if path.parent.name != model.code:
        problems.append(
            (
                path,
                "code",
                f"is not the name of the folder it is in ({path.parent.name})",
                model.code,
            )
        )
    if model.code not in model.names:
        problems.append(
            (path, "names", f"has no name of the language in itself ({model.code})", None)
        )
    try:
        Locale.parse(model.locale or model.code)
    except (UnknownLocaleError, ValueError):
        problems.append((path, "locale", "is not a locale Babel (CLDR) knows", model.locale))
    for i, font in enumerate(model.fonts):
        if not font.strip() or any(c in font for c in '"\\{};<>'):
            problems.append((path, f"fonts[{i}]", "is not the name of a font family", font))
    if model.typography.script:
        try:
            re.compile(f"[{model.typography.script}]")
        except re.error as exc:
            problems.append((path, "typography.script", f"is not a character class ({exc})", None))
    for key, pattern, fields in (
        ("times.time", model.times.time, {"hour": 1, "minute": 2}),
        ("times.range", model.times.range, {"first": "", "last": ""}),
        ("times.range_zone", model.times.range_zone, {"range": "", "zone": ""}),
        ("dates.place", model.dates.place, {"place": "", "date": ""}),
        ("times.zone", model.times.zone, {"place": ""}),
        ("ordinals.masculine", model.ordinals.masculine, {"n": 1}),
        ("ordinals.feminine", model.ordinals.feminine, {"n": 1}),
        ("numbers.percent", model.numbers.percent, {"number": ""}),
        ("numbers.amount", model.numbers.amount, {"number": "", "currency": ""}),
    ):
        try:
            pattern.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            names = ", ".join("{" + f + "}" for f in fields)
            problems.append((path, key, f"is not a pattern of {names} ({exc})", pattern))
    return problems


def _formatting(model: Any) -> Formatting:
    """The ``[dates]``, ``[times]``, ``[numbers]`` and ``[ordinals]`` of a language file."""
    dates, times, numbers, ordinals = model.dates, model.times, model.numbers, model.ordinals
    if ordinals.style == "pattern":
        ordinal = _pattern_ordinal(ordinals.masculine, ordinals.feminine)
    else:
        ordinal = ORDINAL_STYLES[ordinals.style]
    words: Callable[[int, str], str] = {
        "french": _french_ordinal_words,
        "none": _no_ordinal_words,
    }.get(ordinals.words) or _num2words_ordinal(model.locale.split("_")[0] or model.code)
    return Formatting(
        dates=dates.style,
        weekday_after=dates.weekday_after,
        day_month=dates.day_month,
        month_year=dates.month_year,
        first_of_month=dates.first_of_month,
        date_article=dates.article,
        place_date=dates.place,
        range_running=dates.range_running,
        range_big_endian=dates.range_big_endian,
        digits=dates.digits,
        time=times.time,
        time_range=times.range,
        time_range_zone=times.range_zone,
        zone_time=times.zone,
        zone_time_elided=times.zone_elided,
        zone_places=MappingProxyType(dict(times.places)),
        deadline=times.deadline,
        deadline_labelled=times.deadline_labelled,
        percent=numbers.percent,
        amount=numbers.amount,
        list_separator=numbers.list_separator,
        conjunctions=MappingProxyType(dict(numbers.conjunctions)),
        attached=tuple(numbers.attached),
        ordinal=ordinal,
        ordinal_words=words,
    )


def _language(path: Path, model: Any) -> Language:
    t = model.typography
    return Language(
        code=model.code,
        names=MappingProxyType(dict(model.names)),
        aliases=tuple(model.aliases),
        by_default=model.default,
        salutation=model.salutation,
        closing=model.closing,
        degrees=MappingProxyType({} if model.degrees is None else model.degrees.model_dump()),
        locale=model.locale,
        agree=model.agree,
        direction=model.direction,
        line_breaking=model.line_breaking,
        fonts=tuple(model.fonts),
        source=path,
        formatting=_formatting(model),
        typography=TypographyRules(
            spacing=t.spacing,
            quotes=t.quotes,
            elided_years=t.elided_years,
            no_break_before_dash=t.no_break_before_dash,
            script=t.script,
            punctuation=MappingProxyType(dict(t.punctuation)),
            no_space_between_letters=t.no_space_between_letters,
        ),
        labels=Labels(
            reference=model.labels.reference,
            colon=model.labels.colon,
            links_heading=model.labels.links_heading,
            link=model.labels.link,
            virtual_meeting=model.labels.virtual_meeting,
            calendar_links=MappingProxyType(dict(model.labels.calendar_links)),
        ),
    )


_PARSED: dict[tuple[Path, int, int], tuple[int, Language]] = {}


def _parsed(path: Path) -> tuple[int, Language]:
    """:func:`parse`, once per version of the file (a mailing is loaded many times)."""
    try:
        stat = path.stat()
    except OSError:
        return parse(path)  # says what is wrong
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        _PARSED[key] = parse(path)
    return _PARSED[key]


def load_folder(folder: Path, *, replace: bool = True) -> list[Language]:
    """Register the language of every ``<folder>/<code>/language.toml``; returns them.

    A language already registered from another file is replaced when ``replace`` (a
    mailing's own templates folder wins over dispatch's). Raises :class:`LanguageFileError`
    with the problems of every file that cannot be used.
    """
    found: list[Language] = []
    problems: list[tuple[Path, str, str, Any]] = []
    try:
        files = sorted(folder.glob(f"*/{FILE_NAME}"))
    except OSError:
        return found
    parsed: list[tuple[int, Language]] = []
    for path in files:
        try:
            parsed.append(_parsed(path))
        except LanguageFileError as exc:
            problems += exc.problems
    for _, language in sorted(parsed, key=lambda p: (p[0], p[1].code)):
        if replace or language.code not in _REGISTRY:
            _REGISTRY[language.code] = language
        found.append(language)
    if problems:
        raise LanguageFileError(problems)
    return found
