"""The floor of the send benchmark: a bare aiosmtplib loop, no journal, nothing else.

Run as ``python -m benchmarks.floor --port P --concurrency C DIR``: reads every ``.eml``
of DIR (rendered by ``dispatch render --format eml``, so the very messages dispatch
sends), then sends them to 127.0.0.1:P over C connections, each connection taking the
next message as soon as it is free. Prints ``{"seconds": ..., "sent": ...}``: the time
of the sending alone, from the first connection to the last QUIT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from pathlib import Path

from aiosmtplib import SMTP

Message = tuple[str, list[str], bytes]


def load(folder: Path) -> list[Message]:
    """Every message of ``folder`` (recursively) with its envelope: From, To and Cc."""
    parser = BytesHeaderParser()
    messages = []
    for path in sorted(folder.rglob("*.eml")):
        data = path.read_bytes()
        headers = parser.parsebytes(data)
        sender = parseaddr(str(headers["From"]))[1]
        recipients = [
            address
            for _, address in getaddresses(
                [str(v) for name in ("To", "Cc") for v in headers.get_all(name, [])]
            )
        ]
        messages.append((sender, recipients, data))
    return messages


async def _worker(host: str, port: int, queue: Iterator[Message]) -> int:
    smtp = SMTP(
        hostname=host, port=port, use_tls=False, start_tls=False, local_hostname="floor.example.org"
    )
    await smtp.connect()
    sent = 0
    for sender, recipients, data in queue:
        await smtp.sendmail(sender, recipients, data)
        sent += 1
    await smtp.quit()
    return sent


async def send_all(host: str, port: int, messages: list[Message], concurrency: int) -> int:
    """Send ``messages`` over ``concurrency`` connections; how many were accepted."""
    queue = iter(messages)  # shared: each worker takes the next message when it is free
    counts = await asyncio.gather(
        *(_worker(host, port, queue) for _ in range(min(concurrency, len(messages))))
    )
    return sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    messages = load(args.folder)
    start = time.perf_counter()
    sent = asyncio.run(send_all(args.host, args.port, messages, args.concurrency))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "sent": sent}))


if __name__ == "__main__":
    main()
