"""The contacts workbook: addressees, with their categories and language.

A workbook (``.xlsx``, ``.ods``, ``.xls``) has two sheets:

* ``Contacts``: one addressee a row (see :data:`CONTACT_COLUMNS`);
* ``Categories``: one category a row: its code and the addressee line as it appears
  in a letter, in French and in English (``Aux États Membres de l'UIT`` /
  ``Member States of ITU``).

A ``.csv`` export holds the Contacts sheet only; its categories then come from a
``<name>.categories.csv`` beside it.

Three modules, one job each: :mod:`~dispatch.contacts.reading` turns a file into rows of
raw cells (formats, encodings, broken files); :mod:`~dispatch.contacts.validate` turns
rows into typed values, collecting every problem with its sheet, row (as Excel numbers
it), column and value, raised at once as a :class:`ContactsError`;
:mod:`~dispatch.contacts.model` holds those values.
"""

from dispatch.contacts.lines import lines_missing_for_letters
from dispatch.contacts.model import (
    CATEGORY_COLUMNS,
    CONTACT_COLUMNS,
    HEADER_COLUMNS,
    Addressee,
    Category,
    Contacts,
)
from dispatch.contacts.reading import CATEGORIES_SHEET, CONTACTS_SHEET, CellError
from dispatch.contacts.validate import load_contacts, select

__all__ = [
    "CATEGORIES_SHEET",
    "CATEGORY_COLUMNS",
    "CONTACTS_SHEET",
    "CONTACT_COLUMNS",
    "HEADER_COLUMNS",
    "Addressee",
    "Category",
    "CellError",
    "Contacts",
    "lines_missing_for_letters",
    "load_contacts",
    "select",
]
