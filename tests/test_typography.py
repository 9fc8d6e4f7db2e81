"""Micro-typography of letter text: one table per rule and language, then invariants.

Expected strings are exact: ``NB`` is U+00A0 NO-BREAK SPACE, ``NN`` U+202F NARROW NO-BREAK
SPACE. Phrases marked "seed" are copied from the real circulars in shared/seeds, slips
included: the table shows what becomes of them.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup, escape

import dispatch.typography
from dispatch.typography import typeset, typeset_html

NB, NN = "\u00a0", "\u202f"


def rows(*pairs: tuple[str, str]) -> list[object]:
    """Table rows (input, expected) with the input as id, spaces made visible."""
    return [
        pytest.param(given_, expected, id=given_.replace(NB, "~").replace(NN, "^")[:60])
        for given_, expected in pairs
    ]


# --- French ------------------------------------------------------------------------------

FR_COLON = rows(
    ("Réf.: Circulaire TSB 352", f"Réf.{NB}: Circulaire TSB 352"),  # seed
    ("Objet:", f"Objet{NB}:"),  # seed
    ("Tél.: +41 22 730 6301", f"Tél.{NB}: +41 22 730 6301"),  # seed
    ("Objet : x", f"Objet{NB}: x"),
    ("Objet  :  x", f"Objet{NB}:  x"),
    (f"Objet{NN}: x", f"Objet{NB}: x"),
    (f"Objet{NB}: x", f"Objet{NB}: x"),
    ("les suivants:\n- un", f"les suivants{NB}:\n- un"),
    ("(voir ci-dessous):", f"(voir ci-dessous){NB}:"),
    (": en tête", ": en tête"),
    ("ligne\n: suite", "ligne\n: suite"),
    ("à 10:30", "à 10:30"),
    ("note:suite", "note:suite"),
    ("a::b", "a::b"),
)
FR_NARROW = rows(
    ("Aux États Membres de l'UIT;", f"Aux États Membres de l’UIT{NN};"),  # seed
    ("Quoi?", f"Quoi{NN}?"),
    ("Quoi ?", f"Quoi{NN}?"),
    (f"Quoi{NB}?", f"Quoi{NN}?"),
    ("Vraiment!", f"Vraiment{NN}!"),
    ("Vraiment?!", f"Vraiment{NN}?!"),
    ("Vraiment !!!", f"Vraiment{NN}!!!"),
    ("(?)", "(?)"),
    ("page.aspx?id=3", "page.aspx?id=3"),
    ("a;b", "a;b"),
)
FR_QUOTES = rows(
    (
        'l\'initiative "Tous unis pour des villes intelligentes et durables" (U4SSC)',  # seed
        f"l’initiative «{NN}Tous unis pour des villes intelligentes et durables{NN}» (U4SSC)",
    ),
    ('le thème "Connecter".', f"le thème «{NN}Connecter{NN}»."),
    ('"Partner2Connect"', f"«{NN}Partner2Connect{NN}»"),
    ('Il dit "un "deux" trois".', f"Il dit «{NN}un “deux” trois{NN}»."),
    ('« il dit "oui" »', f"«{NN}il dit “oui”{NN}»"),
    ("«Tous unis»", f"«{NN}Tous unis{NN}»"),
    ("« Tous unis »", f"«{NN}Tous unis{NN}»"),
    (f"«{NB}Tous unis{NB}»", f"«{NN}Tous unis{NN}»"),
    ('("Tous unis")', f"(«{NN}Tous unis{NN}»)"),
    ('"Tous unis":', f"«{NN}Tous unis{NN}»{NB}:"),
    ("des “guillemets” anglais", "des “guillemets” anglais"),
)
FR_APOSTROPHE_ELLIPSIS = rows(
    ("l'Union internationale", "l’Union internationale"),
    ("aujourd'hui", "aujourd’hui"),
    ("déjà’ fait", "déjà’ fait"),
    ("et ainsi de suite...", "et ainsi de suite…"),
    ("Quoi...?", f"Quoi…{NN}?"),
    ("points....", "points...."),
)
FR_ORDINALS = rows(
    ("la 76^{ème} session", "la 76e session"),  # seed
    ("la 76ème session", "la 76e session"),
    ("la 76eme session", "la 76e session"),
    ("la 76ième session", "la 76e session"),
    ("les 2èmes rencontres", "les 2es rencontres"),
    ("la 1ère réunion", "la 1re réunion"),
    ("la 1ere réunion", "la 1re réunion"),
    ("le 1ier juin", "le 1er juin"),
    ("le 1^{er} juin", "le 1er juin"),
    ("la 76e session", "la 76e session"),
    ("A4ème", "A4ème"),
    ("x^{2}", "x^{2}"),
    ("10^{6}", "10^{6}"),
)
FR_TIMES = rows(
    (
        "avant le 12 septembre 2023, à 23h59,",
        f"avant le 12 septembre 2023, à 23{NB}h{NB}59,",
    ),  # seed
    ("de 8 h 30 à 11 h 30 EST", f"de 8{NB}h{NB}30 à 11{NB}h{NB}30 EST"),  # seed
    ("à 10h", f"à 10{NB}h"),
    ("à 10 h.", f"à 10{NB}h."),
    (f"à 10{NB}h{NB}00", f"à 10{NB}h{NB}00"),
    ("dans 10 heures", "dans 10 heures"),
    ("à 10:30", "à 10:30"),
    ("pendant 36h", "pendant 36h"),
    ("Rec. H.264", "Rec. H.264"),
)
FR_NUMBERS = rows(
    ("25%", f"25{NB}%"),
    ("25 %", f"25{NB}%"),
    (f"25{NN}%", f"25{NB}%"),
    ("1 500 CHF", f"1 500{NB}CHF"),
    ("CHF 1 500", f"CHF{NB}1 500"),
    ("10 km", f"10{NB}km"),
    ("20 MHz", f"20{NB}MHz"),
    ("n°5", f"n°{NB}5"),
    ("N° 12", f"N°{NB}12"),
    ("en 2021 CHF", f"en 2021{NB}CHF"),
    ("les 17 institutions", "les 17 institutions"),
    ("le 5G", "le 5G"),
)
FR_RANGES = rows(
    ("(CMDT, 6-15 juin 2022)", "(CMDT, 6–15 juin 2022)"),  # seed
    ("(2021-2022)", "(2021–2022)"),  # seed
    ("la période 2022-2025.", "la période 2022–2025."),  # seed
    ("8 h 30-11 h 30 EST", f"8{NB}h{NB}30–11{NB}h{NB}30 EST"),  # seed
    ("8h30-11h30", f"8{NB}h{NB}30–11{NB}h{NB}30"),
    ("le 2021-12-07", "le 2021-12-07"),
    ("+41-22-730-6301", "+41-22-730-6301"),
    ("+41 22 730-6301", "+41 22 730-6301"),
    ("COVID-19", "COVID-19"),
    ("CMDT-21", "CMDT-21"),
    ("Y.4900-4999", "Y.4900-4999"),
    ("1,5-2", "1,5-2"),
)
FR_UNTOUCHED = rows(
    ("Circulaire CL-22/006", "Circulaire CL-22/006"),  # seed
    ("DM-22/1002 – SG/BDT", "DM-22/1002 – SG/BDT"),  # seed
    ("Résolution A/70/1", "Résolution A/70/1"),  # seed
    ("u4ssc@itu.int", "u4ssc@itu.int"),  # seed
    (
        "https://www.itu.int/en/ITU-T/ssc/united/Pages/202112/meeting.aspx",  # seed
        "https://www.itu.int/en/ITU-T/ssc/united/Pages/202112/meeting.aspx",
    ),
    ("http://x.org/a?b=1;c=2", "http://x.org/a?b=1;c=2"),
    ("voir http://x.org/a?b=1!", f"voir http://x.org/a?b=1{NN}!"),  # the sentence's mark
    ("www.wsis.org/forum", "www.wsis.org/forum"),  # seed
    ("mailto:wtdc@itu.int", "mailto:wtdc@itu.int"),
    ("AT&amp;T", "AT&amp;T"),
    ("UTC+2", "UTC+2"),
    ("UTC-5", "UTC-5"),
)
FR_SEED_SENTENCES = rows(
    (
        "organise la sixième réunion de l'initiative \"Tous unis pour des villes intelligentes "
        'et durables" (U4SSC). Cette réunion se déroulera de manière virtuelle le 7 décembre '
        "2021, de 10 h 00 à 15 h 30 (heure de Genève).",
        "organise la sixième réunion de l’initiative «\u202fTous unis pour des villes "
        "intelligentes et durables\u202f» (U4SSC). Cette réunion se déroulera de manière "
        "virtuelle le 7 décembre 2021, de 10\xa0h\xa000 à 15\xa0h\xa030 (heure de Genève).",
    ),
    (
        "à l'adresse suivante: https://www.itu.int/en/ITU-T/ssc/united/Pages/202112/meeting.aspx."
        " Ce site web",
        "à l’adresse suivante\xa0: https://www.itu.int/en/ITU-T/ssc/united/Pages/202112/"
        "meeting.aspx. Ce site web",
    ),
    (
        "Veuillez agréer, Madame, Monsieur, l'assurance de ma considération distinguée.",
        "Veuillez agréer, Madame, Monsieur, l’assurance de ma considération distinguée.",
    ),
    (
        "qui se tiendra en marge de la 76^{ème} session de l'Assemblée générale",
        "qui se tiendra en marge de la 76e session de l’Assemblée générale",
    ),
    (
        "Référence: **CL-23/24**",
        "Référence\xa0: **CL-23/24**",
    ),
)


@pytest.mark.parametrize(("text", "expected"), FR_COLON)
def test_fr_colon_takes_one_no_break_space_before(text: str, expected: str) -> None:
    assert typeset(text, "fr") == expected


@pytest.mark.parametrize(("text", "expected"), FR_NARROW)
def test_fr_semicolon_exclamation_and_question_marks_take_a_narrow_no_break_space(
    text: str, expected: str
) -> None:
    assert typeset(text, "fr") == expected


@pytest.mark.parametrize(("text", "expected"), FR_QUOTES)
def test_fr_straight_quotes_become_guillemets_with_narrow_spaces_inside(
    text: str, expected: str
) -> None:
    assert typeset(text, "fr") == expected


@pytest.mark.parametrize(("text", "expected"), FR_APOSTROPHE_ELLIPSIS)
def test_fr_apostrophe_is_curly_and_three_dots_are_an_ellipsis(text: str, expected: str) -> None:
    assert typeset(text, "fr") == expected


@pytest.mark.parametrize(("text", "expected"), FR_ORDINALS)
def test_fr_ordinal_abbreviations_become_e_er_re(text: str, expected: str) -> None:
    assert typeset(text, "fr") == expected


@pytest.mark.parametrize(("text", "expected"), FR_TIMES)
def test_fr_times_are_written_23_h_59_with_no_break_spaces(text: str, expected: str) -> None:
    assert typeset(text, "fr") == expected


@pytest.mark.parametrize(("text", "expected"), FR_NUMBERS)
def test_fr_a_number_and_its_percent_unit_or_currency_do_not_break(
    text: str, expected: str
) -> None:
    assert typeset(text, "fr") == expected


@pytest.mark.parametrize(("text", "expected"), FR_RANGES)
def test_fr_a_range_of_numbers_takes_an_en_dash_but_codes_and_dates_do_not(
    text: str, expected: str
) -> None:
    assert typeset(text, "fr") == expected


@pytest.mark.parametrize(("text", "expected"), FR_UNTOUCHED)
def test_fr_references_urls_and_addresses_are_untouched(text: str, expected: str) -> None:
    assert typeset(text, "fr") == expected


@pytest.mark.parametrize(("text", "expected"), FR_SEED_SENTENCES)
def test_fr_seed_sentences_come_out_right(text: str, expected: str) -> None:
    assert typeset(text, "fr") == expected


# --- English -----------------------------------------------------------------------------

FR_THOUSANDS = rows(
    ("10000 participants", f"10{NN}000 participants"),
    ("123456,789", f"123{NN}456,789"),
    ("123 456,789", f"123{NN}456,789"),
    ("10000 €", f"10{NN}000{NB}€"),
    ("10 000 €", f"10{NN}000{NB}€"),
    (f"10{NB}000 CHF", f"10{NN}000{NB}CHF"),
    ("CHF 25000", f"CHF{NB}25{NN}000"),
    ("1234567", f"1{NN}234{NN}567"),
    ("(12345)", f"(12{NN}345)"),
    ("2 500 000 habitants", f"2{NN}500{NN}000 habitants"),
    # four digits and fewer, years, references, telephones and codes: as written
    ("en 2021 et 1500", "en 2021 et 1500"),
    ("3 200 inscrits", "3 200 inscrits"),
    ("Résolution 70/125", "Résolution 70/125"),
    ("A/70/12345", "A/70/12345"),
    ("Circulaire TSB 352", "Circulaire TSB 352"),
    ("ISO 31000", "ISO 31000"),
    ("+41 22 730 6240", "+41 22 730 6240"),
    ("+41 22 730 62 40", "+41 22 730 62 40"),
    ("022 730 6240", "022 730 6240"),
    ("0041227306240", "0041227306240"),
    ("Y.4900", "Y.4900"),
    ("ISBN 978-92-61-12345-6", "ISBN 978-92-61-12345-6"),
    ("75007 Paris", "75007 Paris"),
    ("n° 12345", f"n°{NB}12345"),
    ("https://www.itu.int/md/T22-SG20-12345", "https://www.itu.int/md/T22-SG20-12345"),
)


@pytest.mark.parametrize(("text", "expected"), FR_THOUSANDS)
def test_fr_numbers_of_five_digits_are_grouped_by_narrow_no_break_spaces(
    text: str, expected: str
) -> None:
    assert typeset(text, "fr") == expected
    assert typeset(expected, "fr") == expected


EN_RULES = rows(
    ('the "Partner2Connect" Digital Coalition', "the “Partner2Connect” Digital Coalition"),
    ("He said \"a 'b' c\".", "He said “a ‘b’ c”."),
    ('"United for Smart Sustainable Cities":', "“United for Smart Sustainable Cities”:"),
    ("the Union's Member States", "the Union’s Member States"),
    ("Members' contributions", "Members’ contributions"),
    ("don't", "don’t"),
    ("'quoted'", "‘quoted’"),
    ("the '90s", "the ’90s"),
    ("in the '90s and '00s", "in the ’90s and ’00s"),
    ("the summer of '21.", "the summer of ’21."),
    ("'90s music'", "’90s music’"),
    ("and so on...", "and so on…"),
    ("Subject :", "Subject:"),
    ("Why ?", "Why?"),
    (f"Why{NB}?", "Why?"),
    ("now !", "now!"),
    ("one ; two", "one; two"),
    ("6-16 June 2022", "6–16 June 2022"),
    ("(2021-2022)", "(2021–2022)"),
    ("08:30-11:30 EDT", "08:30–11:30 EDT"),
    ("CHF 1,500", f"CHF{NB}1,500"),
    ("10 km", f"10{NB}km"),
    ("25%", "25%"),
    ("76th session", "76th session"),
    ("23h59", "23h59"),
)
EN_UNTOUCHED = rows(
    ("Circular CL-22/006", "Circular CL-22/006"),
    ("u4ssc@itu.int", "u4ssc@itu.int"),
    ("at 10:30", "at 10:30"),
    (
        "https://www.itu.int/en/ITU-T/ssc/Pages/default.aspx",
        "https://www.itu.int/en/ITU-T/ssc/Pages/default.aspx",
    ),
    ("2021-12-07", "2021-12-07"),
    ("COVID-19", "COVID-19"),
)


@pytest.mark.parametrize(("text", "expected"), EN_RULES)
def test_en_rules(text: str, expected: str) -> None:
    assert typeset(text, "en") == expected


@pytest.mark.parametrize(("text", "expected"), EN_UNTOUCHED)
def test_en_references_urls_and_addresses_are_untouched(text: str, expected: str) -> None:
    assert typeset(text, "en") == expected


def test_a_language_other_than_fr_or_en_is_refused() -> None:
    with pytest.raises(ValueError, match='use "fr" or "en"'):
        typeset("x", "de")
    with pytest.raises(ValueError, match='use "fr" or "en"'):
        typeset_html("x", "de")


# --- HTML --------------------------------------------------------------------------------

HTML_FR = rows(
    (
        '<p>le thème "<strong>Connecter ceux</strong>".</p>',  # seed, rendered
        f"<p>le thème «{NN}<strong>Connecter ceux</strong>{NN}».</p>",
    ),
    ("<p><b>Objet</b>: x</p>", f"<p><b>Objet</b>{NB}: x</p>"),
    ("<p>Réf.: <strong>CL-23/24</strong></p>", f"<p>Réf.{NB}: <strong>CL-23/24</strong></p>"),
    ("<p>la 76<sup>ème</sup> session</p>", "<p>la 76<sup>e</sup> session</p>"),
    ("<p>l&#39;Union &#34;x&#34;</p>", f"<p>l’Union «{NN}x{NN}»</p>"),
    ("<p>l&#x27;Union &quot;x&quot;</p>", f"<p>l’Union «{NN}x{NN}»</p>"),
    ("<p>AT&amp;T ; x</p>", f"<p>AT&amp;T{NN}; x</p>"),
    ("<p>Objet&nbsp;: x</p>", "<p>Objet&nbsp;: x</p>"),
    ("<p>a &lt; b: c</p>", f"<p>a &lt; b{NB}: c</p>"),
    ("<p>&copy; UIT: x</p>", f"<p>&copy; UIT{NB}: x</p>"),
    ("<p>&unknown; x: y</p>", f"<p>&unknown; x{NB}: y</p>"),
    (
        '<a href="https://x.org/a?b=1&amp;c=2" title="Voir: ici">Voir: ici</a>',
        f'<a href="https://x.org/a?b=1&amp;c=2" title="Voir: ici">Voir{NB}: ici</a>',
    ),
    (
        '<a href="https://x.org/p?x=1">https://x.org/p?x=1</a>',
        '<a href="https://x.org/p?x=1">https://x.org/p?x=1</a>',
    ),
    ("<p>Objet</p><p>: x</p>", "<p>Objet</p><p>: x</p>"),
    ("<p>Titre<br>: suite</p>", "<p>Titre<br>: suite</p>"),
    ('<p>voir <code>a: "b"</code>: ici</p>', f'<p>voir <code>a: "b"</code>{NB}: ici</p>'),
    ('<pre>x: "y"\n</pre><p>z:</p>', f'<pre>x: "y"\n</pre><p>z{NB}:</p>'),
    (
        '<style>p::before { content: "x"; }</style><script>if (a ? b : c) {}</script>',
        '<style>p::before { content: "x"; }</style><script>if (a ? b : c) {}</script>',
    ),
    ('<!-- Objet: "x" --><p>a</p>', '<!-- Objet: "x" --><p>a</p>'),
    (
        "<!DOCTYPE html><html><head><title>Lettre: x</title></head></html>",
        f"<!DOCTYPE html><html><head><title>Lettre{NB}: x</title></head></html>",
    ),
    ("<p>u4ssc@itu.int: écrire</p>", f"<p>u4ssc@itu.int{NB}: écrire</p>"),
    ("<p>a > b</p>", "<p>a > b</p>"),
    ("<p>a > b: c</p>", f"<p>a &gt; b{NB}: c</p>"),
    ("texte: <!-- non fermé", f"texte{NB}: <!-- non fermé"),
)


@pytest.mark.parametrize(("html", "expected"), HTML_FR)
def test_html_only_text_changes_and_reads_through_inline_tags(html: str, expected: str) -> None:
    result = typeset_html(html, "fr")
    assert result == expected
    assert isinstance(result, Markup)


def test_html_in_english_uses_curly_quotes_across_tags() -> None:
    html = '<p>the theme "<strong>Connecting the unconnected</strong>" : it\'s</p>'
    expected = "<p>the theme “<strong>Connecting the unconnected</strong>”: it’s</p>"
    assert typeset_html(html, "en") == expected


def test_html_accepts_markup() -> None:
    assert typeset_html(Markup("<p>Objet:</p>"), "fr") == f"<p>Objet{NB}:</p>"


# --- invariants --------------------------------------------------------------------------

FRAGMENTS = [
    "Objet",
    "l'Union",
    "réunion",
    " ",
    "  ",
    NB,
    NN,
    "\u2009",
    "\n",
    ":",
    ";",
    "!",
    "?",
    ",",
    ".",
    "...",
    '"',
    "'",
    "«",
    "»",
    "“",
    "”",
    "(",
    ")",
    "-",
    "–",
    "%",
    "°",
    "n°",
    "N° ",
    "h",
    " h ",
    "23h59",
    "10 h 00",
    "76",
    "1",
    "2021",
    "ème",
    "^{ème}",
    "ère",
    "CHF",
    " km",
    "€",
    "https://www.itu.int/fr/Pages/a.aspx?x=1;y=2",
    "u4ssc@itu.int",
    "10:30",
    "CL-22/006",
    "&amp;",
    "UTC+2",
    "6-16",
    "+41 22 730 6301",
    "*",
    "_",
    "[",
    "]",
]
texts = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
    st.text(alphabet=st.sampled_from(list("ab1 :;!?\"'«»-%h.\n\u00a0\u202f")), max_size=40),
)
langs = st.sampled_from(["fr", "en"])
PROTECTED = [
    "https://www.itu.int/en/ITU-T/ssc/united/Pages/202112/meeting.aspx",
    "http://x.org/a?b=1;c=2&d=e:f",
    "www.wsis.org/forum",
    "u4ssc@itu.int",
    "Partner2Connect@itu.int",
    "10:30",
    "23:59",
    "CL-22/006",
    "DM-22/1002",
]


@settings(max_examples=200)
@given(text=texts, lang=langs)
def test_typeset_is_idempotent(text: str, lang: str) -> None:
    once = typeset(text, lang)
    assert typeset(once, lang) == once


@settings(max_examples=200)
@given(text=texts, lang=langs)
def test_typeset_html_of_escaped_text_is_the_escaped_typeset_text(text: str, lang: str) -> None:
    # The HTML and the text output of a letter say the same thing.
    assert typeset_html(escape(text), lang) == escape(typeset(text, lang))


@settings(max_examples=150)
@given(
    parts=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "<p>",
                    "</p>",
                    "<b>",
                    "</b>",
                    "<br>",
                    "<a href='x:\"y'>",
                    "</a>",
                    "<code>",
                    "</code>",
                    "<!-- c -->",
                ]
            ),
            texts,
        ),
        max_size=6,
    ),
    lang=langs,
)
def test_typeset_html_is_idempotent_and_keeps_every_tag(
    parts: list[tuple[str, str]], lang: str
) -> None:
    html = "".join(tag + str(escape(text)) for tag, text in parts)
    once = typeset_html(html, lang)
    assert typeset_html(once, lang) == once
    tags = [tag for tag, _ in parts]
    position = 0
    for tag in tags:  # every tag is still there, in order, byte for byte
        position = once.index(tag, position) + len(tag)


@settings(max_examples=200)
@given(
    before=texts,
    protected=st.sampled_from(PROTECTED),
    after=st.sampled_from(["", " ", ".", ". ", ", ", ": x", ";", "?", "!", ")", "\n"]),
    lang=langs,
)
def test_urls_addresses_times_and_references_pass_through_unchanged(
    before: str, protected: str, after: str, lang: str
) -> None:
    text = f"{before} {protected}{after}"
    assert protected in typeset(text, lang)
    assert str(escape(protected)) in typeset_html(escape(text), lang)


def test_the_docstring_examples_hold() -> None:
    # the package and each of its modules (typeset and typeset_html live in two of them)
    modules = [dispatch.typography] + [
        importlib.import_module(f"dispatch.typography.{info.name}")
        for info in pkgutil.iter_modules(dispatch.typography.__path__)
    ]
    results = [doctest.testmod(module) for module in modules]
    assert sum(result.failed for result in results) == 0
    assert sum(result.attempted for result in results) >= 2


# Line breaking: what a line may not separate (a date, a time, an acronym, "Rev. 1").
WJ = "\u2060"  # WORD JOINER: the PDF keeps the word on one line (dispatch/pdf.py)
KEEP_TOGETHER = [
    ("fr", "du 17 au 21 mai 2021", f"du 17 au 21{NB}mai{NB}2021"),
    ("fr", "le 1er juin", f"le 1er{NB}juin"),
    ("fr", "en mai 2021", f"en mai{NB}2021"),
    ("fr", "à 8 h 30", f"à 8{NB}h{NB}30"),
    ("fr", "la CEE-ONU et ONU-Femmes", "la CEE\u2011ONU et ONU\u2011Femmes"),
    ("fr", "l'UIT-T", "l’UIT\u2011T"),
    ("fr", "Doc. C22/1 Rev. 1", f"Doc. C22/{WJ}1 Rev.{NB}1"),
    # a short reference, a range of years or days: no break after its slash or its dash
    ("fr", "Circulaire CL-22/006", f"Circulaire CL-22/{WJ}006"),
    ("fr", "Circulaire BDT/DIR/105", f"Circulaire BDT/{WJ}DIR/{WJ}105"),
    ("fr", "le programme (2021-2022)", f"le programme (2021–{WJ}2022)"),
    ("fr", "CMDT, 6-15 juin", f"CMDT, 6–{WJ}15{NB}juin"),
    ("en", "the programme (2021-2022)", f"the programme (2021–{WJ}2022)"),
    ("en", "see A/70/1 and 2021-12-07", f"see A/{WJ}70/{WJ}1 and 2021-12-07"),
    (
        "fr",
        "voir https://www.itu.int/ITU-T/17 mai 2021",
        f"voir https://www.itu.int/ITU-T/17 mai{NB}2021",
    ),
    ("fr", "10 000 personnes le 3 mars", f"10{NN}000 personnes le 3{NB}mars"),
    ("en", "from 17 May 2021", f"from 17{NB}May{NB}2021"),
    ("en", "on May 17, 2021", f"on May{NB}17,{NB}2021"),
    ("en", "at 8.30 a.m.", f"at 8.30{NB}a.m."),
    ("en", "the UNECE-ITU forum", "the UNECE\u2011ITU forum"),
    ("en", "document Add. 2", f"document Add.{NB}2"),
    ("en", "may 17 people come", "may 17 people come"),
]


@pytest.mark.parametrize(
    ("lang", "text", "expected"), KEEP_TOGETHER, ids=[f"{c[0]}:{c[1]}" for c in KEEP_TOGETHER]
)
def test_no_line_breaks_inside_dates_times_acronyms_and_references(
    lang: str, text: str, expected: str
) -> None:
    from dispatch.typography import keep_together

    def keep(text: str) -> str:
        return keep_together(text, lang)

    # what the PDF prints: the typography, then the dates kept together (dispatch/pdf.py)
    assert keep(typeset(text, lang)) == expected
    html = str(typeset_html(f"<p>{escape(text)}</p>", lang))
    assert keep(html) == f"<p>{escape(expected)}</p>"


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "du 17 au 21 mai 2021 (CEE-ONU)", "du 17 au 21 mai 2021 (CEE-ONU)"),
        ("en", "on 17 May 2021 (Rev. 1)", f"on 17 May 2021 (Rev.{NB}1)"),
    ],
)
def test_typeset_leaves_dates_as_formatting_writes_them(
    lang: str, text: str, expected: str
) -> None:
    # formatting.py's dates are a fixed point of typeset(); the PDF joins them itself
    assert typeset(text, lang) == expected


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "BDT/RPM-ARB/Obs, RPM-ARB et CEE-ONU", "BDT/RPM-ARB/Obs, RPM-ARB et CEE-ONU"),
        ("fr", "la CEE\u2011ONU (collé de Word)", "la CEE-ONU (collé de Word)"),
        ("en", "ITU-T and UN\u2011Habitat", "ITU-T and UN-Habitat"),
    ],
)
def test_typeset_never_writes_a_non_breaking_hyphen(lang: str, text: str, expected: str) -> None:
    # U+2011 changes what a string is: a search of the mailbox for "RPM-ARB" must find it.
    # Only the PDF (keep_together_fr/en) holds an acronym's hyphen on one line.
    assert typeset(text, lang) == expected
    assert "\u2011" not in str(typeset_html(f"<p>{escape(text)}</p>", lang))


def test_keep_together_alone_touches_only_the_no_break_characters() -> None:
    from dispatch.typography import keep_together

    assert keep_together('le 17 mai "oui"', "fr") == f'le 17{NB}mai "oui"'
    assert keep_together("on 17 May 'yes'", "en") == f"on 17{NB}May 'yes'"


# What careful readers still caught (issue 24 item 16).
CORPUS = [
    # an unpaired straight quote stays as typed: no lone « or »
    ("fr", 'il a dit "oui et non', 'il a dit "oui et non'),
    ("fr", 'un écran de 12" et', 'un écran de 12" et'),
    ("en", 'a 5" screen', 'a 5" screen'),
    ("fr", 'le "a" et "b" puis "c', f'le «{NN}a{NN}» et «{NN}b{NN}» puis "c'),
    # a number and its unit do not part, after a dimension too
    ("fr", "un 4x4 m de long", f"un 4x4{NB}m de long"),
    ("en", "a 4x4 m room", f"a 4x4{NB}m room"),
    # a quoted word that starts with a dot opens like any other
    ("fr", 'le format ".docx" est', f"le format «{NN}.docx{NN}» est"),
    ("en", 'the ".docx" format', "the “.docx” format"),
    # an English single quote before a double one opens both
    ("en", "he said '\"Alfred\" is here' now", "he said ‘“Alfred” is here’ now"),
]


@pytest.mark.parametrize(("lang", "text", "expected"), CORPUS, ids=[c[1] for c in CORPUS])
def test_typography_corpus_of_what_readers_caught(lang: str, text: str, expected: str) -> None:
    assert typeset(text, lang) == expected
    assert typeset(expected, lang) == expected
    assert str(typeset_html(f"<p>{escape(text)}</p>", lang)) == f"<p>{escape(expected)}</p>"
