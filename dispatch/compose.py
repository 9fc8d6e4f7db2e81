"""Compose the complete message of each letter: body, PDF letter, calendar, annexes.

One :class:`Composer` serves ``render`` (the ``.eml`` is exactly what ``send`` would send)
and ``send``. It renders each distinct letter's PDF and MIME content once (in its
:class:`~dispatch.distinct.DistinctStore`), builds each language's ``.ics`` once and reads
each annex file once, so the cost follows the number of distinct letters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property, partial

from dispatch import pdf_pool
from dispatch.distinct import DistinctStore
from dispatch.errors import InvalidInput, Location, Problem
from dispatch.ics import build_ics
from dispatch.message import (
    Attachment,
    BuiltMessage,
    build_message,
    content_digest,
    content_part,
    header_bytes,
    message_cc,
    serialise_content,
)
from dispatch.message import (
    message_id as derive_message_id,
)
from dispatch.outgoing import Outgoing
from dispatch.pdf import PdfRenderer
from dispatch.pdf_pool import PdfPool
from dispatch.prepare import Prepared
from dispatch.render import Letter, slug

MB = 1024 * 1024


@dataclass(repr=False)  # its repr would hold the whole mailing (see Prepared)
class Composer:
    """Builds the message of each letter of a prepared mailing, with its attachments."""

    prepared: Prepared
    when: datetime
    attach_pdf: bool = True
    attach_ics: bool = True
    jobs: int = 1  # processes that render the distinct PDFs (1: this one, on demand)

    @cached_property
    def pdf_renderer(self) -> PdfRenderer:
        css = self.prepared.templates.root / "print.css"
        mailing = self.prepared.mailing
        return PdfRenderer(
            base_url=mailing.folder,
            stylesheet=css if css.is_file() else None,
            files=[p for a in mailing.annexes if (p := mailing.annex_path(a)) is not None],
        )

    @cached_property
    def _annexes(self) -> list[Attachment]:
        mailing = self.prepared.mailing
        out = []
        for annex in mailing.annexes:
            path = mailing.annex_path(annex)
            if path is not None:
                out.append(Attachment(path.name, path.read_bytes()))
        return out

    def _ics(self, lang: str) -> bytes | None:
        cache: dict[str, bytes | None] = self.__dict__.setdefault("_ics_cache", {})
        if lang not in cache:
            cache[lang] = build_ics(self.prepared.mailing, lang)
        return cache[lang]

    @cached_property
    def store(self) -> DistinctStore:
        """The PDF and MIME content of each distinct letter, made once (most recent kept)."""
        return DistinctStore()

    def pdf(self, letter: Letter) -> bytes:
        """The letter as A4 PDF (each distinct letter rendered once)."""
        return self.store.get(letter.distinct, "pdf", lambda: self.pdf_renderer.render(letter.html))

    def with_pdfs(self, letters: Sequence[Letter]) -> Iterator[Letter]:
        """``letters`` again, in order, each one's PDF made by the time it is yielded.

        With ``jobs`` > 1 the distinct PDFs are rendered by that many processes (see
        :mod:`dispatch.pdf_pool`), a few letters ahead of the one yielded, so that only
        those few wait in memory; with one job they are made on demand, by :meth:`pdf`.
        The bytes are the same either way. Fewer than :data:`~dispatch.pdf_pool.POOL_MIN`
        PDFs to make are made here: starting the processes would cost more.
        """
        if self.jobs <= 1 or not self._worth_a_pool(letters):
            yield from letters
            return
        inflight: set[bytes] = set()
        scanned = [0]  # how many of ``letters`` the pool has been offered so far

        def wanted() -> Iterator[tuple[Letter, str, str]]:
            for index, letter in enumerate(letters):
                scanned[0] = index + 1
                key = letter.distinct.key
                if key not in inflight and not self.store.has(letter.distinct, "pdf"):
                    inflight.add(key)
                    yield letter, describe(letter), letter.html

        with PdfPool[Letter](self.pdf_renderer, self.jobs) as pool:
            made = pool.render(wanted())
            for index, letter in enumerate(letters):
                while letter.distinct.key in inflight or scanned[0] <= index:
                    ready = next(made, None)
                    if ready is None:
                        break
                    inflight.discard(ready[0].distinct.key)
                    self.store.put(ready[0].distinct, "pdf", ready[1])
                # Made by now, or dropped from the store since: pdf() makes it again here.
                yield letter

    def _worth_a_pool(self, letters: Sequence[Letter]) -> bool:
        """Whether enough PDFs are still to make for starting processes to pay."""
        missing: set[bytes] = set()
        for letter in letters:
            if not self.store.has(letter.distinct, "pdf"):
                missing.add(letter.distinct.key)
                if len(missing) >= pdf_pool.POOL_MIN:
                    return True
        return False

    def ics(self, lang: str) -> bytes | None:
        """The calendar invitation in ``lang``, or None for a mailing without event."""
        return self._ics(lang)

    def pdf_name(self, letter: Letter) -> str:
        mailing = self.prepared.mailing
        return f"{slug(mailing.reference.get(letter.lang), 40) or 'letter'}_{letter.lang}.pdf"

    def ics_name(self, lang: str) -> str:
        return f"{slug(self.prepared.mailing.reference.get(lang), 40) or 'event'}_{lang}.ics"

    def attachments(self, letter: Letter) -> list[Attachment]:
        """The PDF letter, the calendar invitation and the annex files, in that order."""
        parts: list[Attachment] = []
        if self.attach_pdf:
            parts.append(Attachment(self.pdf_name(letter), self.pdf(letter), "application/pdf"))
        ics = self.ics(letter.lang) if self.attach_ics else None
        if ics is not None:
            parts.append(Attachment(self.ics_name(letter.lang), ics, "text/calendar"))
        parts += self._annexes
        # the addressee's own files, after the mailing's (read when the message is built)
        parts += [Attachment(f.filename, f.path.read_bytes()) for f in letter.files]
        return parts

    def message(self, letter: Letter, msgid: str | None = None) -> BuiltMessage:
        """The message exactly as it is sent, attachments included (``msgid``: the
        Message-ID the journal fixed for its addressee, if any)."""
        return build_message(
            self.prepared.mailing,
            letter,
            when=self.when,
            attachments=self.attachments(letter),
            msgid=msgid,
        )

    def message_bytes(self, letter: Letter, msgid: str | None = None) -> bytes:
        """The bytes of :meth:`message`, fast: the content is serialised once per distinct
        letter, and only the personal headers are made for each addressee."""
        mailing = self.prepared.mailing
        headers = header_bytes(mailing, letter, when=self.when, msgid=msgid)
        return headers + self._content(letter)

    def _content(self, letter: Letter) -> bytes:
        distinct = letter.distinct
        # Letters alike but for their own files share the rendering, not the content.
        kind = "content" + "".join(f" {f.sha256}" for f in letter.files)
        return self.store.get(
            distinct,
            kind,
            lambda: serialise_content(
                content_part(letter, self.attachments(letter)), distinct.key.hex()[:24]
            ),
        )


def describe(letter: Letter) -> str:
    """Which letter it is, for an error: ``the letter to anne@example.org (fr, row 14)``."""
    person = letter.addressee
    return f"the letter to {person.email} ({letter.lang}, row {person.row} of the workbook)"


def check_size(composer: Composer, letter: Letter, limit_mb: float) -> list[Problem]:
    """A problem when a message would exceed ``limit_mb``, naming its biggest parts."""
    parts = [("the letter (HTML and text)", len(letter.html) + len(letter.text))]
    parts += [(a.filename, len(a.data)) for a in composer.attachments(letter)]
    # base64 makes attachments a third bigger on the wire
    total = sum(size for _, size in parts) * 4 / 3
    if total <= limit_mb * MB:
        return []
    biggest = sorted(parts, key=lambda p: -p[1])[:3]
    listed = ", ".join(f"{name} ({size / MB:.1f} MB)" for name, size in biggest)
    return [
        Problem(
            Location(file=composer.prepared.mailing.path, field="max_message_mb"),
            f"the message to {letter.addressee.email} would be {total / MB:.1f} MB, above the "
            f"limit of {limit_mb:g} MB; its biggest parts: {listed}",
            "Make the annexes smaller, link to them instead, or raise max_message_mb.",
        )
    ]


def validate_sizes(composer: Composer, limit_mb: float) -> None:
    """Check each distinct (language) message size once; raise with every problem."""
    seen: set[str] = set()
    problems: list[Problem] = []
    for letter in composer.prepared.letters:
        if letter.lang in seen and not letter.files:
            continue  # the same size as the one checked, but a letter with its own files
        seen.add(letter.lang)
        problems += check_size(composer, letter, limit_mb)
    if problems:
        raise InvalidInput(problems)


def outgoing(
    composer: Composer,
    letter: Letter,
    *,
    message_id: str | None = None,
    digest: str | None = None,
) -> Outgoing:
    """The letter as the send engine takes it; the bytes are built when sent, not before.

    Building every message up front would hold the whole mailing in memory (45 KB a
    message with its PDF); the digest, which the journal needs first, is cheap.
    ``message_id``: the one the journal holds for this addressee
    (:meth:`~dispatch.journal.Journal.message_ids`), so that every attempt carries the
    first one, in the envelope and the headers alike; default: derived afresh.
    ``digest``: when known already (an approval's, which replaces the message), so that
    nothing is rendered for it; default: computed from the letter and its attachments.
    """
    mailing = composer.prepared.mailing
    cc = message_cc(mailing, letter)
    person = letter.addressee
    msgid = message_id or derive_message_id(mailing, person.key)
    return Outgoing(
        key=person.key,
        message_id=msgid,
        sender=mailing.sender.email,
        recipients=tuple(dict.fromkeys([person.email, *cc])),
        data=partial(_message_bytes, composer, letter, msgid),
        digest=digest or content_digest(letter, cc, composer.attachments(letter)),
        language=letter.lang,
        categories=letter.categories,
    )


def with_message_id(
    composer: Composer, letter: Letter, message: Outgoing, message_id: str
) -> Outgoing:
    """``message`` (the :func:`outgoing` of ``letter``) under another Message-ID."""
    return replace(
        message, message_id=message_id, data=partial(_message_bytes, composer, letter, message_id)
    )


def _message_bytes(composer: Composer, letter: Letter, msgid: str) -> bytes:
    return composer.message_bytes(letter, msgid)
