"""Pictures for the README, made from the sample with the project's own code.

    .venv/bin/python scripts/screenshots.py            # all pictures into docs/
    .venv/bin/python scripts/screenshots.py --only preview

- ``docs/preview-1280.png`` and ``docs/preview-390.png``: the preview's index of the
  sample mailing (mailings/tsb-352 with contacts.xlsx), after a send, in headless
  chromium (Debian's ``chromium``, see scripts/system-deps.sh) at 1280 and 390 pixels.
- ``docs/preview-letter-1280.png``: a French letter beside its English version.
- ``docs/report-summary.png``: the Summary sheet of report.xlsx, converted by LibreOffice
  (``soffice``; ``apt-get install libreoffice-calc-nogui``) to PDF, then by pdftoppm to PNG.

The send is simulated: the journal states come from a fixed pattern (most sent, a few
refused), so that the pictures are the same at every run. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dispatch.journal import JournalRow  # noqa: E402
from dispatch.output import render_files  # noqa: E402
from dispatch.prepare import Prepared, prepare  # noqa: E402
from dispatch.preview import write_preview  # noqa: E402
from dispatch.report import write_report  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FORMATS = ["html", "pdf", "eml"]
ZONE = ZoneInfo("Europe/Zurich")


def simulated_journal(prepared: Prepared) -> list[JournalRow]:
    """Journal rows as after a send of the sample: a fixed pattern, the same every run."""
    start = datetime(2026, 11, 30, 8, 15, tzinfo=UTC)
    rows: list[JournalRow] = []
    for i, letter in enumerate(prepared.letters):
        person = letter.addressee
        at = start + timedelta(seconds=2 * i)
        state, code, reply = "sent", 250, "2.0.0 Ok: queued"
        if i % 17 == 5:
            state, code, reply = (
                "failed-permanent",
                550,
                f"5.1.1 <{person.email}>: mailbox unavailable",
            )
        elif i % 23 == 7:
            reply = f"2.0.0 Ok: queued; refused: cc.{person.email} (550 5.1.1 unknown user)"
        rows.append(
            JournalRow(
                key=person.key,
                message_id=f"<{i}.tsb-352@example.org>",
                recipients=(person.email, *person.cc),
                digest="-",
                language=letter.lang,
                categories=letter.categories,
                state=state,  # type: ignore[arg-type]
                attempts=1,
                code=code,
                reply=reply,
                updated_at=at,
                sent_at=at if state == "sent" else None,
            )
        )
    return rows


def preview_pictures(prepared: Prepared, rows: list[JournalRow], work: Path, docs: Path) -> None:
    from playwright.sync_api import sync_playwright

    out = work / "preview"
    render_files(prepared, out, FORMATS)
    result = write_preview(prepared, out, FORMATS, journal_rows=rows)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for width, height, scale in ((1280, 900, 1), (390, 844, 2)):
            page = browser.new_page(
                viewport={"width": width, "height": height}, device_scale_factor=scale
            )
            page.goto(result.index.as_uri())
            page.wait_for_selector("#filters:not([hidden])")
            page.screenshot(path=str(docs / f"preview-{width}.png"))
            page.close()
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(result.index.as_uri() + "#lang=fr")
        page.locator("#rows tr a").first.click()
        page.wait_for_selector("#frames iframe")
        page.click("#compare")
        page.wait_for_timeout(500)  # the two letters' fonts
        page.screenshot(path=str(docs / "preview-letter-1280.png"))
        browser.close()


def report_picture(prepared: Prepared, rows: list[JournalRow], work: Path, docs: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None or shutil.which("pdftoppm") is None:
        sys.exit(
            "screenshots.py: the report picture needs LibreOffice and poppler "
            "(apt-get install libreoffice-calc-nogui poppler-utils)."
        )
    report = work / "report.xlsx"
    subjects = {}
    for letter in prepared.letters:
        subjects.setdefault(letter.lang, letter.subject)
    write_report(
        prepared.mailing,
        rows,
        report,
        contacts=prepared.contacts,
        subjects=subjects,
        zone=ZONE,
    )
    profile = (work / "lo-profile").as_uri()
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(report),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "110",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(work / "report.pdf"),
            str(docs / "report-summary"),
        ],
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["preview", "report"], default=None)
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    options = parser.parse_args()
    prepared = prepare(ROOT / "mailings" / "tsb-352", contacts_path=ROOT / "contacts.xlsx")
    rows = simulated_journal(prepared)
    options.docs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if options.only in (None, "preview"):
            preview_pictures(prepared, rows, work, options.docs)
        if options.only in (None, "report"):
            report_picture(prepared, rows, work, options.docs)
    for picture in sorted(options.docs.glob("*.png")):
        print(picture.relative_to(ROOT) if picture.is_relative_to(ROOT) else picture)


if __name__ == "__main__":
    main()
