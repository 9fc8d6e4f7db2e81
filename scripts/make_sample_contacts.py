"""Rebuild the sample workbook ``contacts.xlsx``: fictional addressees, example.org only.

Run: ``.venv/bin/python scripts/make_sample_contacts.py [PATH] [--count N]``. With
``--count`` it makes a larger workbook of generated addressees (benchmarks, tests).
The output is deterministic: the same arguments give the same workbook.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

HEADERS = [
    "email",
    "civility",
    "first_name",
    "last_name",
    "function",
    "organisation",
    "country",
    "categories",
    "language",
    "salutation",
    "cc",
    "active",
]

CATEGORIES = [
    (
        "MS",
        "Aux administrations des États Membres de l'Union",
        "Administrations of Member States of the Union",
    ),
    ("SMT", "Aux Membres du Secteur UIT-T", "ITU-T Sector Members"),
    ("AST", "Aux Associés de l'UIT-T", "ITU-T Associates"),
    ("AC", "Aux établissements universitaires participant aux travaux de l'UIT", "ITU Academia"),
    ("SMD", "Aux Membres du Secteur de l'UIT-D", "ITU-D Sector Members"),
    (
        "RIO",
        "Aux organisations régionales et internationales",
        "Regional and international organizations",
    ),
    (
        "UNSA",
        "Aux institutions spécialisées des Nations Unies",
        "United Nations specialized agencies",
    ),
    ("WSIS", "À toutes les parties prenantes du SMSI", "All WSIS stakeholders"),
    (
        "SGC",
        "Aux Présidents et Vice-Présidents des commissions d'études",
        "The Chairmen and Vice-Chairmen of Study Groups",
    ),
    (
        "BDT",
        "À la Directrice du Bureau de développement des télécommunications",
        "The Director of the Telecommunication Development Bureau",
    ),
    (
        "BR",
        "Au Directeur du Bureau des radiocommunications",
        "The Director of the Radiocommunication Bureau",
    ),
]

# (civility fr/en, first, last, function, organisation, country, categories, language,
#  salutation, cc, active) — every person and organisation here is invented.
PEOPLE: list[tuple[str, str, str, str, str, str, str, str, str, str, str]] = [
    (
        "Mme",
        "Amélie",
        "Durand",
        "Directrice des affaires internationales",
        "Ministère du Numérique de la République de Lorvane",
        "Lorvane",
        "MS",
        "fr",
        "Madame la Directrice,",
        "",
        "yes",
    ),
    (
        "M.",
        "Koffi",
        "Mensah",
        "Chef de la coopération",
        "Autorité de régulation des postes et télécommunications d'Ébénie",
        "Ébénie",
        "MS",
        "fr",
        "",
        "",
        "yes",
    ),
    (
        "Ms",
        "Hannah",
        "Whitfield",
        "Head of International Affairs",
        "Department for Digital Affairs of Northmoor",
        "Northmoor",
        "MS",
        "en",
        "",
        "",
        "yes",
    ),
    (
        "Mr",
        "Tomás",
        "Ferreira",
        "Director, Spectrum Policy",
        "Communications Authority of Costa Azul",
        "Costa Azul",
        "MS",
        "en",
        "",
        "registry@example.org",
        "yes",
    ),
    (
        "Mme",
        "Zoé",
        "Lefèvre",
        "Conseillère",
        "Ministère des Postes de Valmont",
        "Valmont",
        "MS",
        "fr",
        "",
        "",
        "yes",
    ),
    (
        "M.",
        "Jean-Baptiste",
        "Nkurunziza",
        "Directeur général",
        "Agence nationale des TIC de Kivala",
        "Kivala",
        "MS",
        "fr",
        "Monsieur le Directeur général,",
        "",
        "yes",
    ),
    (
        "Dr",
        "Priya",
        "Raman",
        "Chief Technology Officer",
        "Orbitel Networks Ltd",
        "Northmoor",
        "SMT;SMD",
        "en",
        "",
        "",
        "yes",
    ),
    (
        "M.",
        "Étienne",
        "Giraud",
        "Responsable normalisation",
        "Télécoms Rivière SA",
        "Valmont",
        "SMT",
        "fr",
        "",
        "",
        "yes",
    ),
    (
        "Ms",
        "Chloé",
        "O'Neill",
        "Standards Manager",
        "Bluewave Systems Inc.",
        "Costa Azul",
        "SMT",
        "en",
        "",
        "",
        "yes",
    ),
    (
        "Mme",
        "Inès",
        "Benali",
        "Chargée de programme",
        "Réseaux Méridien SARL",
        "Ébénie",
        "AST",
        "fr",
        "",
        "",
        "yes",
    ),
    ("Mr", "Olu", "Adeyemi", "Founder", "Kestrel IoT Labs", "Kivala", "AST", "en", "", "", "yes"),
    (
        "Pr",
        "Hélène",
        "Marchand",
        "Professeure",
        "Université de Lorvane",
        "Lorvane",
        "AC",
        "fr",
        "Madame la Professeure,",
        "secretariat.marchand@example.org",
        "yes",
    ),
    (
        "Prof.",
        "Daniel",
        "Kowalczyk",
        "Professor of Networks",
        "Northmoor Institute of Technology",
        "Northmoor",
        "AC",
        "en",
        "Dear Professor Kowalczyk,",
        "",
        "yes",
    ),
    (
        "M.",
        "Moussa",
        "Traoré",
        "Doyen",
        "École supérieure des télécommunications de Kivala",
        "Kivala",
        "AC",
        "fr",
        "",
        "",
        "yes",
    ),
    (
        "Dr",
        "Mei",
        "Lin",
        "Research Director",
        "Costa Azul University",
        "Costa Azul",
        "AC",
        "en",
        "",
        "",
        "yes",
    ),
    (
        "Mme",
        "Françoise",
        "Œillet",
        "Secrétaire générale",
        "Union régionale des télécommunications du Sahel",
        "",
        "RIO",
        "fr",
        "",
        "",
        "yes",
    ),
    (
        "Mr",
        "Samuel",
        "Okafor",
        "Secretary-General",
        "Atlantic Telecommunications Organization",
        "",
        "RIO",
        "en",
        "",
        "",
        "yes",
    ),
    (
        "M.",
        "Luc",
        "Bernard",
        "Directeur",
        "Organisation mondiale des archives numériques",
        "",
        "UNSA",
        "fr",
        "",
        "",
        "yes",
    ),
    (
        "Ms",
        "Grace",
        "Mbeki",
        "Director",
        "World Agency for Rural Connectivity",
        "",
        "UNSA",
        "en",
        "",
        "",
        "yes",
    ),
    (
        "M.",
        "Rémi",
        "Caron",
        "Président de la Commission d'études 20",
        "Secrétariat",
        "",
        "SGC",
        "fr",
        "",
        "",
        "yes",
    ),
    (
        "Ms",
        "Laura",
        "Jensen",
        "Vice-Chair, Study Group 13",
        "Secretariat",
        "",
        "SGC",
        "en",
        "",
        "",
        "yes",
    ),
    (
        "Mme",
        "Nadia",
        "Haddad",
        "Directrice",
        "Bureau de développement des télécommunications",
        "",
        "BDT",
        "fr",
        "Madame la Directrice,",
        "",
        "yes",
    ),
    (
        "Mr",
        "Peter",
        "Lindqvist",
        "Director",
        "Radiocommunication Bureau",
        "",
        "BR",
        "en",
        "",
        "",
        "yes",
    ),
    (
        "Mme",
        "Claire",
        "Dubois",
        "Déléguée",
        "Ministère du Numérique de la République de Lorvane",
        "Lorvane",
        "MS;WSIS",
        "fr",
        "",
        "",
        "no",
    ),
    (
        "M.",
        "Hugo",
        "Laurent",
        "Coordonnateur",
        "Association Ville Connectée",
        "Valmont",
        "WSIS",
        "fr",
        "",
        "",
        "yes",
    ),
    (
        "Mr",
        "Ahmed",
        "Farouk",
        "Programme Officer",
        "Open Networks Foundation",
        "Kivala",
        "WSIS",
        "en",
        "",
        "",
        "yes",
    ),
]

FIRST = [
    "Anne",
    "Paul",
    "Marie",
    "Karim",
    "Sofia",
    "Lucas",
    "Aïcha",
    "Noah",
    "Léa",
    "Omar",
    "Elena",
    "Yann",
    "Fatou",
    "Igor",
    "Maëlle",
    "Ravi",
    "Björn",
    "Nora",
    "Théo",
    "Ama",
]
LAST = [
    "Martin",
    "Nguyen",
    "Diallo",
    "Rossi",
    "Schmidt",
    "Kim",
    "García",
    "Haddad",
    "Moreau",
    "Okoro",
    "Silva",
    "Novak",
    "Fontaine",
    "Mbaye",
    "Petit",
    "Santos",
    "Larsen",
    "Roux",
]
ORG = [
    "Ministère des Communications de {c}",
    "Autorité de régulation de {c}",
    "Ministry of ICT of {c}",
    "{c} Telecom",
    "Université polytechnique de {c}",
    "{c} Institute of Technology",
]
COUNTRY = ["Lorvane", "Valmont", "Ébénie", "Kivala", "Northmoor", "Costa Azul", "Isla Verde"]
CODES = ["MS", "SMT", "AST", "AC", "SMD", "RIO", "UNSA", "WSIS"]


def generated(count: int, seed: int = 352) -> list[list[str]]:
    """``count`` fictional addressees (deterministic), spread over categories and languages."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        lang = "fr" if i % 2 == 0 else "en"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country = rng.choice(COUNTRY)
        civility = rng.choice(["Mme", "M."] if lang == "fr" else ["Ms", "Mr"])
        code = CODES[i % len(CODES)]
        rows.append(
            [
                f"person{i:06d}@example.org",
                civility,
                first,
                last,
                "Délégué(e)" if lang == "fr" else "Delegate",
                rng.choice(ORG).format(c=country),
                country,
                code,
                lang,
                "",
                "",
                "yes",
            ]
        )
    return rows


def sample_rows() -> list[list[str]]:
    """The ~60 hand-written and generated addressees of the bundled sample."""
    rows = []
    for civ, first, last, function, org, country, cats, lang, sal, cc, active in PEOPLE:
        local = f"{first}.{last}".lower().replace("'", "")
        local = (
            local.replace("é", "e")
            .replace("è", "e")
            .replace("ë", "e")
            .replace("ç", "c")
            .replace("ï", "i")
            .replace("ô", "o")
            .replace("œ", "oe")
            .replace("ó", "o")
            .replace("á", "a")
            .replace("ö", "o")
            .replace("à", "a")
        )
        rows.append(
            [
                f"{local}@example.org",
                civ,
                first,
                last,
                function,
                org,
                country,
                cats,
                lang,
                sal,
                cc,
                active,
            ]
        )
    rows += generated(36, seed=2021)
    return rows


def write_workbook(path: Path, rows: list[list[str]]) -> None:
    """Write the Contacts and Categories sheets, with bold headers and sensible widths.

    In openpyxl's write-only mode, which streams the rows: 100 000 addressees (the
    benchmarks' scale rows) in about half the time and a fraction of the memory.
    """
    wb = Workbook(write_only=True)
    for title, header, body in (
        ("Contacts", HEADERS, rows),
        ("Categories", ["code", "fr", "en"], [list(row) for row in CATEGORIES]),
    ):
        sheet = wb.create_sheet(title)
        sheet.freeze_panes = "A2"
        for i in range(len(header)):  # widths from the header and the first 200 rows
            width = max(len(str(row[i] or "")) for row in [header, *body[:200]] if i < len(row))
            sheet.column_dimensions[get_column_letter(i + 1)].width = min(max(width + 2, 8), 60)
        bold = []
        for name in header:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = Font(bold=True)
            bold.append(cell)
        sheet.append(bold)
        for row in body:
            sheet.append(row)
    wb.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", default="contacts.xlsx", type=Path)
    parser.add_argument(
        "--count", type=int, default=None, help="generate N addressees instead of the sample"
    )
    args = parser.parse_args()
    rows = sample_rows() if args.count is None else generated(args.count)
    write_workbook(args.path, rows)
    print(f"wrote {len(rows)} addressees to {args.path}")


if __name__ == "__main__":
    main()
