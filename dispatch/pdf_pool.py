"""Distinct PDFs on every core: a pool of processes, each with its own WeasyPrint engine.

A PDF takes about half a second of one core (WeasyPrint's layout, then the PDF/A file),
so a mailing whose letters are all distinct (a personal paragraph in each) spends nearly
all its time there. :class:`PdfPool` hands the distinct letters to ``jobs`` worker
processes and gives the PDFs back *in the order they were asked for*, a few letters
ahead of the caller, so that at most a window of PDFs waits in memory whatever the size
of the mailing.

Processes, not threads: WeasyPrint is not designed to be thread-safe (its maintainer, in
Kozea/WeasyPrint#684), and its work is pure Python that holds the GIL. Each worker is
started fresh (``forkserver`` where the platform has it, else ``spawn``), never forked
from a parent that may run threads or hold Pango's state, and builds its engine once
(the font configuration, the parsed house stylesheet, the image cache: see
``dispatch.pdf._Engine``), which then serves every letter it renders.

The bytes are the same as a render in one process: a PDF depends only on its HTML, the
stylesheet and the fonts (no date, no random identifier), which a test checks with
``--jobs 1`` against ``--jobs 2``.

A worker that dies (killed, out of memory, a crash in a C library) breaks the whole
pool; the letters that were in flight are then rendered again one at a time, each in a
fresh process, so that the error names the letter that kills its renderer, and a worker
lost for another reason costs nothing but time.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from dispatch import languages
from dispatch.errors import DispatchError, OutputError
from dispatch.pdf import PdfRenderer

__all__ = ["POOL_MIN", "PdfPool", "PdfRenderError", "default_jobs"]

K = TypeVar("K")

#: Called in the worker with each letter's HTML before it is rendered (None: nothing).
#: Only the tests set it, to make a worker raise or die on a chosen letter; it must be a
#: module-level function, so that it can be sent to the workers.
_before_render: Callable[[str], None] | None = None

#: Letters handed to the pool ahead of the one the caller waits for, per worker.
AHEAD = 4

#: Fewer distinct PDFs than this are made in the calling process: starting the workers
#: (a fresh interpreter that imports WeasyPrint, then each worker's fonts and stylesheet)
#: takes 1 to 2.5 s on a busy 2-core machine, what 2 to 5 PDFs cost, so a circular of a
#: few distinct letters would wait longer for its pool than for its PDFs.
POOL_MIN = 8


def default_jobs() -> int:
    """The processors this process may run on (``--jobs``' default)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - macOS, Windows


class PdfRenderError(OutputError):
    """A letter's PDF could not be made; the message names the letter."""

    def __init__(self, letter: str, why: str) -> None:
        self.letter = letter
        self.why = why
        super().__init__(
            f"The PDF of {letter} could not be made: {why}. Run again with --jobs 1 to see "
            "the renderer's own error; if it persists, report it with that letter."
        )


# -- the worker's side -------------------------------------------------------------------

_renderer: PdfRenderer | None = None
_hook: Callable[[str], None] | None = None


def _start(
    base_url: str | Path | None,
    stylesheet: Path | None,
    files: frozenset[Path] | None,
    hook: Callable[[str], None] | None,
    language_files: tuple[Path, ...] = (),
) -> None:
    """Build this worker's engine once: fonts, stylesheet and images serve every letter.

    ``language_files``: the languages the parent registered from a mailing's own templates
    folder (:func:`dispatch.languages.added_files`), registered here too, so that a letter
    in such a language gets its fonts and unbroken dates as in the parent.

    Ctrl-C is the parent's to handle (it stops the pool); a worker ignores it, so that
    an interrupted run prints no traceback per worker.
    """
    global _renderer, _hook
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    languages.load_files(language_files)
    _renderer = PdfRenderer(base_url=base_url, stylesheet=stylesheet, files=files)
    _hook = hook


def _render(html: str) -> tuple[bytes, list[str]]:
    """One PDF, and WeasyPrint's warnings so far (the parent keeps each once)."""
    assert _renderer is not None, "the worker was not started"
    if _hook is not None:
        _hook(html)
    return _renderer.render(html), list(_renderer.warnings)


# -- the parent's side -------------------------------------------------------------------


#: What the fork server imports once, so that each worker it forks starts with them: the
#: main module (else every worker would run the ``dispatch`` script's imports again) and
#: WeasyPrint (imported only: each worker builds its own fonts and stylesheet).
_PRELOAD = ["__main__", "dispatch.pdf_pool", "weasyprint"]


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")  # pragma: no cover - not Linux
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


class PdfPool(Generic[K]):
    """Renders HTML to PDF in ``jobs`` processes with the settings of ``renderer``.

    :meth:`render` takes ``(key, name, html)`` items and yields ``(key, pdf)`` in the
    same order; ``name`` says which letter it is, for an error. WeasyPrint's warnings
    are added to ``renderer.warnings`` and the renders counted in ``renderer.renders``,
    as if ``renderer`` had made them. Use it as a context manager (the workers stop at
    its end).
    """

    def __init__(self, renderer: PdfRenderer, jobs: int) -> None:
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.renderer = renderer
        self.jobs = jobs
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> PdfPool[K]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _pool(self, workers: int | None = None) -> ProcessPoolExecutor:
        r = self.renderer
        return ProcessPoolExecutor(
            max_workers=workers or self.jobs,
            mp_context=_context(),
            initializer=_start,
            initargs=(
                r.base_url,
                r.stylesheet,
                r.files,
                _before_render,
                languages.added_files(),
            ),
        )

    def _keep(self, pdf: bytes, warnings: list[str]) -> bytes:
        self.renderer.renders += 1
        for warning in warnings:
            if warning not in self.renderer.warnings:
                self.renderer.warnings.append(warning)
        return pdf

    def render(self, items: Iterable[tuple[K, str, str]]) -> Iterator[tuple[K, bytes]]:
        """``(key, pdf)`` for each ``(key, name, html)``, in order, ``jobs`` at a time.

        While the letter awaited is not ready, this process renders one the workers have
        not started (the last of the window), or else the next one to come: the workers
        take seconds to start (a fresh interpreter, WeasyPrint, fonts), and a PDF made here
        meanwhile is one less to wait for. At most :data:`AHEAD` windows wait in memory.
        Not while a test hook is set: the hook runs in the workers only.
        """
        window = self.jobs * AHEAD
        pending: deque[_Entry[K]] = deque()
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                if self._executor is None:
                    self._executor = self._pool()
                pending.append(_Entry(*item, self._executor.submit(_render, item[2])))
            if not pending:
                return
            head = pending[0]
            if head.made is None and not head.future.done():  # type: ignore[union-attr]
                if self._help(pending):
                    continue
                if not exhausted and len(pending) < window * AHEAD and _before_render is None:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                    else:
                        pending.append(self._here(_Entry(*item, None)))
                    continue
            try:
                pdf, warnings = head.made or head.future.result()  # type: ignore[union-attr]
            except BrokenProcessPool:
                yield from self._recover(pending)
                pending.clear()
                continue
            except DispatchError:
                raise
            except Exception as exc:  # whatever the renderer raised, named
                raise PdfRenderError(head.name, f"{type(exc).__name__}: {exc}") from exc
            pending.popleft()
            yield head.key, self._keep(pdf, warnings)

    def _help(self, pending: deque[_Entry[K]]) -> bool:
        """Render here the last letter of the window no worker has started, if any."""
        if _before_render is not None:
            return False
        for entry in reversed(pending):
            if entry.made is None and entry.future is not None and entry.future.cancel():
                self._here(entry)
                return True
        return False

    def _here(self, entry: _Entry[K]) -> _Entry[K]:
        """Render ``entry`` in this process, with the same engine settings."""
        before = len(self.renderer.warnings)
        try:
            pdf = self.renderer.render(entry.html)
        except DispatchError:
            raise
        except Exception as exc:  # as in render()
            raise PdfRenderError(entry.name, f"{type(exc).__name__}: {exc}") from exc
        self.renderer.renders -= 1  # counted by _keep, as the workers' are
        entry.made = (pdf, self.renderer.warnings[before:])
        return entry

    def _recover(self, pending: deque[_Entry[K]]) -> Iterator[tuple[K, bytes]]:
        """A worker died: render the letters that were in flight one by one, each in a
        fresh process, to name the one that kills its renderer; then carry on."""
        self.close()
        for entry in pending:
            if entry.made is not None:
                yield entry.key, self._keep(*entry.made)
                continue
            with self._pool(workers=1) as alone:
                try:
                    pdf, warnings = alone.submit(_render, entry.html).result()
                except BrokenProcessPool:
                    raise PdfRenderError(
                        entry.name, "the process rendering it stopped (it crashed or was killed)"
                    ) from None
                except DispatchError:
                    raise
                except Exception as exc:
                    raise PdfRenderError(entry.name, f"{type(exc).__name__}: {exc}") from exc
            yield entry.key, self._keep(pdf, warnings)


@dataclass
class _Entry(Generic[K]):
    """A letter handed to the pool: its key, name and HTML, the worker's future, and the
    PDF and warnings if this process made it instead."""

    key: K
    name: str
    html: str
    future: Future[tuple[bytes, list[str]]] | None  # None: made here from the start
    made: tuple[bytes, list[str]] | None = None
