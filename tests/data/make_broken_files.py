"""Write the broken input files of this folder (run once; the files are kept in git).

    .venv/bin/python tests/data/make_broken_files.py

Each file is a kind of "workbook" a user may give dispatch by mistake:

* ``old-excel.xls``: an Excel 97-2003 file with no sheet at all (an OLE2 compound file
  holding a ``Workbook`` stream with a BIFF8 BOF record and nothing else);
* ``contacts.xls``: a real Excel 97-2003 contacts workbook written by xlwt: Zoé in row 2
  (her organisation a number, 1234), a blank row 3, Jean in row 4 (his country a date);
* ``encrypted.xlsx``: what Excel writes for a password-protected workbook: not a zip but
  an OLE2 container with ``EncryptionInfo`` and ``EncryptedPackage`` streams (synthetic:
  the package is random bytes, there is no password to find);
* ``latin1.csv`` / ``bom.csv``: CSV exports in Windows Latin-1 and in UTF-8 with a byte
  order mark, each with its ``.categories.csv`` beside it;
* ``truncated.xlsx``: a real workbook cut in the middle (its zip directory is lost);
* ``damaged.xlsx``: a real workbook with some bytes of its compressed sheet overwritten;
* ``text-renamed.xlsx``: a CSV export renamed .xlsx.
"""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent

SECTOR = 512
FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _entry(name: str, kind: int, start: int, size: int, child: int = NO_STREAM) -> bytes:
    """One 128-byte directory entry of a compound file (kind 5: root, 2: stream)."""
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        encoded,
        len(encoded),
        kind,
        1,  # black
        NO_STREAM,
        NO_STREAM,
        child,
        b"\0" * 16,
        0,
        0,
        0,
        start,
        size,
    )


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (version 3) holding ``streams``, each >= 4096 bytes.

    Streams of 4096 bytes or more live in ordinary sectors, so no mini stream is needed.
    The directory is a chain: the root's child is the first stream, each stream's right
    sibling the next (a valid, if unbalanced, tree).
    """
    names = list(streams)
    body = b""
    starts = []
    chains: list[int] = []
    next_sector = 2  # 0: FAT, 1: directory
    for name in names:
        data = streams[name]
        assert len(data) >= 4096, name
        data += b"\0" * (-len(data) % SECTOR)
        count = len(data) // SECTOR
        starts.append(next_sector)
        chains += [next_sector + i + 1 for i in range(count - 1)] + [END]
        next_sector += count
        body += data
    fat = [FAT_SECTOR, END, *chains]
    fat += [FREE] * (SECTOR // 4 - len(fat))
    assert len(fat) == SECTOR // 4, "too many sectors for one FAT sector"
    entries = [_entry("Root Entry", 5, END, 0, child=1)]
    for i, name in enumerate(names):
        raw = bytearray(_entry(name, 2, starts[i], len(streams[name])))
        if i + 1 < len(names):
            struct.pack_into("<I", raw, 72, i + 2)  # right sibling
        entries.append(bytes(raw))
    while len(entries) % 4:
        entries.append(_entry("", 0, 0, 0))
    directory = b"".join(entries)
    assert len(directory) == SECTOR
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\0" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,  # directory sectors (0 in version 3)
        1,  # FAT sectors
        1,  # first directory sector
        0,
        4096,
        END,  # first mini FAT sector
        0,
        END,  # first DIFAT sector
        0,
    )
    header += struct.pack("<I", 0) + struct.pack("<I", FREE) * 108  # DIFAT: the FAT is sector 0
    assert len(header) == SECTOR
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + body


def biff8_workbook() -> bytes:
    """A Workbook stream: a BIFF8 BOF record (workbook globals), an EOF record, padding."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x1FAE, 1997, 0x000100C1, 0x0406)
    eof = struct.pack("<HH", 0x000A, 0)
    data = bof + eof
    return data + b"\0" * (4096 - len(data))


def encryption_info() -> bytes:
    """An agile EncryptionInfo stream: version 4.4, then its XML descriptor."""
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption">'
        b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
        b'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" '
        b'saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/></encryption>'
    )
    data = struct.pack("<HHI", 4, 4, 0x40) + xml
    return data + b"\0" * (4096 - len(data))


def sample_workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Contacts"
    sheet.append(["email", "categories", "language"])
    for i in range(200):
        sheet.append([f"person{i}@example.org", "MS", "fr"])
    book.create_sheet("Categories").append(["code", "fr", "en"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


CATEGORIES = (
    "code;fr;en\n"
    "MS;Aux États Membres de l'UIT;Member States of ITU\n"
    "AC;Aux établissements universitaires participant aux travaux de l'UIT;ITU Academia\n"
    "SGC;Aux Présidents et Vice-Présidents des commissions d'études;"
    "The Chairmen and Vice-Chairmen of Study Groups\n"
)
CONTACTS = (
    "email;first_name;last_name;organisation;categories;language\n"
    "zoe.lefevre@example.org;Zoé;Lefèvre;Ministère des Postes;MS;fr\n"
)


def contacts_xls(path: Path) -> None:
    import datetime as dt

    import xlwt  # type: ignore[import-untyped]

    book = xlwt.Workbook(encoding="utf-8")
    contacts = book.add_sheet("Contacts")
    headers = ["email", "first_name", "last_name", "organisation", "country"]
    rows: list[list[object]] = [
        [*headers, "categories", "language"],
        ["zoe.lefevre@example.org", "Zoé", "Lefèvre", 1234, "Valmont", "MS", "fr"],
        [],
        [
            "jean.dupont@example.org",
            "Jean",
            "Dupont",
            "Ministère",
            dt.date(2021, 12, 7),
            "AC",
            "en",
        ],
    ]
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                contacts.write(r, c, value, dates)
            else:
                contacts.write(r, c, value)
    categories = book.add_sheet("Categories")
    for r, line in enumerate(CATEGORIES.splitlines()):
        for c, value in enumerate(line.split(";")):
            categories.write(r, c, value)
    book.save(str(path))


def main() -> None:
    rng = random.Random(352)
    (HERE / "old-excel.xls").write_bytes(compound_file({"Workbook": biff8_workbook()}))
    package = struct.pack("<Q", 9000) + rng.randbytes(9000)
    (HERE / "encrypted.xlsx").write_bytes(
        compound_file({"EncryptionInfo": encryption_info(), "EncryptedPackage": package})
    )
    (HERE / "latin1.csv").write_bytes(CONTACTS.encode("cp1252"))
    (HERE / "latin1.categories.csv").write_bytes(CATEGORIES.encode("cp1252"))
    (HERE / "bom.csv").write_bytes(CONTACTS.encode("utf-8-sig"))
    (HERE / "bom.categories.csv").write_bytes(CATEGORIES.encode("utf-8-sig"))
    good = sample_workbook()
    (HERE / "truncated.xlsx").write_bytes(good[: len(good) // 2])
    damaged = bytearray(good)
    sheet_at = damaged.find(b"xl/worksheets/sheet1.xml") + 200
    damaged[sheet_at : sheet_at + 64] = rng.randbytes(64)
    (HERE / "damaged.xlsx").write_bytes(bytes(damaged))
    (HERE / "text-renamed.xlsx").write_bytes(CONTACTS.encode("utf-8"))
    contacts_xls(HERE / "contacts.xls")


if __name__ == "__main__":
    main()
