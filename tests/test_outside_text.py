"""Text from outside is shown as text: a workbook cell, a file name, a relay's reply, a
bounce's diagnostic and a name given with ``--by`` are printed as they are, never read as
Rich markup, and no control character in them reaches the terminal (no title set, no
clipboard written, no screen cleared)."""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from dispatch import paths
from dispatch.cli.consoles import make_console, shown
from dispatch.journal import Journal
from dispatch.safe_text import terminal_safe
from tests.conftest import CATEGORIES, WorkbookFactory, person
from tests.helpers import run, use_relay
from tests.smtp_server import RecordingHandler, Sink
from tests.test_bounces_cli import dsn

MakeMailing = Callable[..., Path]

#: What a hostile sender, server or colleague puts in a text: markup that closes a tag
#: never opened (a crash), a hidden link, and the sequences that set the terminal's
#: title, write its clipboard (OSC 52), clear the screen, and CSI as one C1 character.
HOSTILE = (
    "Jane [/Doe] [link=https://evil.example]click[/link] "
    "\x1b]0;owned\x07 \x1b]52;c;ZXZpbA==\x07 \x1b[2J \x9b31m end"
)
#: The same text as it must be seen: whole, each control character as its escape.
VISIBLE = (
    "Jane [/Doe] [link=https://evil.example]click[/link] "
    "\\x1b]0;owned\\x07 \\x1b]52;c;ZXZpbA==\\x07 \\x1b[2J \\x9b31m end"
)
CONTROLS = ("\x1b", "\x07", "\x9b")


def in_xlsx(text: str) -> str:
    """``text`` as a cell of an .xlsx holds it: openpyxl refuses C0 controls, which the
    file format stores as ``_x001B_`` (and any reader, calamine included, decodes)."""
    return "".join(f"_x{ord(c):04X}_" if ord(c) < 0x20 else c for c in text)


def assert_shown_as_text(output: str, expected: str = VISIBLE) -> None:
    """No control character reached the output, and the hostile text is visible."""
    leaked = [c for c in CONTROLS if c in output]
    assert not leaked, f"control characters reached the terminal: {leaked!r}\n{output}"
    flat = " ".join(output.split())  # tables fold long cells over several lines
    for part in expected.split():
        assert part in flat, f"{part!r} not shown\n{output}"


def test_a_value_is_shown_with_every_control_character_as_its_escape() -> None:
    assert terminal_safe(HOSTILE) == VISIBLE
    assert terminal_safe("Zoë Ünal, 東京, Ελένη") == "Zoë Ünal, 東京, Ελένη"
    assert terminal_safe("a\rb\x7fc\u202ed\u2028e") == "a\\rb\\x7fc\\u202ed\\u2028e"
    assert terminal_safe("one\ntwo\tthree") == "one\\ntwo\\tthree"
    assert terminal_safe("one\r\ntwo\tthree", lines=True) == "one\ntwo\tthree"
    assert terminal_safe("bytes \udcff\udc9b from a relay") == "bytes \\udcff\\udc9b from a relay"


MARKUP = "Jane [/Doe] [link=https://evil.example]click[/link] [red]"
HOSTILE_NAME = "contacts [red] \x1b]0;t\x07.xlsx"


#: Text a hostile sender would try: markup, backslashes, brackets, controls, anything.
ANY_TEXT = st.text(
    st.one_of(
        st.sampled_from(list("[]/\\=#@:;abc \n\t\r\x1b\x07\x9b\x9d\u202e")),
        st.characters(codec="utf-8"),
    )
)


@given(ANY_TEXT)
def test_any_text_is_printed_as_it_is_and_nothing_else(text: str) -> None:
    safe = terminal_safe(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in safe)
    assert not any(0xD800 <= ord(c) < 0xE000 for c in safe)
    console = Console(width=1000, record=True, color_system=None, emoji=False)
    with console.capture() as captured:
        console.print(f"[bold]Said:[/bold] [italic]{shown(text)}[/italic]")  # markup around
        table = Table("Words")
        table.add_row(shown(text, lines=True))
        console.print(table)
    said = captured.get()
    assert said.startswith(f"Said: {safe}\n")  # every character shown, none taken as markup
    assert not any(ord(c) < 0x20 and c != "\n" for c in said)


def test_a_control_character_that_reaches_a_console_is_written_as_its_escape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The safety net under shown(): a value printed without it still drives nothing."""
    monkeypatch.setenv("COLUMNS", "120")
    console = make_console()
    with console.capture() as captured:
        console.print(f"[bold]{HOSTILE}", markup=False)
        table = Table("Reply")
        table.add_row(HOSTILE.replace("[", "("))
        console.print(table)
    said = captured.get()
    assert not [c for c in CONTROLS if c in said]
    first = said.splitlines()[0]
    assert first.startswith("[bold]Jane [/Doe] [link=https://evil.example]click[/link] ")
    assert "\\x1b]0;owned" in first  # (Rich drops BEL itself)
    assert "\\x1b]52;c;ZXZpbA==" in first
    assert "\\x1b[2J \\x9b31m end" in first


def test_check_shows_markup_in_a_workbook_cell_and_a_hostile_file_name_as_text(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    categories = [list(row) for row in CATEGORIES]
    categories[1][2] = MARKUP  # the English wording of the MS category
    workbook = make_workbook(categories=categories, name=HOSTILE_NAME)
    code, out, err = run("check", make_mailing(), "--contacts", workbook)
    assert code == 0, err
    assert_shown_as_text(out + err, f"en: {MARKUP}")
    assert "contacts [red] \\x1b]0;t\\x07.xlsx and the invitation templates" in out


def test_check_shows_a_cell_with_control_sequences_as_text(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    categories = [list(row) for row in CATEGORIES]
    categories[1][2] = in_xlsx(HOSTILE)
    workbook = make_workbook(
        [person("anne.martin@example.org", organisation=in_xlsx(HOSTILE))],
        categories=categories,
        name=HOSTILE_NAME,
    )
    code, out, err = run("check", make_mailing(), "--contacts", workbook)
    assert code == 2
    assert_shown_as_text(out + err, "contacts [red] \\x1b]0;t\\x07.xlsx")
    assert "Jane [/Doe] [link=https://evil.example]click[/link] \\x1b]0;owned\\x07" in err


class HostileRelay(RecordingHandler):
    """A relay whose refusal of one recipient carries markup and control sequences."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == self.refused:
            return f"550 5.1.1 {HOSTILE}"
        return await super().handle_RCPT(server, session, envelope, address, options)


@pytest.fixture
def hostile_relay(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    sink = Sink(HostileRelay("john.smith@example.org"))
    sink.SMTP_kwargs["enable_SMTPUTF8"] = True  # so that it may answer with U+009B
    with sink:
        use_relay(monkeypatch, sink.port, {"DISPATCH_SMTP_TIMEOUT": "5"})
        yield sink


def test_send_and_status_show_a_hostile_relay_reply_as_text(
    hostile_relay: Sink, make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    code, out, err = run("send", mailing, "--contacts", workbook, "--yes", "--verbose")
    assert code == 1, err
    assert len(hostile_relay.recorder.accepted()) == 3
    assert_shown_as_text(out + err)
    assert err.count("[link=https://evil.example]") >= 2  # the --verbose line and the table

    code, out, err = run("status", mailing)
    assert code == 0, err
    assert_shown_as_text(out + err)

    code, out, err = run("send", mailing, "--contacts", workbook, "--to", "john.smith@example.org")
    assert code == 1, err
    assert_shown_as_text(out + err)
    assert "refused (550" in out


def test_bounces_and_status_show_a_hostile_diagnostic_as_text(
    tmp_path: Path,
    sink: Sink,
    monkeypatch: pytest.MonkeyPatch,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
) -> None:
    use_relay(monkeypatch, sink.port)
    mailing, workbook = make_mailing(), make_workbook()
    assert run("send", mailing, "--contacts", workbook, "--yes")[0] == 0
    with Journal.open(paths.journal_path(mailing.parent), readonly=True) as j:
        message_id = j.message_ids()["john.smith@example.org"]
    notice = dsn("john.smith@example.org", "failed", "5.1.1", message_id, 1)
    stranger = dsn("stranger@example.org", "failed", "5.1.1", None, 2)
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for text in (notice, stranger):
        box.add(text.replace("mailbox problem", HOSTILE).encode("utf-8"))
    box.close()

    # U+009B, 8-bit in a header, reaches the journal as U+FFFD: the rest comes through.
    seen = VISIBLE.replace("\\x9b", "")
    code, out, err = run("bounces", mailing, "--from", tmp_path / "bounces.mbox")
    assert code == 0, err
    assert_shown_as_text(out + err, seen)
    assert "Came back: bounced 1" in out
    assert "stranger@example.org" in err

    code, out, err = run("status", mailing)
    assert code == 0, err
    assert "Came back: bounced 1" in out
    assert_shown_as_text(out + err, seen)


def test_approve_by_a_name_with_markup_shows_it_and_one_with_controls_is_refused(
    make_mailing: MakeMailing, make_workbook: WorkbookFactory
) -> None:
    mailing, workbook = make_mailing(), make_workbook()
    code, out, err = run("approve", mailing, "--contacts", workbook, "--by", "Jane [/Doe]")
    assert code == 0, err
    assert "approved by Jane [/Doe] at " in " ".join(out.split())

    approved = sorted((mailing.parent / "approved").iterdir())

    # A "name" with control sequences is refused before anything is written.
    code, out, err = run("approve", mailing, "--contacts", workbook, "--by", HOSTILE)
    assert code == 2
    assert not [c for c in CONTROLS if c in out + err]
    assert "holds control characters; give the name as text" in err
    assert sorted((mailing.parent / "approved").iterdir()) == approved
