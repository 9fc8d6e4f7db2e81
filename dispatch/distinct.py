"""The distinct letter: one rendering shared by every addressee whose letter is the same.

Most letters of a mailing differ only by their addressee (same language, same salutation):
their text and HTML are rendered once, and so are their PDF and the MIME content of their
message. A :class:`DistinctLetter` is that rendering, named by a content key computed once
when it is rendered; a :class:`DistinctStore` holds what is made from it later (the PDF,
the serialised content), each made once per key and kind, the most recent kept.

Every cost then follows the number of distinct letters, not of addressees: 2 000
addressees sharing 4 letters cost 4 renders of each kind.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


def content_key(lang: str, subject: str, text: str, html: str) -> bytes:
    """The key of a rendering: equal renderings, equal keys (SHA-256 of its parts).

    >>> content_key("fr", "Objet", "texte", "<p>texte</p>").hex()[:12]
    '51310b249716'
    >>> content_key("fr", "Objet", "a", "b") == content_key("en", "Objet", "a", "b")
    False
    """
    joined = "\0".join((lang, subject, text, html))
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, eq=False)
class DistinctLetter:
    """One distinct rendering of a letter: its language, subject, text and HTML.

    Letters that share it share its very strings; ``key`` names it in a
    :class:`DistinctStore` and in the MIME boundary of its message (deterministic bytes).
    """

    lang: str
    subject: str
    html: str = field(repr=False)
    text: str = field(repr=False)
    key: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(
                self, "key", content_key(self.lang, self.subject, self.text, self.html)
            )


class DistinctStore:
    """What is made from distinct letters (PDF, MIME content…), made once per key and kind.

    ``made[kind]`` counts the real makings, ``hits[kind]`` the reuses. The ``max_kept``
    most recently used artefacts are kept, so that personal letters (all distinct) do not
    pile up in memory. Not thread-safe: use one store per thread.

    >>> store = DistinctStore()
    >>> letter = DistinctLetter("fr", "Objet", "<p>Madame,</p>", "Madame,")
    >>> store.get(letter, "pdf", lambda: b"%PDF-") is store.get(letter, "pdf", lambda: b"")
    True
    >>> store.made["pdf"], store.hits["pdf"]
    (1, 1)
    """

    def __init__(self, max_kept: int = 512) -> None:
        if max_kept < 1:
            raise ValueError("max_kept must be at least 1")
        self.max_kept = max_kept
        self.made: Counter[str] = Counter()
        self.hits: Counter[str] = Counter()
        self._kept: OrderedDict[tuple[bytes, str], bytes] = OrderedDict()

    def has(self, letter: DistinctLetter, kind: str) -> bool:
        """Whether the ``kind`` artefact of ``letter`` is kept (made and not yet dropped)."""
        return (letter.key, kind) in self._kept

    def put(self, letter: DistinctLetter, kind: str, made: bytes) -> None:
        """Keep ``made`` as the ``kind`` artefact of ``letter``, made elsewhere (a worker
        process); counted as a making."""
        self.made[kind] += 1
        self._keep((letter.key, kind), made)

    def get(self, letter: DistinctLetter, kind: str, make: Callable[[], bytes]) -> bytes:
        """The ``kind`` artefact of ``letter``: made on first sight, then the same bytes."""
        key = (letter.key, kind)
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
            self.hits[kind] += 1
            return kept
        made = make()
        self.made[kind] += 1
        self._keep(key, made)
        return made

    def _keep(self, key: tuple[bytes, str], made: bytes) -> None:
        self._kept[key] = made
        self._kept.move_to_end(key)
        if len(self._kept) > self.max_kept:
            self._kept.popitem(last=False)
