"""Bounded work on hostile input (issue 20, item 17): a mailbox is written by strangers.

A message nested 1 200 multiparts deep, a 150 MB message, a Maildir entry that is a link
to ``/dev/zero`` or to a private file, a named pipe: each is skipped and listed with the
reason, and every other notification of the source is still read and recorded. Sizes
are checked before reading (the memory a scan takes is measured with tracemalloc, not
timed), links are never followed, and only regular files are opened.
"""

from __future__ import annotations

import mailbox
import os
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatch.bounces import (
    MAX_MESSAGE_BYTES,
    BounceError,
    EmlFolderSource,
    MaildirSource,
    MboxSource,
    ScanResult,
    read_notification,
    scan,
    source_from,
)
from tests.bounce_corpus import dsn
from tests.imap_server import within

ORIGINAL = "<5e1f0c4b9a8d7e6f5a4b3c2d1e0f9a8b@example.org>"
BIG = 150 * 1024 * 1024


def genuine(n: int) -> bytes:
    return dsn("postfix", f"gone{n}@example.org", ORIGINAL, n=n)


def nested(depth: int) -> bytes:
    """A message of ``depth`` multiparts, each inside the one before."""
    lines = [
        "From: mailer-daemon@mta.example.org\nSubject: Undelivered Mail\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b0"\n'
    ]
    for level in range(1, depth):
        lines.append(f'--b{level - 1}\nContent-Type: multipart/mixed; boundary="b{level}"\n')
    lines.append(f"--b{depth - 1}\nContent-Type: text/plain\n\nUser unknown: x@example.org\n")
    lines.extend(f"--b{level}--\n" for level in range(depth - 1, -1, -1))
    return "\n".join(lines).encode()


def scan_with_deadline(source: MboxSource | MaildirSource | EmlFolderSource) -> ScanResult:
    """``scan(source)``, failing the test (not hanging it) if it never returns."""
    return within(lambda: scan(source))


def write_maildir(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.Maildir(path)
    for message in messages:
        box.add(message)
    box.close()
    return path


def write_mbox(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.mbox(path)
    for message in messages:
        box.add(message)
    box.close()
    return path


def write_eml(path: Path, messages: list[bytes]) -> Path:
    path.mkdir()
    for number, message in enumerate(messages):
        (path / f"{number:02}.eml").write_bytes(message)
    return path


WRITERS: dict[str, Callable[[Path, list[bytes]], Path]] = {
    "maildir": write_maildir,
    "mbox": write_mbox,
    "eml folder": write_eml,
}


def test_the_stdlib_parser_alone_fails_on_1200_nested_multiparts() -> None:
    """Why the depth is bounded before parsing (this is the failure item 17 found)."""
    from email import message_from_bytes

    with pytest.raises(RecursionError):
        message_from_bytes(nested(1200))


@pytest.mark.parametrize("kind", list(WRITERS))
def test_1200_nested_multiparts_are_skipped_and_the_other_bounces_are_read(
    kind: str, tmp_path: Path
) -> None:
    source = source_from(
        str(WRITERS[kind](tmp_path / "box", [genuine(1), nested(1200), genuine(2)])), {}
    )
    result = scan_with_deadline(source)  # type: ignore[arg-type]
    assert sorted(b.recipient for b in result.bounces) == ["gone1@example.org", "gone2@example.org"]
    assert len(result.skipped) == 1
    assert result.skipped[0].reason == (
        "it declares 1200 nested MIME parts (a notification has a handful, the limit is 40): "
        "not parsed"
    )
    assert read_notification(nested(1200)) == ()


def test_a_message_nested_within_the_limit_is_read() -> None:
    assert read_notification(nested(30)) == ()  # read (not a bounce), no exception


def sparse(path: Path, head: bytes, size: int) -> None:
    """A file of ``size`` bytes beginning with ``head``, the rest a hole (no disk used)."""
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)


def peak_memory(work: Callable[[], ScanResult]) -> tuple[ScanResult, int]:
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_150_mb_maildir_message_is_skipped_by_its_size_without_being_read(
    tmp_path: Path,
) -> None:
    box = write_maildir(tmp_path / "Maildir", [genuine(1)])
    sparse(box / "new" / "1764490502.huge.mta", b"From: x@example.org\n\n", BIG)
    result, peak = peak_memory(lambda: scan(MaildirSource(box)))
    assert [b.recipient for b in result.bounces] == ["gone1@example.org"]
    assert [s.line() for s in result.skipped] == [
        f"{box / 'new' / '1764490502.huge.mta'}: is 150.0 MB, more than the 32.0 MB a "
        "notification may be: not read"
    ]
    assert peak < 4 * 1024 * 1024


def test_a_150_mb_eml_file_is_skipped_by_its_size_without_being_read(tmp_path: Path) -> None:
    folder = write_eml(tmp_path / "export", [genuine(1)])
    sparse(folder / "huge.eml", b"From: x@example.org\n\n", BIG)
    result, peak = peak_memory(lambda: scan(EmlFolderSource(folder)))
    assert [b.recipient for b in result.bounces] == ["gone1@example.org"]
    assert [s.reason for s in result.skipped] == [
        "is 150.0 MB, more than the 32.0 MB a notification may be: not read"
    ]
    assert peak < 4 * 1024 * 1024


def test_a_150_mb_message_in_an_mbox_is_skipped_and_never_held_whole(tmp_path: Path) -> None:
    path = write_mbox(tmp_path / "in.mbox", [genuine(1)])
    with path.open("ab") as handle:  # then a 150 MB message (a hole), then a bounce
        handle.write(b"From MAILER-DAEMON Tue Dec  1 09:15:02 2026\nFrom: x@example.org\n\n")
        handle.truncate(handle.tell() + BIG)
        handle.seek(0, os.SEEK_END)
        handle.write(b"\n\nFrom MAILER-DAEMON Tue Dec  1 09:15:03 2026\n" + genuine(2) + b"\n")
    result, peak = peak_memory(lambda: scan(MboxSource(path)))
    assert sorted(b.recipient for b in result.bounces) == ["gone1@example.org", "gone2@example.org"]
    assert [s.line() for s in result.skipped] == [
        f"{path}, message 2: is 150.0 MB, more than the 32.0 MB a notification may be: not read"
    ]
    assert peak < 2 * MAX_MESSAGE_BYTES  # at most the limit is held, never the message


def test_the_mbox_reader_splits_as_the_stdlib_does(tmp_path: Path) -> None:
    messages = [genuine(1), b"From: a@example.org\n\n>From the start\n\n\nlast line", genuine(2)]
    path = write_mbox(tmp_path / "in.mbox", messages)
    box = mailbox.mbox(path)
    expected = [box.get_bytes(key) for key in box.iterkeys()]
    box.close()
    from dispatch.bounces.local import mbox

    assert [getattr(item, "data", None) for item in mbox(path, MAX_MESSAGE_BYTES)] == expected


@pytest.fixture
def planted(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A Maildir with one genuine bounce, and a private file outside it that also looks
    like a bounce (a link planted in the Maildir must not make it read)."""
    box = write_maildir(tmp_path / "Maildir", [genuine(1)])
    private = tmp_path / "private" / "secret.eml"
    private.parent.mkdir()
    private.write_bytes(genuine(99))
    yield box, private


def test_a_maildir_entry_linking_to_dev_zero_is_not_followed(planted: tuple[Path, Path]) -> None:
    box, _ = planted
    (box / "cur" / "1764490502.zero.mta:2,").symlink_to("/dev/zero")
    result = scan_with_deadline(MaildirSource(box))
    assert [b.recipient for b in result.bounces] == ["gone1@example.org"]
    assert [s.line() for s in result.skipped] == [
        f"{box / 'cur' / '1764490502.zero.mta:2,'}: is a link: not followed (only the files "
        "of the source itself are read)"
    ]


def test_a_link_out_of_the_source_to_a_private_file_is_not_read(
    planted: tuple[Path, Path], tmp_path: Path
) -> None:
    box, private = planted
    (box / "new" / "1764490503.leak.mta").symlink_to(private)
    folder = write_eml(tmp_path / "export", [genuine(2)])
    (folder / "leak.eml").symlink_to(private)
    for source in (MaildirSource(box), EmlFolderSource(folder)):
        result = scan(source)
        assert "gone99@example.org" not in {b.recipient for b in result.bounces}
        assert [s.reason.split(":")[0] for s in result.skipped] == ["is a link"]


def test_a_named_pipe_in_a_maildir_or_an_eml_folder_is_skipped_never_waited_on(
    planted: tuple[Path, Path], tmp_path: Path
) -> None:
    box, _ = planted
    os.mkfifo(box / "new" / "1764490504.pipe.mta")
    folder = write_eml(tmp_path / "export", [genuine(2)])
    os.mkfifo(folder / "pipe.eml")
    for source, expected in ((MaildirSource(box), "gone1"), (EmlFolderSource(folder), "gone2")):
        result = scan_with_deadline(source)
        assert [b.recipient for b in result.bounces] == [f"{expected}@example.org"]
        assert [s.reason for s in result.skipped] == [
            "is a named pipe, not a message file: not read"
        ]


@pytest.mark.parametrize("kind", ["named pipe", "device"])
def test_an_mbox_that_is_a_pipe_or_a_device_is_refused_without_reading(
    kind: str, tmp_path: Path
) -> None:
    if kind == "named pipe":
        path = tmp_path / "bounces.mbox"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    with pytest.raises(BounceError) as error:
        scan_with_deadline(MboxSource(path))
    assert str(error.value) == (
        f"{path}: is a {kind}, not an mbox file. Give an mbox file, a Maildir, a folder "
        "of .eml files, or a single .eml file."
    )
