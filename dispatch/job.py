"""The jobs of dispatch as functions: check, render, preview, send, status, report.

Each command of the CLI is one call here; another program makes the same calls (see
``README.md``, "Use it from Python"). Nothing here prints or ends the process: a job
returns a typed, frozen result, or raises a :class:`~dispatch.errors.DispatchError`
saying where and what to do.

The send job is the one with a policy: it takes the mailing's lock, opens its journal
(:func:`journal_path`), takes the short way when the journal says these very inputs are
settled, makes the plan, asks ``confirm``, then delivers; its result says what happened
and what was skipped, and :attr:`SendResult.exit_code` is the exit status a command
should end with.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dispatch import paths
from dispatch.approval import current_approval
from dispatch.approval_journal import record_dates
from dispatch.approval_send import approved_outgoing, date_header
from dispatch.compose import Composer, outgoing, validate_sizes, with_message_id
from dispatch.contacts import load_contacts
from dispatch.delivery.results import DeliveryEvent, DeliverySummary
from dispatch.errors import InvalidInput, JournalError, Location, Problem
from dispatch.files import Output, check_output_path
from dispatch.fingerprint import inputs_fingerprint
from dispatch.inputs import mailing_inputs
from dispatch.journal import Journal, JournalRow, MailingLock, Plan, State
from dispatch.mailing import Mailing, load_mailing
from dispatch.outgoing import Outgoing
from dispatch.output import make_pdfs, now, parse_formats, remove_written, render_files
from dispatch.personal import PersonalFile
from dispatch.prepare import Prepared, contacts_path_for, prepare, templates_path_for
from dispatch.preview import write_index
from dispatch.progress import OnProgress, Step, counted
from dispatch.report import write_report
from dispatch.settings import SmtpSettings, load_settings
from dispatch.templates import TemplateSet

if TYPE_CHECKING:
    from dispatch.delivery.samples import SampleResult
    from dispatch.render import Letter

__all__ = [
    "Previewed",
    "Proposal",
    "Rendered",
    "Reported",
    "Selection",
    "SendOptions",
    "SendOutcome",
    "SendResult",
    "Status",
    "check_mailing",
    "journal_dir",
    "journal_path",
    "lock_path",
    "mailing_identity",
    "mailing_status",
    "output_folder",
    "preview_mailing",
    "render_mailing",
    "report_mailing",
    "send_mailing",
]

PathLike = str | os.PathLike[str]


# -- where a mailing's journal lives -------------------------------------------------


def journal_dir(mailing: Mailing) -> Path:
    """Where a mailing's journal and lock live: ``<mailing folder>/.dispatch/``."""
    return paths.journal_dir(mailing.folder)


def journal_path(mailing: Mailing) -> Path:
    """The journal of ``mailing``: the record of every message sent, one file."""
    return paths.journal_path(mailing.folder)


def lock_path(mailing: Mailing) -> Path:
    """The lock file that keeps two runs from working on ``mailing`` at once."""
    return paths.lock_path(mailing.folder)


def output_folder(mailing: Mailing) -> Path:
    """Where ``render`` and ``preview`` write by default: ``<mailing folder>/out/``.

    Beside the mailing file, like its journal, so that the same command writes to the
    same place wherever it is run from (the mailing's own folder included).
    """
    return paths.default_output(mailing.folder)


# -- check, render, preview ------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which inputs and addressees a job uses, besides the mailing file.

    ``contacts``: the workbook (default: the mailing's ``contacts`` key, else a
    contacts.xlsx beside the mailing file, else ./contacts.xlsx). ``templates``: a
    templates folder with fr/ and en/ (default: the bundled templates). ``only``: these
    addresses only; ``category``: these category codes only (both empty: every
    addressee of the mailing).
    """

    contacts: Path | None = None
    templates: Path | None = None
    only: tuple[str, ...] = ()
    category: tuple[str, ...] = ()

    def template_set(self) -> TemplateSet | None:
        """The templates given, or None: the mailing's ``templates`` key, else dispatch's."""
        return TemplateSet(self.templates) if self.templates is not None else None


def check_mailing(
    mailing: PathLike,
    selection: Selection | None = None,
    *,
    progress: OnProgress | None = None,
) -> Prepared:
    """Validate the mailing, its workbook and every template against every addressee.

    Returns the mailing with every letter rendered in memory (nothing is written);
    raises :class:`~dispatch.errors.InvalidInput` listing every problem at once.
    ``progress`` (see :mod:`dispatch.progress`) follows the reading and the checking.
    """
    chosen = selection or Selection()
    return prepare(
        Path(mailing),
        contacts_path=chosen.contacts,
        templates=chosen.template_set(),
        only=chosen.only,
        category=chosen.category,
        progress=progress,
    )


@dataclass(frozen=True)
class Rendered:
    """What :func:`render_mailing` wrote."""

    prepared: Prepared
    out: Path
    formats: tuple[str, ...]
    files: int
    letters: int


def _checked_formats(formats: Sequence[str]) -> list[str]:
    try:
        return parse_formats(",".join(formats))
    except ValueError as exc:
        raise InvalidInput(
            [Problem(Location(field="formats"), str(exc), "Choose among html, txt, eml, pdf, ics.")]
        ) from None


def render_mailing(
    mailing: PathLike,
    out: PathLike | None = None,
    *,
    formats: Sequence[str] = ("html", "txt", "eml"),
    selection: Selection | None = None,
    progress: OnProgress | None = None,
    jobs: int = 1,
) -> Rendered:
    """Render every letter to files in ``out`` (default :func:`output_folder`).

    Everything is validated first: on any problem nothing is written, and a render that
    fails half-way (a full disk, Ctrl-C) takes away the files it wrote. ``jobs``:
    processes that render the distinct PDFs (the command line's ``--jobs``).
    """
    chosen = _checked_formats(formats)
    prepared = check_mailing(mailing, selection, progress=progress)
    target = Path(os.path.abspath(out)) if out is not None else output_folder(prepared.mailing)
    _refuse_inputs(prepared, target, Output("the letters", "--out", "letters/"), ())
    written = render_files(prepared, target, chosen, progress=progress, jobs=jobs)
    return Rendered(prepared, target, tuple(chosen), written.files, written.letters)


@dataclass(frozen=True)
class Previewed:
    """What :func:`preview_mailing` wrote: the letters and the page listing them."""

    prepared: Prepared
    out: Path
    index: Path
    warnings: tuple[Problem, ...] = ()


def preview_mailing(
    mailing: PathLike,
    out: PathLike | None = None,
    *,
    formats: Sequence[str] = ("html", "pdf", "eml"),
    selection: Selection | None = None,
    progress: OnProgress | None = None,
    jobs: int = 1,
) -> Previewed:
    """Render every letter into ``out`` (default ``<output folder>/preview``, see
    :func:`output_folder`) with an index.html.

    ``jobs``: processes that render the distinct PDFs.
    """
    chosen = _checked_formats(formats)
    prepared = check_mailing(mailing, selection, progress=progress)
    target = (
        Path(os.path.abspath(out))
        if out is not None
        else output_folder(prepared.mailing) / "preview"
    )
    _refuse_inputs(prepared, target, Output("the preview", "--out", "preview/"), (".",))
    letters = render_files(prepared, target, chosen, progress=progress, jobs=jobs)
    try:
        written = write_index(prepared, target, chosen)
    except BaseException:
        remove_written(letters)
        raise
    return Previewed(prepared, target, written.index, tuple(written.warnings))


def _refuse_inputs(prepared: Prepared, out: Path, output: Output, folders: Sequence[str]) -> None:
    """Refuse an output folder that holds an input of the mailing (or is in its records):
    the files written into ``folders`` and each language's folder could replace one."""
    inputs = mailing_inputs(
        prepared.mailing, prepared.contacts.path, prepared.templates.root, prepared.own_files()
    )
    written = sorted({letter.lang for letter in prepared.letters} | set(folders))
    problems = inputs.output_problems(out, output, folders=written)
    if problems:
        raise InvalidInput(problems)


# -- status and report -----------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """A mailing's journal: messages per state, and those not (or maybe not) delivered."""

    mailing: Mailing
    journal: Path
    counts: Mapping[State, int]  # empty when nothing was sent yet; withdrawn rows left out
    problems: tuple[JournalRow, ...]  # failed-temporary, failed-permanent and unknown
    copies_refused: tuple[JournalRow, ...] = ()  # sent, but the relay refused a Cc
    replaced: Mapping[str, str] = field(default_factory=dict)  # old address -> new one
    bounced: tuple[JournalRow, ...] = ()  # rows a notification came back for (bounces)
    # rows whose addressee left the mailing, by state: ``sent`` ones are still in
    # ``counts`` (sent, no longer in the mailing); the unsent ones are withdrawn
    left: Mapping[State, int] = field(default_factory=dict)

    @property
    def withdrawn(self) -> int:
        """Rows that left the mailing before anything reached their addressee (not counted)."""
        return sum(n for s, n in self.left.items() if s not in ("sent", "unknown", "sending"))

    @property
    def started(self) -> bool:
        """True once a send has planned this mailing (its journal exists)."""
        return bool(self.counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def mailing_status(mailing: PathLike, *, contacts: PathLike | None = None) -> Status:
    """Read the journal of ``mailing``; changes nothing.

    ``contacts`` (default: the mailing's workbook) tells which addresses are still in
    the workbook, to mark those that were corrected (see :func:`replacements`); a
    workbook that cannot be read only leaves them unmarked.
    """
    loaded = load_mailing(Path(mailing))
    path = journal_path(loaded)
    if not path.exists():
        return Status(loaded, path, {}, ())
    with Journal.open(path, readonly=True) as journal:
        counts = journal.counts()
        every = journal.rows()
        left = {s: n for s, n in journal.left().items() if n}
    if not every:  # a journal holding an approval only (dispatch approve made it)
        return Status(loaded, path, {}, ())
    bounced = tuple(row for row in every if row.bounce is not None or row.copy_bounces)
    copies = tuple(r for r in every if r.state == "sent" and r.reply and "refused: " in r.reply)
    present = _workbook_keys(contacts_path_for(loaded, Path(contacts) if contacts else None))
    gone = {r.key for r in every if r.left_at is not None or (present and r.key not in present)}
    replaced = replacements(every, gone)
    # A withdrawn row is not counted, but one whose address was corrected is still shown,
    # marked "replaced by": that is where the letter went instead.
    problems = tuple(
        r for r in every if r.state in _PROBLEMS and (not r.withdrawn or r.key in replaced)
    )
    return Status(
        loaded,
        path,
        counts,
        problems,
        copies_refused=copies,
        replaced=replaced,
        bounced=bounced,
        left=left,
    )


def _workbook_keys(path: Path) -> set[str]:
    """The addresses of a workbook, or none if it cannot be read."""
    try:
        return {person.key for person in load_contacts(path).addressees}
    except (InvalidInput, OSError):
        return set()


_PROBLEMS = ("failed-temporary", "failed-permanent", "unknown")


def replacements(rows: Sequence[JournalRow], gone: set[str]) -> dict[str, str]:
    """The addresses that were corrected: ``{old address: new address}``.

    The journal keeps no workbook row or name, only the address, language and
    categories of each message, in the order they were planned. So the rule is: a
    message that failed (or is unknown) and whose address is ``gone`` (no longer in
    the workbook, or stamped ``left_at`` by a send) was replaced by the closest address
    (difflib ratio of at least 0.6, which a corrected typo has) among the messages
    planned after it, still in the workbook, with the same language and categories.
    A different person put in instead is not guessed.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for i, old in enumerate(rows):
        if old.state not in _PROBLEMS or old.key not in gone:
            continue
        later = [
            r.key
            for r in rows[i + 1 :]
            if r.key not in gone
            and r.key not in taken
            and r.language == old.language
            and set(r.categories) == set(old.categories)
        ]
        close = difflib.get_close_matches(old.key, later, n=1, cutoff=0.6)
        if close:
            out[old.key] = close[0]
            taken.add(close[0])
    return out


@dataclass(frozen=True)
class Reported:
    """The workbook :func:`report_mailing` wrote, and how many rows it holds."""

    path: Path
    rows: int
    warnings: tuple[Problem, ...] = ()


def report_mailing(
    mailing: PathLike,
    out: PathLike,
    *,
    contacts: PathLike | None = None,
    templates: PathLike | None = None,
) -> Reported:
    """Write the report of ``mailing`` (``.xlsx``: a summary and a sheet of messages;
    ``.csv``: the messages) to ``out``.

    ``contacts``: the workbook that gives names and organisations (default: the one the
    mailing file names). ``templates``: the templates folder, which ``out`` may not be in.

    Raises :class:`~dispatch.errors.InvalidInput` if nothing was sent yet, if ``out`` is
    one of the mailing's inputs (its file, workbook and categories file, templates,
    annexes, journal) or if its suffix is neither ``.xlsx`` nor ``.csv``.
    """
    loaded = load_mailing(Path(mailing))
    path = journal_path(loaded)
    workbook = contacts_path_for(loaded, Path(contacts) if contacts is not None else None)
    # (another suffix: write_report refuses it, before anything is read or written)
    if Path(out).suffix.lower() in (".xlsx", ".csv"):
        _check_report_path(Path(out), loaded, workbook, templates)
    nothing = Problem(
        Location(file=path),
        "does not exist: nothing was sent for this mailing yet",
        "Run dispatch send first.",
    )
    if not path.exists():
        raise InvalidInput([nothing])
    with Journal.open(path, readonly=True) as journal:
        if not journal.rows():
            raise InvalidInput(  # a journal holding an approval only
                [dataclasses.replace(nothing, message="holds no message: nothing was sent yet")]
            )
        written = write_report(
            loaded,
            journal,
            Path(out),
            contacts_path=Path(contacts) if contacts is not None else None,
        )
    return Reported(written.path, written.messages, tuple(written.warnings))


def _check_report_path(
    out: Path, mailing: Mailing, workbook: Path, templates: PathLike | None
) -> None:
    """Refuse a report path that is one of the mailing's inputs (it would replace it),
    or lies in its records; then one whose suffix is neither .xlsx nor .csv."""
    folder = templates_path_for(mailing, Path(templates) if templates is not None else None)
    problems = mailing_inputs(mailing, workbook, folder).output_problems(out, Output())
    if problems:
        raise InvalidInput(problems)
    check_output_path(out, [])


# -- send ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOptions:
    """How :func:`send_mailing` runs.

    ``dry_run``: plan and report, connect to nothing, record nothing. ``to_address``:
    send one sample per language to this address only, nobody is marked as sent (with
    ``dry_run``, only say which letters would go). ``limit``: at most this many messages
    in this run. ``retry_unknown``: also send the messages whose fate is unknown after a
    crash (their addressees may get two copies). ``new_mailing``: the journal found is
    not this mailing's (a folder copied with its journal, or a journal deleted beside the
    traces of earlier sends): set it aside and start a new one. ``jobs``: processes that
    render the distinct PDFs (1: this one).
    """

    dry_run: bool = False
    to_address: str | None = None
    limit: int | None = None
    retry_unknown: bool = False
    new_mailing: bool = False
    jobs: int = 1


class SendOutcome(enum.Enum):
    """What a send did."""

    SAMPLES = "samples"  # samples went to the test address; the journal is untouched
    DRY_RUN = "dry run"  # planned only: nothing connected, nothing recorded
    SETTLED = "settled"  # the journal holds these very inputs, all settled: nothing read
    NOTHING_TO_SEND = "nothing to send"  # checked: every message is settled
    DECLINED = "declined"  # ``confirm`` said no: nothing sent
    DELIVERED = "delivered"  # a delivery ran: see the summary


@dataclass(frozen=True)
class Proposal:
    """What a send is about to do, for ``confirm`` to show and approve."""

    prepared: Prepared
    plan: Plan[Outgoing]
    count: int  # messages this run sends (the plan's, within the limit)
    settings: SmtpSettings


@dataclass(frozen=True)
class SendResult:
    """What :func:`send_mailing` did; :attr:`exit_code` is the status a command ends with."""

    outcome: SendOutcome
    mailing: Mailing
    prepared: Prepared | None = None  # None on the short way (nothing was read)
    settings: SmtpSettings | None = None  # the relay's, if one was needed or given
    plan: Plan[Outgoing] | None = None  # None for samples and the short way
    summary: DeliverySummary | None = None  # for DELIVERED
    samples: tuple[SampleResult, ...] = ()  # for SAMPLES
    would_sample: tuple[Outgoing, ...] = ()  # for a dry run with a test address
    settled: Mapping[State, int] | None = None  # the journal's counts, for SETTLED

    @property
    def exit_code(self) -> int:
        """0 all done; 1 something failed, is unknown, refused earlier, or not confirmed."""
        match self.outcome:
            case SendOutcome.SAMPLES:
                return 0 if all(s.accepted for s in self.samples) else 1
            case SendOutcome.DRY_RUN:
                return 0
            case SendOutcome.SETTLED:
                counts = self.settled or {}
                return 1 if counts.get("unknown") or counts.get("failed-permanent") else 0
            case SendOutcome.NOTHING_TO_SEND:
                plan = self.plan
                return 1 if plan is not None and (plan.unknown or plan.failed_permanent) else 0
            case SendOutcome.DECLINED:
                return 1
            case SendOutcome.DELIVERED:
                return 0 if self.summary is not None and self.summary.complete else 1

    @property
    def skipped(self) -> dict[str, int]:
        """Messages this run left alone, by reason (reasons with none are left out)."""
        plan, summary = self.plan, self.summary
        reasons: dict[str, int] = {}
        if plan is not None:
            reasons["already sent"] = len(plan.already_sent)
            reasons["changed since sent (not resent)"] = len(plan.changed)
            reasons["unknown (not resent without retry_unknown)"] = len(plan.unknown)
            reasons["refused for good earlier"] = len(plan.failed_permanent)
        if summary is not None:
            reasons["left by the limit"] = summary.held_by_limit
            reasons["not attempted"] = summary.not_attempted
        return {reason: n for reason, n in reasons.items() if n}


def send_mailing(
    mailing: PathLike,
    *,
    selection: Selection | None = None,
    settings: SmtpSettings | Callable[[], SmtpSettings | None] | None = None,
    options: SendOptions | None = None,
    confirm: Callable[[Proposal], bool] | None = None,
    on_event: Callable[[DeliveryEvent], None] | None = None,
    when: datetime | None = None,
    progress: OnProgress | None = None,
) -> SendResult:
    """Send every letter of ``mailing`` by SMTP, once per addressee, journaling each one.

    ``settings`` (or a function returning them, called once the inputs are checked)
    default to the ``DISPATCH_SMTP_*`` environment variables (a dry run needs none).
    Everything is validated before anything is sent. ``confirm`` is shown the
    :class:`Proposal` when there is something to send and may say no (None: send
    without asking); ``on_event`` follows the delivery, ``progress`` every long step
    (reading, checking, PDFs, preparing, sending). Runs its own event loop: call it
    from a thread without one. Ctrl-C raises
    :class:`~dispatch.delivery.results.DeliveryInterrupted` with what was done.
    """
    # The SMTP client is loaded by the send job only, not by check or render.
    from dispatch.delivery.schedule import DeliveryOptions, deliver_sync

    path = Path(mailing)
    chosen = selection or Selection()
    opts = options or SendOptions()
    if not (opts.dry_run or opts.to_address):
        settled = _settled(path, chosen, opts.retry_unknown)
        if settled is not None:
            return settled
    prepared = check_mailing(path, chosen, progress=progress)
    relay = settings() if callable(settings) else settings
    if relay is None and not opts.dry_run:
        relay = load_settings(None, os.environ)
    moment = when or now()
    composer = Composer(
        prepared, when=moment, attach_pdf=prepared.mailing.attach_pdf, jobs=opts.jobs
    )
    if opts.to_address is not None:  # samples: the relay first, then only their letters
        return _samples(prepared, composer, relay, opts.to_address, dry_run=opts.dry_run)
    letters: Iterable[Letter] = prepared.letters
    if current_approval(prepared.mailing) is not None:
        # The approval holds every message's bytes and digest: nothing is rendered again,
        # the messages only say whom each goes to (approved_outgoing checks the rest).
        letters = counted(letters, progress, Step.PREPARING, len(prepared.letters))
        messages = tuple(outgoing(composer, letter, digest=APPROVED) for letter in letters)
    else:
        if prepared.mailing.attach_pdf:
            make_pdfs(composer, progress)
            letters = composer.with_pdfs(prepared.letters)  # those not made yet: personal
        validate_sizes(composer, prepared.mailing.max_message_mb)
        letters = counted(letters, progress, Step.PREPARING, len(prepared.letters))
        messages = tuple(outgoing(composer, letter) for letter in letters)
    # -- approval: the approved bytes go out, if the mailing is approved (dispatch.approval)
    approved = approved_outgoing(prepared, messages, when=moment)
    if approved is not None:
        messages = approved
    # -- end of approval
    if progress is not None:
        on_event = _following(on_event, progress)
    loaded = prepared.mailing

    with MailingLock(lock_path(loaded)):
        if opts.dry_run:
            return SendResult(
                SendOutcome.DRY_RUN,
                loaded,
                prepared,
                relay,
                plan=_dry_plan(loaded, composer, messages, opts, approved is None),
            )
        assert relay is not None
        inputs = _fingerprint(
            loaded,
            chosen,
            prepared.contacts.digests,
            prepared.own_files(),
        )
        with Journal.open_for_mailing(
            journal_path(loaded),
            folder=loaded.folder,
            reference=mailing_identity(loaded),
            new_mailing=opts.new_mailing,
        ) as journal:
            if approved is None:  # (approved bytes keep the Message-IDs they were frozen with)
                messages = _with_ids(composer, messages, journal.message_ids())
            if not (chosen.only or chosen.category):  # the whole mailing: who left it
                journal.withdraw(m.key for m in messages)
            plan = journal.preview(messages, retry_unknown=opts.retry_unknown)
            if not plan.to_send:
                if inputs is not None:  # every message of these inputs is in the journal
                    journal.record_inputs(inputs)
                return SendResult(SendOutcome.NOTHING_TO_SEND, loaded, prepared, relay, plan=plan)
            count = min(len(plan.to_send), opts.limit or len(plan.to_send))
            if confirm is not None and not confirm(Proposal(prepared, plan, count, relay)):
                return SendResult(SendOutcome.DECLINED, loaded, prepared, relay, plan=plan)
            if approved is not None:  # the one header not approved: when it was sent
                date = date_header(moment)
                record_dates(journal, ((m.key, m.approval or "", date) for m in plan.to_send))
            summary = deliver_sync(
                messages,
                relay,
                journal,
                DeliveryOptions(
                    limit=opts.limit,
                    retry_unknown=opts.retry_unknown,
                    on_event=on_event,
                    inputs=inputs,
                    preview=plan,
                ),
            )
    return SendResult(SendOutcome.DELIVERED, loaded, prepared, relay, plan=plan, summary=summary)


#: The digest of a message an approval replaces (approved_outgoing puts the approved one).
APPROVED = "approved"


def _samples(
    prepared: Prepared,
    composer: Composer,
    relay: SmtpSettings | None,
    to_address: str,
    *,
    dry_run: bool,
) -> SendResult:
    """Samples to ``to_address`` (``send --to``): the first letter of each language only.

    They need no approval and are rendered now; the relay is tried before their PDFs are
    made, so that a wrong setting is said in a second, not after the PDFs.
    """
    from dispatch.delivery.samples import checked_test_address, send_samples_sync

    checked_test_address(to_address)
    first: dict[str, Letter] = {}
    for letter in prepared.letters:
        first.setdefault(letter.lang, letter)
    firsts = tuple(first.values())

    def messages() -> tuple[Outgoing, ...]:
        validate_sizes(composer, prepared.mailing.max_message_mb)  # the samples' letters
        return tuple(outgoing(composer, letter) for letter in firsts)

    if dry_run:
        return SendResult(
            SendOutcome.DRY_RUN, prepared.mailing, prepared, relay, would_sample=messages()
        )
    assert relay is not None
    samples = send_samples_sync(messages, relay, to_address)
    return SendResult(
        SendOutcome.SAMPLES, prepared.mailing, prepared, relay, samples=tuple(samples)
    )


def mailing_identity(mailing: Mailing) -> str:
    """What names a mailing to people, as its journal records it: its reference and date.

    A journal found in a folder whose identity changed *and* that was moved (a copy of
    last month's folder) is refused (:class:`~dispatch.journal.JournalMismatch`).
    """
    return f"{mailing.reference.model_dump_json()} {mailing.date.isoformat()}"


def _with_ids(
    composer: Composer, messages: tuple[Outgoing, ...], message_ids: Mapping[str, str]
) -> tuple[Outgoing, ...]:
    """``messages`` (one per letter, in order), each under the Message-ID its journal row
    holds: an addressee keeps the Message-ID of its first plan, whatever changed since
    (a reference corrected), in the envelope's record and the headers alike."""
    return tuple(
        message
        if message_ids.get(message.key, message.message_id) == message.message_id
        else with_message_id(composer, letter, message, message_ids[message.key])
        for message, letter in zip(messages, composer.prepared.letters, strict=True)
    )


def _following(
    on_event: Callable[[DeliveryEvent], None] | None, progress: OnProgress
) -> Callable[[DeliveryEvent], None]:
    """``on_event``, and the sending step reported to ``progress``."""

    def follow(event: DeliveryEvent) -> None:
        if on_event is not None:
            on_event(event)
        progress(Step.SENDING, event.sent + event.failed + event.unknown, event.total)

    return follow


def _dry_plan(
    mailing: Mailing,
    composer: Composer,
    messages: tuple[Outgoing, ...],
    options: SendOptions,
    own_ids: bool,
) -> Plan[Outgoing]:
    """What a run would send, from the journal if there is one; it is not changed."""
    path = journal_path(mailing)
    if path.exists():
        with Journal.open(path, readonly=True) as journal:
            if own_ids:
                messages = _with_ids(composer, messages, journal.message_ids())
            return journal.preview(messages, retry_unknown=options.retry_unknown)
    return Plan(
        to_send=messages,
        already_sent=(),
        changed=(),
        unknown=(),
        failed_permanent=(),
        not_in_mailing=0,
    )


def _fingerprint(
    mailing: Mailing,
    selection: Selection,
    read: Mapping[Path, str] | None = None,
    personal: Sequence[PersonalFile] = (),
) -> str | None:
    """The fingerprint of this run's inputs, or None if one of them cannot be read.

    ``read``: the digests of the workbook's bytes as this run read them (the workbook
    on disk may have been saved since). ``personal``: the files of single addressees,
    known once the letters are prepared (without them, as in the short way of
    :func:`_settled`, a mailing with such files never matches: it takes the long way).
    """
    try:
        return inputs_fingerprint(
            mailing,
            contacts_path_for(mailing, selection.contacts),
            templates_path_for(mailing, selection.templates),
            only=selection.only,
            category=selection.category,
            read=read,
            personal=personal,
        )
    except OSError:
        return None


def _settled(mailing: Path, selection: Selection, retry_unknown: bool) -> SendResult | None:
    """The short way: a result at once if the journal has nothing left for these inputs.

    A re-run after a mailing went out would otherwise read the workbook, render every
    letter and PDF and compare them with the journal, to find nothing to do. The journal
    holds the fingerprint of the inputs its plan was made from (dispatch.fingerprint):
    if it is this one, no addressee can be new, and the counts tell the rest. In any
    doubt (anything unreadable, another version, rows still to send) this returns None
    and the run takes the long way, which checks everything.
    """
    try:
        loaded = load_mailing(mailing)
        path = journal_path(loaded)
        if not path.is_file():
            return None
        with Journal.open(path, readonly=True) as journal:
            recorded = journal.inputs()
            counts = journal.counts()
    except (InvalidInput, JournalError, OSError):
        return None
    if recorded is None or recorded != _fingerprint(loaded, selection):
        return None
    left = counts["planned"] + counts["sending"] + counts["failed-temporary"]
    if left or (retry_unknown and counts["unknown"]) or not counts["sent"]:
        return None
    return SendResult(SendOutcome.SETTLED, loaded, settled=counts)
