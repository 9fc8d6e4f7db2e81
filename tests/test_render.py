"""Rendering letters: the samples reproduce the seeds, escaping, placeholders, reuse."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch.errors import InvalidInput
from dispatch.prepare import prepare
from dispatch.templates import TemplateSet
from tests.conftest import MINIMAL_MAILING, ROOT, WorkbookFactory, no_copy, person

MakeMailing = Callable[..., Path]
NBSP, NNBSP = "\u00a0", "\u202f"


def plain(text: str) -> str:
    """Letters use no-break spaces and hyphens; compare their words with ordinary ones."""
    text = text.replace("\u2011", "-")
    return re.sub(r"\s+", " ", text.replace(NBSP, " ").replace(NNBSP, " "))


@pytest.fixture(scope="module")
def tsb352() -> dict[str, str]:
    prepared = prepare(ROOT / "mailings" / "tsb-352", contacts_path=ROOT / "contacts.xlsx")
    fr = next(x for x in prepared.letters if x.lang == "fr" and not x.addressee.salutation)
    en = next(x for x in prepared.letters if x.lang == "en" and not x.addressee.salutation)
    return {
        "fr_text": fr.text,
        "fr_html": fr.html,
        "en_text": en.text,
        "en_html": en.html,
        "fr_subject": fr.subject,
    }


SEED_000_LINES = [
    "Genève, le 13 octobre 2021",
    "Réf. : Circulaire TSB 352",
    "Tél. : +41 22 730 6301",
    "Télécopie : +41 22 730 5853",
    "Courriel : u4ssc@itu.int",
    "Aux administrations des États Membres de l’Union ;",
    "Aux Membres du Secteur UIT-T ;",
    "Aux Associés de l’UIT-T ;",
    "Aux établissements universitaires participant aux travaux de l’UIT",
    "Copie :",
    "Aux Présidents et Vice-Présidents des commissions d’études ;",
    "À la Directrice du Bureau de développement des télécommunications ;",
    "Au Directeur du Bureau des radiocommunications",
    "Objet : Sixième réunion de l’initiative « Tous unis pour des villes intelligentes et "
    "durables » (réunion virtuelle, 7 décembre 2021)",
    "Madame, Monsieur,",
    "1 J’ai l’honneur de vous informer que l’Union internationale des télécommunications (UIT)",
    "organise la sixième réunion de l’initiative « Tous unis pour des villes intelligentes et "
    "durables » (U4SSC). Cette réunion se déroulera de manière virtuelle le 7 décembre 2021, "
    "de 10 h 00 à 15 h 30 (heure de Genève).",
    "2 La réunion aura lieu en anglais seulement.",
    "17 institutions et programmes des Nations Unies",
    "à l’adresse http://www.itu.int/en/ITU-T/ssc/united/Pages/default.aspx.",
    "4 Les principaux objectifs de la réunion sont les suivants :",
    "• Examiner les activités mises en œuvre dans le cadre de l’initiative U4SSC.",
    "• Approuver le mandat et le programme de travail annuel de l’initiative U4SSC (2021–2022).",
    "5 La participation à la réunion est ouverte aux États Membres",
    "La participation est gratuite.",
    "6 Les informations relatives à la réunion",
    "à l’adresse suivante : https://www.itu.int/en/ITU-T/ssc/united/Pages/202112/meeting.aspx.",
    "Veuillez noter que l’inscription au webinaire est obligatoire.",
    "Veuillez agréer, Madame, Monsieur, l’assurance de ma considération distinguée.",
    "[Original signé]",
    "Chaesub Lee",
]


@pytest.mark.parametrize("line", SEED_000_LINES, ids=lambda s: s[:40])
def test_the_french_sample_contains_seed_000_line_for_line(
    tsb352: dict[str, str],
    line: str,
) -> None:
    assert plain(line) in plain(tsb352["fr_text"])


def test_the_french_sample_has_no_typographic_slip(tsb352: dict[str, str]) -> None:
    text = tsb352["fr_text"]
    assert '"' not in text and "'" not in text
    assert not re.search(r" [;:!?»]", text), re.findall(r".{20} [;:!?»]", text)
    assert not re.search(r"« ", text)
    assert "Veillez" not in text


def test_the_english_sample_follows_english_conventions(tsb352: dict[str, str]) -> None:
    text = plain(tsb352["en_text"])
    assert "Geneva, 13 October 2021" in text
    assert "Ref.: TSB Circular 352" in text
    assert (
        "Sixth meeting of the “United for Smart Sustainable Cities” initiative "
        "(virtual meeting, 7 December 2021)" in text
    )
    assert "on 7 December 2021, 10:00 to 15:30 (Geneva time)" in text
    assert "in English only" in text
    assert "Dear Sir/Madam," in text
    assert "Yours faithfully," in text
    assert "[Original signed]" in text


def test_the_html_letter_is_a_document_with_the_same_substance(tsb352: dict[str, str]) -> None:
    html = tsb352["fr_html"]
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in html
    assert '<span class="num">4</span>' in html
    assert "<li>Examiner les activités" in html
    assert "de 10 h 00 à 15 h 30" in plain(html)


def test_cmdt21_sample_reproduces_seed_001_with_its_annex() -> None:
    prepared = prepare(ROOT / "mailings" / "cmdt-21", contacts_path=ROOT / "contacts.xlsx")
    fr = next(x for x in prepared.letters if x.lang == "fr" and not x.addressee.salutation)
    text = plain(fr.text)
    for line in [
        "Genève, le 22 février 2022",
        "Réf. : DM-22/1002 – SG/BDT",
        "Contact : M. Stephen Bereaux",
        "Aux établissements universitaires participant aux travaux de l’UIT",
        "Objet : Invitation à la Conférence mondiale de développement des télécommunications "
        "(CMDT-21)",
        "En complément de la Lettre circulaire CL-22/006,",
        "sera convoquée à Kigali (Rwanda), du 6 au 16 juin 2022.",
        "lors de sa réunion du 23 novembre 2020",
        "qui se tiendra également à Kigali (Rwanda), du 2 au 4 juin 2022.",
        "qui aura lieu du 7 au 9 juin 2022.",
        "à la réunion qu’il a tenue du 8 au 12 novembre 2021",
        "site web de la CMDT-21 [1]",
        "Liens : [1] https://www.itu.int/wtdc21 [2] https://www.itu.int/en/ITU-D/",
        "Veuillez agréer, Madame, Monsieur, l’assurance de ma considération distinguée.",
        "Houlin Zhao",
        "Annexe 1 : Projet d’ordre du jour de la CMDT-21",
        "I Rapport sur la mise en œuvre du Plan d’action de Buenos Aires",
        "14. Divers",
        "1. Point sur la transformation numérique",
    ]:
        assert plain(line) in text, line
    assert "CL-22/006" in fr.html and "<strong>Kigali (Rwanda), du 6" in plain(fr.html)
    assert 'class="annexes-page"' in fr.html


def test_workbook_values_are_escaped_in_html(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    text = MINIMAL_MAILING.replace(
        'fr = "La réunion aura lieu',
        'fr = "Pour {{ addressee.organisation }} : la réunion aura lieu',
    )
    prepared = prepare(
        make_mailing(no_copy(text)),
        contacts_path=make_workbook([person("a@example.org", organisation="<b>Ann</b> & Co")]),
    )
    (letter,) = prepared.letters
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; Co" in letter.html
    assert "<b>Ann</b>" not in letter.html
    assert "<b>Ann</b> & Co" in letter.text


def test_an_undefined_placeholder_names_the_field_and_placeholder(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    text = MINIMAL_MAILING.replace("{{ event.languages | join_list }}", "{{ event.langauges }}")
    with pytest.raises(InvalidInput) as caught:
        prepare(make_mailing(text), contacts_path=make_workbook())
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 2  # once per language, not once per addressee
    assert messages[0].startswith("mailing.toml, field body.languages.fr")
    assert messages[0] == (
        "mailing.toml, field body.languages.fr: the placeholder event.langauges names no "
        "value. Did you mean event.languages? Correct the placeholder."
    )


def test_an_undefined_placeholder_in_a_template_names_file_and_line(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    import shutil

    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    path = tmp_path / "templates" / "fr" / "invitation.txt"
    path.write_text(
        path.read_text().replace("{{ super() -}}", "{{ super() -}}\n{{ mailing.nothing_here }}")
    )
    with pytest.raises(InvalidInput) as caught:
        prepare(
            make_mailing(),
            contacts_path=make_workbook(),
            templates=TemplateSet(tmp_path / "templates"),
        )
    (message,) = [str(p) for p in caught.value.problems]
    assert message.startswith("invitation.txt, line ")
    assert message.endswith(
        ": the placeholder nothing_here names no value. Correct the "
        "placeholder (see the README for the names a letter can use)."
    )


def test_a_template_syntax_error_names_file_and_line(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    import shutil

    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    (tmp_path / "templates" / "en" / "invitation.html").write_text(
        '{% extends "base.html" %}\n\n{% block body %}{{ oops }\n{% endblock %}\n'
    )
    with pytest.raises(InvalidInput) as caught:
        prepare(
            make_mailing(),
            contacts_path=make_workbook(),
            templates=TemplateSet(tmp_path / "templates"),
        )
    (message,) = [str(p) for p in caught.value.problems]
    assert re.match(r"invitation\.html, line 3: template syntax error", message), message


def test_templates_run_in_a_sandbox(
    tmp_path: Path,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    text = MINIMAL_MAILING.replace(
        'fr = "La réunion aura lieu', 'fr = "{{ mailing.__class__.__mro__ }} La réunion aura lieu'
    )
    with pytest.raises(InvalidInput) as caught:
        prepare(make_mailing(text), contacts_path=make_workbook())
    assert "has no value" in str(caught.value) or "may not" in str(caught.value)


def test_identical_letters_are_rendered_once(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    people = [person(f"p{i}@example.org", language="fr" if i % 2 else "en") for i in range(200)]
    prepared = prepare(make_mailing(no_copy()), contacts_path=make_workbook(people))
    assert len(prepared.letters) == 200
    assert prepared.distinct_letters == 2


def test_a_personal_salutation_replaces_the_default_and_is_repeated_in_the_closing(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    prepared = prepare(
        make_mailing(no_copy()),
        contacts_path=make_workbook([person("a@example.org", salutation="Monsieur le Ministre")]),
    )
    (letter,) = prepared.letters
    assert "\nMonsieur le Ministre,\n" in letter.text
    # and, to a minister, with "haute considération" (issue 24 item 12)
    assert (
        "Veuillez agréer, Monsieur le Ministre, l’expression de ma haute considération."
        in plain(letter.text)
    )


def test_a_category_addressed_but_absent_from_the_workbook_is_reported(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    text = MINIMAL_MAILING.replace('to = ["MS", "AC"]', 'to = ["MS", "UNSA"]')
    with pytest.raises(InvalidInput) as caught:
        prepare(make_mailing(text), contacts_path=make_workbook())
    assert str(caught.value.problems[0]).startswith(
        'mailing.toml, field addressees.to[1]: "UNSA" is not a category of the workbook '
        "contacts.xlsx (codes: MS, AC, SGC)"
    )


def test_problems_of_mailing_and_workbook_are_reported_together(
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    text = MINIMAL_MAILING.replace("date = 2021-10-13", 'date = "2021-10-13"')
    with pytest.raises(InvalidInput) as caught:
        prepare(make_mailing(text), contacts_path=make_workbook([person("bad@")]))
    files = sorted(str(p).split(",")[0].split(":")[0] for p in caught.value.problems)
    assert files == ["contacts.xlsx", "mailing.toml"]


def test_cl23_24_consultation_sample_reproduces_seed_003() -> None:
    prepared = prepare(ROOT / "mailings" / "cl-23-24", contacts_path=ROOT / "contacts.xlsx")
    fr = next(x for x in prepared.letters if x.lang == "fr" and not x.addressee.salutation)
    text = plain(fr.text)
    for line in [
        "Genève, le 18 août 2023",
        "Référence : CL-23/24",
        "Objet : Consultation informelle sur le concept d’une UIT unie dans l’action et sur "
        "sa mise en œuvre",
        "avant le 12 septembre 2023, à 23 h 59, heure de Genève (UTC+2).",
        "à l’adresse strategy@itu.int.",
        "Je vous prie d’agréer, Madame, Monsieur, l’expression de ma haute considération.",
        "Doreen Bogdan-Martin Secrétaire générale",
    ]:
        assert plain(line) in text, line
    en = next(x for x in prepared.letters if x.lang == "en" and not x.addressee.salutation)
    assert "by 12 September 2023, 23:59 Geneva time (UTC+2)." in plain(en.text)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Œillet", "oeillet"),
        ("Ærø Ørsted", "aero-orsted"),
        ("Łódź", "lodz"),
        ("Дмитрий Иванов", "dmitriy-ivanov"),
        ("Straße", "strasse"),
        ("Ministère des Postes", "ministere-des-postes"),
    ],
)
def test_every_name_keeps_its_letters_in_file_names(
    make_mailing: Callable[..., Path], make_workbook: WorkbookFactory, name: str, expected: str
) -> None:
    prepared = prepare(
        make_mailing(no_copy()),
        contacts_path=make_workbook([person("x@example.org", first_name="", last_name=name)]),
    )
    assert prepared.letters[0].stem.endswith(f"_{expected}")


def _with_registration(extra: str) -> str:
    return MINIMAL_MAILING.replace(
        'languages = ["en"]\n', f'languages = ["en"]\nregistration_deadline = 2021-11-30\n{extra}'
    )


def test_a_registration_deadline_alone_adds_no_paragraph(
    make_mailing: Callable[..., Path], make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(make_mailing(_with_registration("")), contacts_path=make_workbook())
    for letter in prepared.letters:
        assert "inscrire" not in letter.text and "register" not in letter.text
        assert "inscrire" not in letter.html and "register" not in letter.html


def test_the_registration_paragraph_appears_when_the_mailing_asks_for_it(
    make_mailing: Callable[..., Path], make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(
        make_mailing(_with_registration("registration_paragraph = true\n")),
        contacts_path=make_workbook(),
    )
    fr = next(x for x in prepared.letters if x.lang == "fr")
    en = next(x for x in prepared.letters if x.lang == "en")
    assert "Les participants sont priés de s’inscrire avant le 30 novembre 2021." in fr.text
    assert "Participants are kindly requested to register by 30 November 2021." in en.text


def test_the_registration_paragraph_without_a_deadline_is_a_problem(
    make_mailing: Callable[..., Path], make_workbook: WorkbookFactory
) -> None:
    text = MINIMAL_MAILING.replace(
        'languages = ["en"]\n', 'languages = ["en"]\nregistration_paragraph = true\n'
    )
    with pytest.raises(InvalidInput, match="registration_deadline is not given"):
        prepare(make_mailing(text), contacts_path=make_workbook())


def _closing(letter_text: str) -> str:
    return next(line for line in letter_text.splitlines() if line.startswith("Veuillez agréer"))


def test_the_french_closing_owes_a_minister_or_an_ambassador_haute_consideration(
    make_mailing: Callable[..., Path], make_workbook: WorkbookFactory
) -> None:
    prepared = prepare(
        make_mailing(no_copy()),
        contacts_path=make_workbook(
            [
                person("m@example.org", civility="S.E. M.", function="Ministre des Postes"),
                person("a@example.org", civility="Mme", function="Ambassadrice"),
                person("d@example.org", civility="M.", function="Directeur général"),
            ]
        ),
    )
    closings = {x.addressee.email: _closing(x.text) for x in prepared.letters}
    assert closings["m@example.org"].endswith("l’expression de ma haute considération.")
    assert closings["a@example.org"].endswith("l’expression de ma haute considération.")
    assert closings["d@example.org"].endswith("l’assurance de ma considération distinguée.")
    html = next(x for x in prepared.letters if x.addressee.email == "m@example.org").html
    assert "l’expression de ma haute considération." in html


def test_the_mailing_says_who_is_owed_haute_consideration(
    make_mailing: Callable[..., Path], make_workbook: WorkbookFactory
) -> None:
    text = MINIMAL_MAILING + '\n[consideration]\nhigh = ["directeur général"]\n'
    prepared = prepare(
        make_mailing(no_copy(text)),
        contacts_path=make_workbook(
            [
                person("m@example.org", function="Ministre des Postes"),
                person("d@example.org", function="Directeur général"),
            ]
        ),
    )
    closings = {x.addressee.email: _closing(x.text) for x in prepared.letters}
    assert closings["d@example.org"].endswith("haute considération.")
    assert closings["m@example.org"].endswith("considération distinguée.")
