"""A mailing sent through a real Postfix relay with its own limits (issue 13).

Postfix (Debian's package, its own instance on 127.0.0.1, see tests/mta.py) relays to a
test sink. Its message size limit refuses one letter too big with 552 at MAIL FROM (the
SIZE the client declares), and its client message rate limit answers 450 to the
messages above its rate: dispatch must report the 552 as a permanent failure naming the
size, retry the 4xx until the relay takes them, deliver each address exactly once, and
`status` must say what the relay accepted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch import paths
from dispatch.journal import Journal
from tests.conftest import MINIMAL_MAILING, WorkbookFactory, no_copy, person
from tests.helpers import run
from tests.mta import Postfix
from tests.smtp_server import Sink

pytestmark = pytest.mark.mta

MakeMailing = Callable[..., Path]
SIZE_LIMIT = 60_000  # bytes: every letter fits but the big one
RATE = 3  # messages per client ...
RATE_UNIT = 5  # ... per this many seconds


def test_a_mailing_through_postfix_arrives_once_with_its_552_and_its_4xx_handled(
    make_postfix: Callable[..., Postfix],
    mta_sink: Sink,
    make_mailing: MakeMailing,
    make_workbook: WorkbookFactory,
    tmp_path: Path,
) -> None:
    relay = make_postfix(
        message_size_limit=SIZE_LIMIT, client_message_rate_limit=RATE, rate_time_unit=RATE_UNIT
    )
    people = [
        person(f"p{i}@example.org", language="fr" if i % 2 else "en", cc="") for i in range(8)
    ]
    big = "big@example.org"
    people.append(person(big, salutation="Madame la Directrice " * 1500, cc=""))  # 139 KB
    mailing = make_mailing(
        no_copy(MINIMAL_MAILING.replace("numbered = true", "numbered = true\nattach_pdf = false"))
    )
    workbook = make_workbook(people)
    settings = tmp_path / "relay.toml"
    settings.write_text(
        "[smtp]\n"
        f'host = "127.0.0.1"\nport = {relay.port}\nsecurity = "none"\n'
        "concurrency = 1\nretries = 6\nbackoff = 1\ntimeout = 30\n",
        encoding="utf-8",
    )

    started = time.monotonic()
    code, out, err = run(
        "send", mailing, "--contacts", workbook, "--settings", settings, "--yes", "-v"
    )
    elapsed = time.monotonic() - started
    assert code == 1, out + err  # one refused for good
    assert "450" in err and "retrying" in err, err  # the relay's rate limit, retried
    assert "Not sent: 1 refused by the relay." in out

    with Journal.open(paths.journal_path(mailing.parent), readonly=True) as j:
        states = {row.key: row for row in j.rows()}
    refused = states[big]
    assert refused.state == "failed-permanent" and refused.code == 552
    assert refused.reply is not None
    assert "Message size exceeds fixed limit" in refused.reply
    assert f"above the relay's limit of {SIZE_LIMIT:,} bytes" in refused.reply
    sent = {key for key, row in states.items() if row.state == "sent"}
    assert sent == {p["email"] for p in people} - {big}
    assert elapsed > RATE_UNIT  # the rate limit did hold the run back

    # Postfix relays what it accepted to the sink: each address exactly once.
    deadline = time.monotonic() + 60
    while len(mta_sink.recorder.accepted()) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # nothing more comes
    arrived = [r.rcpt_tos for r in mta_sink.recorder.accepted()]
    assert sorted(arrived) == sorted((key,) for key in sent), relay.log()[-3000:]

    # status says what the relay accepted; a second run sends nothing more.
    code, out, _ = run("status", mailing)
    assert code == 0
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert f"sent {len(sent)}" in lines and "failed-permanent 1" in lines
    code, out, err = run("send", mailing, "--contacts", workbook, "--settings", settings, "--yes")
    assert code == 1 and "Nothing to send" in out
    time.sleep(1)
    assert len(mta_sink.recorder.accepted()) == len(sent)
