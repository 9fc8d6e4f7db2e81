"""Write rendered letters to files: one file per addressee and format.

Files go to ``OUT/<lang>/<stem>.<ext>``; each is written to a temporary file in the same
folder and then renamed, so that a full disk or a killed run never leaves half a letter.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from dispatch.compose import Composer, validate_sizes
from dispatch.errors import OutputError
from dispatch.files import cannot_write, private_dir
from dispatch.files import write_atomic as write_atomic  # re-exported
from dispatch.prepare import Prepared
from dispatch.progress import OnProgress, Step, counted
from dispatch.render import Letter

FORMATS = ("html", "txt", "eml", "pdf", "ics")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable by their owner only; letters are ordinary documents.
_FILE_MODE = 0o666 & ~_umask()


@dataclass
class Written:
    """What a render wrote: where, how many files, per language and category."""

    out: Path
    files: int = 0
    letters: int = 0
    per_group: Counter[tuple[str, str]] = field(default_factory=Counter)
    extra: list[Path] = field(default_factory=list)
    # What this run wrote (paths relative to ``out``: small strings, not Paths, at 100 000
    # letters) and the folders it made, so that a failed run takes them away
    # (:func:`remove_written`): a render either writes every letter or leaves nothing.
    paths: list[str] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)


def remove_written(written: Written) -> None:
    """Take away the files a failed run wrote and the folders it made (when left empty).

    A run that stops half-way (an error, Ctrl-C) must not leave some letters behind while
    saying that nothing was written. Files and folders that cannot be removed are left:
    the error that stopped the run is the one to report.
    """
    for name in written.paths:
        with contextlib.suppress(OSError):
            (written.out / name).unlink(missing_ok=True)
    for folder in sorted(written.folders, key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty (a file of the user's), or gone
            folder.rmdir()


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its parents that do not exist yet (the ones a run will make)."""
    missing: list[Path] = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    return missing


def parse_formats(text: str) -> list[str]:
    """``"html,txt"`` → ``["html", "txt"]``; a :class:`ValueError` names an unknown format."""
    formats = [f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(
            f"unknown format {', '.join(unknown) or '(none)'}: choose from {', '.join(FORMATS)}"
        )
    return list(dict.fromkeys(formats))


def _cannot_write(folder: Path, exc: OSError) -> OutputError:
    return OutputError(
        f"{folder}: cannot write there ({exc.strerror}). "
        "Choose another folder with --out, or free some space."
    )


def now() -> datetime:
    """The time put in the Date header (a function, so that tests can fix it)."""
    return datetime.now(UTC).astimezone()


Producer = Callable[[], bytes]

#: Files that are personal data (a message names its addressee, their address and Cc):
#: created 0600 in a 0700 folder whatever the umask (issue 13, hole 13).
PRIVATE_EXTENSIONS = frozenset({"eml"})


#: Threads that create and write files while the main thread builds the next letters:
#: creating a file is a system call that releases the GIL, and on a busy file system it
#: costs more than building the letter.
WRITERS = 4


def _write_letter(files: list[tuple[Path, bytes, bool]]) -> None:
    for target, data, private in files:
        write_atomic(target, data, private=private)


def write_outputs(
    out: Path,
    items: Iterable[tuple[str, str, tuple[str, ...], dict[str, Producer]]],
    written: Written | None = None,
) -> Written:
    """Write ``(lang, stem, categories, {ext: producer})`` items; count per group.

    The bytes are produced here, in order; the files are written by a few threads, a
    letter's files by one task (a task per file cost a third of a text render). At most
    a few hundred letters wait in memory, and the first write error stops the run.
    ``written`` (a new one by default) records every file and folder made, also when the
    run fails: :func:`remove_written` takes them away.
    """
    written = Written(out=out) if written is None else written
    pending: deque[Future[None]] = deque()
    folders: dict[str, Path] = {}  # made once each, not once per letter
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="dispatch-write") as pool:
        try:
            for lang, stem, categories, producers in items:
                folder = folders.get(lang)
                if folder is None:
                    folder = out / lang
                    written.folders += _missing_folders(folder)
                    if PRIVATE_EXTENSIONS & producers.keys():  # who was written to, and how
                        private_dir(folder)
                    else:
                        try:
                            folder.mkdir(parents=True, exist_ok=True)
                        except OSError as exc:  # read-only, full, not allowed: say so
                            raise cannot_write(folder, exc) from None
                    folders[lang] = folder
                files = [
                    (folder / f"{stem}.{ext}", produce(), ext in PRIVATE_EXTENSIONS)
                    for ext, produce in producers.items()
                ]
                written.paths += [f"{lang}/{stem}.{ext}" for ext in producers]
                pending.append(pool.submit(_write_letter, files))
                written.files += len(files)
                while len(pending) > 128:
                    pending.popleft().result()
                written.letters += 1
                for code in categories:
                    written.per_group[(lang, code)] += 1
            while pending:
                pending.popleft().result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return written


def render_files(
    prepared: Prepared,
    out: Path,
    formats: list[str],
    *,
    when: datetime | None = None,
    progress: OnProgress | None = None,
    jobs: int = 1,
) -> Written:
    """Write every letter of a prepared mailing in each of ``formats``.

    ``eml`` is the complete message as ``send`` builds it (PDF letter, calendar and
    annexes attached); ``ics`` is written once per language, not once per letter.
    ``progress`` follows the PDFs (once per distinct letter) and the letters written.
    ``jobs``: processes that render the distinct PDFs (see :mod:`dispatch.pdf_pool`).
    """
    composer = Composer(
        prepared, when=when or now(), attach_pdf=prepared.mailing.attach_pdf, jobs=jobs
    )
    letters: Iterable[Letter] = prepared.letters
    if "pdf" in formats or ("eml" in formats and prepared.mailing.attach_pdf):
        make_pdfs(composer, progress)
        letters = composer.with_pdfs(prepared.letters)  # those not made yet: personal ones
    if "eml" in formats:
        validate_sizes(composer, prepared.mailing.max_message_mb)

    def producers(letter: Letter) -> dict[str, Producer]:
        made: dict[str, Producer] = {}
        for ext in formats:
            if ext == "html":
                made[ext] = partial(str.encode, letter.html, "utf-8")
            elif ext == "txt":
                made[ext] = partial(str.encode, letter.text, "utf-8")
            elif ext == "eml":
                made[ext] = partial(_eml, composer, letter)
            elif ext == "pdf":
                made[ext] = partial(composer.pdf, letter)
        return made

    written = Written(out=out)
    try:
        write_outputs(
            out,
            (
                (letter.lang, letter.stem, letter.categories, producers(letter))
                for letter in counted(letters, progress, Step.RENDERING, len(prepared.letters))
            ),
            written,
        )
        if "ics" in formats:
            _write_calendars(composer, written)
    except BaseException:
        remove_written(written)  # all the letters or none: the error says nothing was written
        raise
    return written


def _write_calendars(composer: Composer, written: Written) -> None:
    """The event's calendar invitation, once per language, beside the letters."""
    for lang in sorted({letter.lang for letter in composer.prepared.letters}):
        ics = composer.ics(lang)
        if ics is not None:
            name = f"{lang}/{composer.ics_name(lang)}"
            written.paths.append(name)
            write_atomic(written.out / name, ics)
            written.files += 1
            written.extra.append(written.out / name)


def make_pdfs(composer: Composer, progress: OnProgress | None) -> None:
    """Render the PDF of each distinct letter once, as its own step, so that a long
    wait for PDFs shows as such; the composer keeps them for the letters that follow.
    Skipped when there are more distinct letters than the composer's store keeps: their
    PDFs are then made as the letters are written (:meth:`Composer.with_pdfs`)."""
    letters = composer.prepared.letters
    distinct = list({id(letter.distinct): letter for letter in letters}.values())
    if (progress is None and composer.jobs <= 1) or len(distinct) > composer.store.max_kept:
        return
    for letter in counted(composer.with_pdfs(distinct), progress, Step.PDFS, len(distinct)):
        composer.pdf(letter)


def _eml(composer: Composer, letter: Letter) -> bytes:
    return composer.message_bytes(letter)
