"""IMAP against a broken or hostile server (issue 20, item 18), on 127.0.0.1.

Every case ends in a result or a one-line error naming the mailbox and what to do, never
a traceback and never a hang: an over-long line, BAD to EXAMINE or to FETCH, an answer
that is not ASCII, a mailbox of 100 000 messages (fetched in batches, with progress), a
server that sends a byte every so often (an overall deadline per command, not only per
read), a literal past the size limit, a mailbox name carrying ``%0D%0A``. The real
Dovecot tests (test_bounces_mta*.py) cover the well-behaved server.
"""

from __future__ import annotations

import pytest

from dispatch.bounces import (
    MAX_MESSAGE_BYTES,
    BounceError,
    ImapSource,
    MailboxConnectionError,
    scan,
    source_from,
)
from dispatch.progress import Step
from tests.bounce_corpus import dsn
from tests.imap_server import HostileImap, Script, Writer, dribble, within

ORIGINAL = "<5e1f0c4b9a8d7e6f5a4b3c2d1e0f9a8b@example.org>"


def source(server: HostileImap, **changes: object) -> ImapSource:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "user": "tsb",
        "security": "none",
        "password": "s3cret",
        "timeout": 10.0,
    }
    values.update(changes)
    return ImapSource(**values)  # type: ignore[arg-type]


def bounce(uid: int) -> bytes:
    return dsn("postfix", f"gone{uid}@example.org", ORIGINAL, n=uid).replace(b"\n", b"\r\n")


def test_a_well_behaved_mailbox_is_read_in_batches_by_uid(tmp_path: object) -> None:
    with HostileImap(Script(3, body=bounce, uid=lambda seq: 40 + seq)) as server:
        result = scan(source(server))
    assert [b.recipient for b in result.bounces] == [f"gone{u}@example.org" for u in (41, 42, 43)]
    commands = [line.split(b" ", 1)[1] for line in server.received]
    assert b'EXAMINE "INBOX"\r\n' in commands
    assert b"FETCH 1:3 (UID RFC822.SIZE)\r\n" in commands
    assert any(c.startswith(b"UID FETCH 41,42,43 (BODY.PEEK[]<0.") for c in commands)


class LongLine(Script):
    async def examine(self, tag: str, args: str, out: Writer) -> None:
        out.write(b"* OK " + b"x" * 2_000_000 + b"\r\n")


class BadExamine(Script):
    async def examine(self, tag: str, args: str, out: Writer) -> None:
        out.write(f"{tag} BAD [CLIENTBUG] Invalid mailbox name\r\n".encode())


class BadFetch(Script):
    async def list(self, tag: str, args: str, out: Writer) -> None:
        out.write(f"{tag} BAD Error in IMAP command FETCH: Invalid messageset\r\n".encode())

    async def search(self, tag: str, out: Writer) -> None:
        out.write(b"* SEARCH 1\r\n" + f"{tag} OK searched\r\n".encode())

    async def fetch(self, tag: str, args: str, out: Writer) -> None:
        out.write(f"{tag} BAD Error in IMAP command UID FETCH\r\n".encode())


@pytest.mark.parametrize(
    ("script", "error_type", "message"),
    [
        (
            LongLine(1),
            MailboxConnectionError,
            "the connection broke off (the server sent a line longer than 1000000 bytes). "
            "Try again; nothing was recorded.",
        ),
        (
            BadExamine(1),
            BounceError,
            "the mailbox cannot be opened (EXAMINE command error: BAD [CLIENTBUG] Invalid "
            "mailbox name). Check the mailbox name",
        ),
        (
            BadFetch(1),
            MailboxConnectionError,
            "the server refused to list (FETCH command error: BAD Error in IMAP command "
            "FETCH: Invalid messageset). Try again.",
        ),
    ],
    ids=["over-long line", "BAD to EXAMINE", "BAD to FETCH"],
)
def test_a_broken_answer_is_a_one_line_error_naming_the_mailbox(
    script: Script, error_type: type[BounceError], message: str
) -> None:
    with HostileImap(script) as server, pytest.raises(error_type) as error:
        within(lambda: scan(source(server)))
    assert str(error.value).startswith(f"imap+plain://tsb@127.0.0.1:{server.port}/INBOX: {message}")
    assert type(error.value) is error_type


class NotAscii(Script):
    """Answers whose numbers are not ASCII digits (a broken server, or a hostile one)."""

    async def list(self, tag: str, args: str, out: Writer) -> None:
        out.write(b"* 1 FETCH (UID \xd9\xa1\xd9\xa2 RFC822.SIZE 12)\r\n")
        out.write('* 2 FETCH (UID 7 RFC822.SIZE 12 X-NOTE "é")\r\n'.encode())
        out.write(f"{tag} OK fetched\r\n".encode())

    async def search(self, tag: str, out: Writer) -> None:
        out.write("* SEARCH 1 \u0661\u0662 7\r\n".encode() + f"{tag} OK searched\r\n".encode())


def test_an_answer_that_is_not_ascii_is_listed_not_a_traceback() -> None:
    with HostileImap(NotAscii(2, body=bounce, uid=lambda seq: 7)) as server:
        result = within(lambda: scan(source(server)))
    assert [b.recipient for b in result.bounces] == ["gone7@example.org"]
    assert [s.line() for s in result.skipped] == [
        f"imap+plain://tsb@127.0.0.1:{server.port}/INBOX, messages 1 to 2: the server's "
        "answer named 1 of them with a UID and a size: 1 not read"
    ]


def auto_reply(uid: int) -> bytes:
    return b"Auto-Submitted: auto-replied\r\nSubject: away\r\n\r\naway\r\n"


@pytest.mark.slow  # 100 000 messages through a real socket: about 20 s on a shared machine
def test_a_mailbox_of_100_000_messages_is_fetched_in_batches_with_progress() -> None:
    count = 100_000
    heard: list[tuple[Step, int, int | None]] = []
    script = Script(count, body=auto_reply, uid=lambda seq: 3_000_000_000 + seq)
    with HostileImap(script) as server:
        result = within(
            lambda: scan(source(server), progress=lambda *report: heard.append(report)), 600
        )
    assert result.auto_replies == count
    assert result.skipped == ()
    assert heard[0] == (Step.MAILBOX, 0, count)
    assert heard[-1] == (Step.MAILBOX, count, count)
    done = [d for _, d, _ in heard]
    assert done == sorted(done) and len(set(done)) > 100  # one report per batch at least
    listing = [line for line in server.received if b" FETCH " in line and b"RFC822.SIZE" in line]
    assert len(listing) == count // 500  # never one answer that grows with the mailbox
    assert not any(b"SEARCH" in line for line in server.received)


class Dribbling(Script):
    """After EXAMINE, answers with one byte at a time and never ends the answer."""

    async def list(self, tag: str, args: str, out: Writer) -> None:
        await dribble(out, b"* 1 FETCH (UID 1 RFC822.SIZE 10", every=0.2)


class DribblingGreeting(Script):
    async def greet(self, out: Writer) -> None:
        await dribble(out, b"* OK ", every=0.2)


@pytest.mark.parametrize(
    ("script", "hint"),
    [
        (Dribbling(1), "Try again later; nothing was recorded."),
        (DribblingGreeting(1), "Check the host and port, and try again later."),
    ],
    ids=["while listing", "its greeting"],
)
def test_a_server_sending_a_byte_every_so_often_is_cut_off_by_the_deadline(
    script: Script, hint: str
) -> None:
    # Each byte comes well within the per-read time; only a deadline over the whole
    # answer ends it.
    with HostileImap(script) as server, pytest.raises(MailboxConnectionError) as error:
        within(lambda: scan(source(server, timeout=1.5)))
    assert str(error.value) == (
        f"imap+plain://tsb@127.0.0.1:{server.port}/INBOX: the server did not answer "
        f"within 1.5 s. {hint}"
    )


def test_a_message_over_the_size_limit_is_listed_and_never_fetched() -> None:
    huge = 150 * 1024 * 1024
    script = Script(2, body=bounce, uid=lambda seq: seq, sizes={1: huge})
    with HostileImap(script) as server:
        result = scan(source(server))
    assert [b.recipient for b in result.bounces] == ["gone2@example.org"]
    assert [s.line() for s in result.skipped] == [
        f"imap+plain://tsb@127.0.0.1:{server.port}/INBOX, UID 1: is 150.0 MB, more than "
        "the 32.0 MB a notification may be: not read"
    ]
    fetches = [line for line in server.received if b"UID FETCH" in line]
    assert fetches and all(b"UID FETCH 2 " in line for line in fetches)
    assert all(f"<0.{MAX_MESSAGE_BYTES + 1}>".encode() in line for line in fetches)


class Liar(Script):
    """Says a message is small, then announces a literal of 150 MB."""

    async def fetch(self, tag: str, args: str, out: Writer) -> None:
        out.write(b"* 1 FETCH (UID 1 BODY[]<0> {157286400}\r\n")


def test_a_literal_past_the_limit_is_refused_before_it_is_read() -> None:
    with HostileImap(Liar(1)) as server, pytest.raises(MailboxConnectionError) as error:
        within(lambda: scan(source(server)))
    assert "the server announced 157286400 bytes, more than any message read" in str(error.value)


@pytest.mark.parametrize(
    "mailbox",
    ["INBOX%0D%0AA1 DELETE INBOX", "INBOX%0AX", "Bounces%00", "INBOX%7F", "INBOX%C2%85"],
)
def test_a_control_character_in_the_mailbox_name_is_refused_before_connecting(
    mailbox: str,
) -> None:
    with HostileImap(Script(1)) as server:
        address = f"imap+plain://tsb@127.0.0.1:{server.port}/{mailbox}"
        with pytest.raises(BounceError) as error:
            source_from(address, {"DISPATCH_IMAP_PASSWORD": "s3cret"})
        assert str(error.value).startswith(
            "imap+plain://…: the address holds a control character (U+"
        )
        assert str(error.value).endswith(
            "in a mailbox name it would end the IMAP command and start another. Give the "
            "address as the mail program shows it, without %0D, %0A or other control characters."
        )
        with pytest.raises(BounceError, match="the mailbox name holds a control character"):
            scan(source(server, mailbox="INBOX\r\nA1 DELETE INBOX"))
    assert server.connections == 0
    assert not any(b"DELETE" in line for line in server.received)


def test_a_mailbox_name_outside_ascii_is_sent_in_modified_utf7() -> None:
    with HostileImap(Script(1, body=bounce)) as server:
        result = scan(source(server, mailbox="Rückläufer & Co/日本語"))
    assert [b.recipient for b in result.bounces] == ["gone1@example.org"]
    assert any(
        line.endswith(b'EXAMINE "R&APw-ckl&AOQ-ufer &- Co/&ZeVnLIqe-"\r\n')
        for line in server.received
    )
