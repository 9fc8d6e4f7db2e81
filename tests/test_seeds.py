"""Every sample is its seed: each sentence and head line of the five seed letters
(``tests/data/seeds``, the circulars as the secretariat wrote them) is in the French letter
that dispatch renders from the sample mailing made after it.

The seed and the letter are compared after these normalisations, applied to both sides
unless said otherwise, each because the seed and the letter may rightly differ there:

1. Spaces: every run of white space (tabs, line breaks, U+00A0 and U+202F no-break spaces)
   is one space. French typography puts no-break spaces in the letter; the seeds are
   exports that wrap lines and separate a label from its value with tabs.
2. Spaces around high punctuation and inside guillemets are removed (``Réf.:`` and
   ``Réf. :``; ``« Partner2Connect »`` and ``"Partner2Connect"``): the letter follows
   French typography, the seeds are inconsistent.
3. Quotes: ``« »``, ``“ ”`` are ``"``; ``’`` is ``'``: typography's curly forms.
4. Dashes: en dash and non-breaking hyphen are a hyphen: typography writes ranges with an
   en dash (``2021–2022``, ``6–15 juin``), a seed writes ``ITU‑T`` with U+2011.
5. Seed only: the export's Markdown (``**bold**``, ``*italic*``, ``[text](#)`` as ``text``,
   ``^{ème}``), its ``[bookmark: …]`` artefacts, and list markers at the start of a line
   (``-``, ``–``, ``•``, ``1)``, ``a)``): what is checked is the wording; how lists are
   numbered is checked where lists are rendered (the markdown tests).
6. Letter only: the `` [1]`` after the words of a link and the numbered list of link
   addresses at the end, which the text part adds so that a reader can follow a link;
   the seed keeps the words only.
7. Seed only: the typographic slips of the seeds are corrected (``SLIPS`` below): a sample
   writes the letter as it should have been written.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from dispatch.prepare import prepare
from tests.conftest import ROOT

SEEDS = ROOT / "tests" / "data" / "seeds"

# seed → the sample mailing that reproduces it
SAMPLES = {
    "000": "tsb-352",
    "001": "cmdt-21",
    "002": "bdt-dir-105",
    "003": "cl-23-24",
    "004": "wsis-2021",
}

# The seeds' slips and how the samples write them.
SLIPS = {
    "Veillez agréer": "Veuillez agréer",
    "76^{ème}": "76e",
    "23h59": "23 h 59",
    "milieus techniques": "milieux techniques",
    "États Membre pour": "États Membres pour",
}

_SPACE = re.compile(r"[\s\u00a0\u202f]+")
_MARKER = re.compile(r"^(?:[-–•]\s*|\d{1,2}\)\s+|[a-z]\)\s+)+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-ÖØ-Þ\"«“(\[])")
# A full stop that ends an abbreviation, not a sentence: "M. Houlin Zhao", "Rév. Dubaï".
_ABBREVIATION = re.compile(r"(?:^|\s)(?:M|MM|Mr|Dr|Réf|Rév|Tél)\.$")


def sentences(line: str) -> list[str]:
    """``line`` cut after each sentence's final stop, but not after an abbreviation."""
    out: list[str] = []
    for piece in _SENTENCE_END.split(line):
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


def normalise(text: str) -> str:
    """Normalisations 1 to 4 of the module's docstring, common to seed and letter."""
    text = text.replace("’", "'").replace("“", '"').replace("”", '"')
    text = text.replace("–", "-").replace("\u2011", "-")
    text = _SPACE.sub(" ", text)
    text = re.sub(r"«\s*", '"', text)
    text = re.sub(r"\s*»", '"', text)
    text = re.sub(r" (?=[:;!?])", "", text)
    return text.strip()


def seed_text(number: str) -> str:
    (path,) = SEEDS.glob(f"{number}_*.txt")
    return path.read_text(encoding="utf-8")


def seed_lines(number: str) -> list[str]:
    """The seed's sentences and head lines, normalised (5 and 7 of the docstring)."""
    text = seed_text(number)
    for slip, right in SLIPS.items():
        text = text.replace(slip, right)
    text = re.sub(r"\[bookmark: [^\]]*\]", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = text.replace("**", "").replace("*", "")
    out: list[str] = []
    for line in text.splitlines():
        line = _MARKER.sub("", line.strip()).strip()
        for sentence in sentences(line):
            sentence = normalise(sentence)
            if sentence and sentence not in out:
                out.append(sentence)
    return out


@cache
def french_letter(mailing: str) -> str:
    """The text of the French letter of a sample, for an addressee with no personal
    salutation, normalised (and 6 of the docstring)."""
    prepared = prepare(ROOT / "mailings" / mailing, contacts_path=ROOT / "contacts.xlsx")
    letter = next(x for x in prepared.letters if x.lang == "fr" and not x.addressee.salutation)
    text = re.sub(r"\n(?:Liens|Links) ?:\n(?:\[\d+\] \S+\n?)+\Z", "", letter.text)
    text = re.sub(r" \[\d+\]", "", text)
    return normalise(text)


def cases() -> list[object]:
    params: list[object] = []
    for number, mailing in SAMPLES.items():
        for line in seed_lines(number):
            params.append(
                pytest.param(
                    mailing,
                    line,
                    id=f"{number}-{line[:50]}",
                )
            )
    return params


@pytest.mark.parametrize(("mailing", "line"), cases())
def test_the_french_sample_holds_every_sentence_of_its_seed(mailing: str, line: str) -> None:
    assert line in french_letter(mailing)


@pytest.mark.parametrize("number", sorted(SAMPLES))
def test_every_seed_is_split_into_many_lines(number: str) -> None:
    """The splitting finds the seed's text (a seed of a few lines would prove nothing)."""
    lines = seed_lines(number)
    assert len(lines) >= 20, lines
    assert not any(line.startswith(("-", "•", "[bookmark")) for line in lines), lines


def test_the_normalisation_keeps_what_differs() -> None:
    """Normalising does not make a wrong letter pass: words, numbers and order still count."""
    letter = normalise("Réf. : Circulaire TSB 352 – « Tous unis »\u202f; de 10\u00a0h\u00a000")
    assert normalise('Réf.: Circulaire TSB 352 - "Tous unis";') in letter
    assert normalise("de 10 h 00") in letter
    assert normalise("Réf.: Circulaire TSB 353") not in letter
    assert normalise("de 10 h 30") not in letter
    assert normalise('"Tous unis" - Circulaire TSB 352') not in letter
