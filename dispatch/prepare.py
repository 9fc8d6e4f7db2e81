"""Load and validate everything a mailing needs, then render every letter in memory.

This is what ``dispatch check`` runs, and what ``render`` and ``send`` run before their
first side effect: the mailing file, the workbook, the selection, and every template
against every addressee. Every problem found is collected and raised at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.advice import letter_warnings
from dispatch.contacts import Addressee, Contacts, load_contacts, select
from dispatch.errors import InvalidInput, Location, Problem, quoted
from dispatch.mailing import Mailing, announced_annexes, declared_contacts, load_mailing
from dispatch.personal import PersonalFile
from dispatch.progress import OnProgress, Step, counted, finish, start
from dispatch.render import Letter, Renderer, file_stems, language_problems
from dispatch.suggest import did_you_mean
from dispatch.templates import DEFAULT_TEMPLATES, TemplateSet

DEFAULT_CONTACTS = Path("contacts.xlsx")


@dataclass(frozen=True, repr=False)  # a repr would hold every letter: tracebacks stay small
class Prepared:
    """A validated mailing with its letters, ready to be written or sent."""

    mailing: Mailing
    contacts: Contacts
    letters: list[Letter]
    templates: TemplateSet
    warnings: list[Problem] = field(default_factory=list)
    distinct_letters: int = 0

    only: tuple[str, ...] = ()  # the --only addresses this mailing was narrowed to
    category: tuple[str, ...] = ()  # the --category codes

    def counts(self) -> Counter[tuple[str, str]]:
        """Letters per (language, category code)."""
        out: Counter[tuple[str, str]] = Counter()
        for letter in self.letters:
            for code in letter.categories:
                out[(letter.lang, code)] += 1
        return out

    def own_files(self) -> list[PersonalFile]:
        """The files of single addressees the letters carry, each once, by name."""
        found = {f.name: f for letter in self.letters for f in letter.files}
        return [found[name] for name in sorted(found)]

    def tally(self) -> Tally:
        """The counts of :class:`Tally`: letters, addressees, copies, rows left out
        (counted once: a summary asks for them more than once)."""
        counted: Tally | None = self.__dict__.get("_tally")
        if counted is None:
            counted = self.__dict__["_tally"] = tally(self)
        return counted


#: Why a workbook row got no letter, in the order the rules apply.
INACTIVE = "inactive"
NOT_ADDRESSED = "not in the categories of this mailing"
NOT_ONLY = "left out by --only"
NOT_CATEGORY = "left out by --category"
SKIP_REASONS = (INACTIVE, NOT_ADDRESSED, NOT_ONLY, NOT_CATEGORY)


@dataclass(frozen=True)
class Tally:
    """Counts that add up, per language: every workbook row either got a letter or is
    in ``left_out`` with its reason; a letter's addressee in several categories is
    counted once in ``letters`` and once per category in ``by_category``.

    ``copies`` counts the Cc addresses (the workbook's ``cc`` column) the letters go to
    as well. Languages are the mailing's, then any other found in the workbook.
    """

    languages: tuple[str, ...]
    rows: Mapping[str, int]  # workbook rows per language
    letters: Mapping[str, int]
    addressees: int  # distinct addresses the letters go to (To)
    copies: Mapping[str, int]
    by_category: Mapping[tuple[str, str], int]  # (language, code) -> letters
    left_out: Mapping[tuple[str, str], int]  # (reason, language) -> rows
    in_several: int  # letters whose addressee is in more than one category

    @property
    def total_letters(self) -> int:
        return sum(self.letters.values())

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def category_rows(self) -> int:
        """The sum of the category rows of a summary: more than the letters when
        addressees are in several categories."""
        return sum(self.by_category.values())

    def left_out_by_reason(self) -> dict[str, int]:
        """Rows with no letter, by reason (reasons with none are left out)."""
        out: dict[str, int] = {}
        for (reason, _lang), n in self.left_out.items():
            out[reason] = out.get(reason, 0) + n
        return {reason: out[reason] for reason in SKIP_REASONS if out.get(reason)}


@dataclass(frozen=True)
class Excluded:
    """A workbook row that gets no letter, and why (one of :data:`SKIP_REASONS`)."""

    row: int
    email: str
    language: str
    reason: str


def excluded(prepared: Prepared) -> list[Excluded]:
    """Every row of the workbook without a letter, in row order, with its reason
    (``check --list-excluded``)."""
    mailing = prepared.mailing
    wanted = {c.upper() for c in (*mailing.addressees.to, *mailing.addressees.cc)}
    only = set(prepared.only)
    narrow = set(prepared.category)
    out: list[Excluded] = []
    for person in prepared.contacts.addressees:
        if not person.active:
            reason = INACTIVE
        elif not wanted.intersection(person.categories):
            reason = NOT_ADDRESSED
        elif only and person.key not in only:
            reason = NOT_ONLY
        elif narrow and not narrow.intersection(person.categories):
            reason = NOT_CATEGORY
        else:
            continue
        out.append(Excluded(person.row, person.email, person.language, reason))
    return out


def tally(prepared: Prepared) -> Tally:
    """Count the letters of ``prepared`` against the rows of its workbook."""
    mailing = prepared.mailing
    langs: list[str] = list(mailing.languages)
    rows: Counter[str] = Counter()
    for person in prepared.contacts.addressees:
        if person.language not in langs:
            langs.append(person.language)
        rows[person.language] += 1
    left_out = Counter((e.reason, e.language) for e in excluded(prepared))
    letters: Counter[str] = Counter()
    copies: Counter[str] = Counter()
    several = 0
    for letter in prepared.letters:
        letters[letter.lang] += 1
        copies[letter.lang] += len(letter.addressee.cc)
        several += len(letter.categories) > 1
    return Tally(
        languages=tuple(langs),
        rows=dict(rows),
        letters=dict(letters),
        addressees=len({letter.addressee.key for letter in prepared.letters}),
        copies=dict(copies),
        by_category=dict(prepared.counts()),
        left_out=dict(left_out),
        in_several=several,
    )


def columns_and_paragraphs(prepared: Prepared) -> list[str]:
    """What ``check`` says of the workbook's own columns and of the conditional paragraphs.

    One line naming the Contacts sheet's extra columns with their kind, and one line per
    paragraph with a ``when``: how many letters hold it.
    """
    lines: list[str] = []
    columns = prepared.contacts.columns
    if columns:
        found = ", ".join(f"addressee.{c.name} ({c.kind})" for c in columns)
        lines.append(f"Columns of the workbook's own, usable in the letters: {found}.")
    total = len(prepared.letters)
    for key, paragraph in prepared.mailing.body.items():
        if paragraph.when:
            held = sum(key in letter.paragraphs for letter in prepared.letters)
            lines.append(
                f"Paragraph body.{key} (when {paragraph.when}): in {held} of {total} letters."
            )
    return lines


def contacts_path_for(mailing: Mailing, given: Path | None) -> Path:
    """The workbook: ``--contacts``, else the mailing's ``contacts`` key, else a
    ``contacts.xlsx`` beside the mailing file (the same wherever dispatch is run), else
    ./contacts.xlsx."""
    if given is not None:
        return given
    if mailing.contacts:
        return mailing.folder / mailing.contacts
    beside = mailing.folder / DEFAULT_CONTACTS
    return beside if beside.is_file() else DEFAULT_CONTACTS


def templates_path_for(mailing: Mailing, given: Path | None) -> Path:
    """The templates: ``--templates``, else the mailing's ``templates`` key, else dispatch's."""
    if given is not None:
        return given
    if mailing.templates:
        return mailing.folder / mailing.templates
    return DEFAULT_TEMPLATES


def prepare(
    mailing_path: Path,
    *,
    contacts_path: Path | None = None,
    templates: TemplateSet | None = None,
    only: Iterable[str] = (),
    category: Iterable[str] = (),
    progress: OnProgress | None = None,
) -> Prepared:
    """Validate the mailing, workbook and templates; render every selected letter.

    ``progress`` follows the reading of the workbook and the checking of each letter.
    Raises :class:`InvalidInput` listing every problem of every input at once.
    """
    problems: list[Problem] = []
    mailing: Mailing | None = None
    contacts: Contacts | None = None
    try:
        mailing = load_mailing(mailing_path, None if templates is None else templates.root)
    except InvalidInput as exc:
        problems += exc.problems
    workbook = contacts_path if mailing is None else contacts_path_for(mailing, contacts_path)
    if workbook is None:
        # The mailing is broken: its workbook still, if it names one (all problems in one
        # pass), but no line about a contacts.xlsx it may not use.
        declared = declared_contacts(mailing_path)
        base = mailing_path if mailing_path.is_dir() else mailing_path.parent
        workbook = None if declared is None else base / declared
    start(progress, Step.READING)
    try:
        if workbook is not None:
            contacts = load_contacts(workbook)
    except InvalidInput as exc:
        problems += exc.problems + exc.warnings
    else:
        if contacts is not None:
            finish(progress, Step.READING, len(contacts.addressees))
    if mailing is None or contacts is None:
        raise InvalidInput(problems)

    templates = templates or TemplateSet(templates_path_for(mailing, None))
    only = [o.strip().lower() for o in only]
    category = [c.strip().upper() for c in category]
    people = select(
        contacts,
        categories=[*mailing.addressees.to, *mailing.addressees.cc],
        only=only,
        category=category,
    )
    problems += language_problems(mailing, contacts, people)
    # Not a reason to stop before rendering: the letters' own problems come in the same pass.
    empty = empty_categories(mailing, contacts)
    if not people and not empty and not problems and not only and not category:
        problems.append(no_letter(mailing, contacts))
    known = {p.key for p in contacts.addressees}
    for address in only:
        if address not in known:
            problems.append(
                Problem(
                    Location(file=contacts.path),
                    f"has no addressee {quoted(address)}",
                    "Check the address given to --only." + did_you_mean(address, known),
                )
            )
    for code in category:
        if code not in contacts.categories:
            problems.append(
                Problem(
                    Location(file=contacts.path, sheet="Categories"),
                    f"has no category {code}",
                    "Check the code given to --category." + did_you_mean(code, contacts.categories),
                )
            )
    if problems:
        raise InvalidInput(problems + empty + contacts.warnings)

    try:
        letters, distinct = render_all(mailing, contacts, templates, people, progress=progress)
    except InvalidInput as exc:
        raise InvalidInput(empty + exc.problems) from None
    if empty:
        raise InvalidInput(empty + contacts.warnings)
    return Prepared(
        mailing=mailing,
        contacts=contacts,
        letters=letters,
        templates=templates,
        warnings=list(contacts.warnings)
        + announced_annexes(mailing)
        + letter_warnings(mailing, letters),
        distinct_letters=distinct,
        only=tuple(only),
        category=tuple(category),
    )


def empty_categories(mailing: Mailing, contacts: Contacts) -> list[Problem]:
    """Categories of the mailing's ``to`` and ``cc`` that no active addressee has.

    A ``cc`` category with nobody is as wrong as a ``to`` one: every letter lists it
    under "Copie :" and no copy goes out.
    """
    active = {code for person in contacts.addressees if person.active for code in person.categories}
    outcome = {
        "to": "the mailing would send it no letter",
        "cc": "every letter would list it as copied and no copy would go out",
    }
    return [
        Problem(
            Location(file=mailing.path, field=f"addressees.{side}[{i}]"),
            f"is a category that no active addressee of {contacts.path.name} has: " + outcome[side],
            "Add its addressees to the Contacts sheet (or mark them active), or remove it "
            f"from addressees.{side}.",
            value=code,
        )
        for side in ("to", "cc")
        for i, code in enumerate(getattr(mailing.addressees, side))
        if code.upper() in contacts.categories and code.upper() not in active
    ]


def no_letter(mailing: Mailing, contacts: Contacts) -> Problem:
    """The mailing selects nobody: not one letter would be written or sent."""
    codes = ", ".join([*mailing.addressees.to, *mailing.addressees.cc])
    return Problem(
        Location(file=mailing.path, field="addressees"),
        f"gives no letter: no active addressee of {contacts.path.name} is in {codes}",
        "Check the categories of addressees.to and addressees.cc, and the Contacts sheet.",
    )


def render_all(
    mailing: Mailing,
    contacts: Contacts,
    templates: TemplateSet,
    people: list[Addressee],
    *,
    progress: OnProgress | None = None,
) -> tuple[list[Letter], int]:
    """Every letter; template problems are collected once each (not once per addressee)."""
    renderer = Renderer(mailing, contacts, templates)
    letters: list[Letter] = []
    problems: dict[str, Problem] = {}
    pairs = zip(people, file_stems(mailing, people), strict=True)
    for person, stem in counted(pairs, progress, Step.CHECKING, len(people)):
        try:
            letters.append(renderer.letter(person, stem))
        except InvalidInput as exc:
            for problem in exc.problems:
                problems.setdefault(str(problem), problem)
    if problems:
        raise InvalidInput(_cells_in_runs(list(problems.values())))
    return letters, renderer.renders


def _cells_in_runs(problems: list[Problem]) -> list[Problem]:
    """The problems, those of workbook cells (an empty cell a letter prints) gathered by
    column and text, in row order: consecutive rows then read as one line (row 4 to row 9)."""
    cells = [p for p in problems if p.where.sheet is not None and p.where.row is not None]
    others = [p for p in problems if p.where.sheet is None or p.where.row is None]
    cells.sort(key=lambda p: (str(p.where.column), p.message, p.where.row or 0))
    return others + cells
