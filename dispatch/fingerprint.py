"""The fingerprint of what a mailing's messages are made from.

A re-run of ``dispatch send`` after a mailing went out has nothing to do, yet finding
that out the long way means reading the whole workbook, rendering every letter and its
PDF, and comparing them with the journal: seconds for ten thousand addressees. The
journal records this fingerprint with the plan of a run; a later run whose inputs have
the same fingerprint, and whose journal has nothing left to send, can say so at once.

Everything a run's plan depends on goes in: the dispatch version, every input of the
mailing as :func:`dispatch.inputs.mailing_inputs` lists them (the mailing file, the
workbook, the letterhead and its logo, the templates, the annexes: each one's bytes and
where it is) and the ``--only`` and ``--category`` selections. Change any of them and the next run
takes the long way (and reports, say, letters changed since they were sent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from dispatch import __version__
from dispatch.contacts.reading import file_digest
from dispatch.inputs import mailing_inputs
from dispatch.mailing import Mailing
from dispatch.personal import PersonalFile

__all__ = ["inputs_fingerprint"]


def inputs_fingerprint(
    mailing: Mailing,
    workbook: Path,
    templates: Path,
    *,
    only: Iterable[str] = (),
    category: Iterable[str] = (),
    read: Mapping[Path, str] | None = None,
    personal: Iterable[PersonalFile] = (),
) -> str:
    """A SHA-256 over the inputs of ``mailing``'s messages, as hex.

    ``read``: the digests of the workbook (and its categories file) as the run read them
    (``Contacts.digests``): a run records what it read, not what is on disk afterwards,
    or a workbook saved while it prepared would pass for read (issue 13, hole 1). A file
    not in ``read`` is hashed from the disk. Raises :class:`OSError` if a file cannot be
    read.
    """
    known = read or {}

    def sha256_of(path: Path) -> bytes:
        found = known.get(path)
        return (found if found is not None else file_digest(path)).encode()

    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        # Each part with its label and length: no two different inputs hash alike by
        # moving bytes from one part to the next.
        name = label.encode("utf-8", "surrogateescape")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(len(data).to_bytes(8, "big") + data)

    add("dispatch", __version__.encode())
    for item in mailing_inputs(mailing, workbook, templates, personal):  # the one list
        add(item.label, item.recorded.encode("utf-8", "surrogateescape"))
        if item.label in ("workbook", "categories"):
            add(f"{item.label} sha256", sha256_of(item.path))
        else:
            add(f"{item.label} sha256", file_digest(item.path).encode())
    add("only", "\n".join(sorted(o.strip().lower() for o in only)).encode())
    add("category", "\n".join(sorted(c.strip().upper() for c in category)).encode())
    return digest.hexdigest()
