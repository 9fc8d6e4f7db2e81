"""A small IMAP server on 127.0.0.1 (asyncio, port 0) that answers as a broken or hostile
server would, for the cases a real Dovecot never produces.

:class:`Script` answers the few commands dispatch sends (CAPABILITY, LOGIN, EXAMINE,
FETCH of UIDs and sizes, UID FETCH of bodies, SEARCH, LOGOUT) the way RFC 3501 says;
a test overrides one method to misbehave there. :class:`HostileImap` runs a script in a
thread with its own event loop and records every command line it received, so a test
can say what the client asked (never a message body over the limit, never an injected
command).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable
from typing import TypeVar

Writer = asyncio.StreamWriter
T = TypeVar("T")


def within(work: Callable[[], T], seconds: float = 60) -> T:
    """``work()``, failing the test (not hanging it) if it has not returned in ``seconds``:
    a guard for cases that used to hang, not a measure of speed."""
    found: list[T | BaseException] = []

    def run() -> None:
        try:
            found.append(work())
        except BaseException as error:  # noqa: BLE001  # re-raised in the test's thread
            found.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s: it hangs"
    if isinstance(found[0], BaseException):
        raise found[0]
    return found[0]


class Script:
    """A well-behaved mailbox of ``count`` messages: message ``seq`` has UID
    ``uid(seq)`` and the bytes ``body(uid)``; ``sizes`` may claim other sizes."""

    def __init__(
        self,
        count: int = 0,
        *,
        body: Callable[[int], bytes] = lambda uid: b"Subject: hello\r\n\r\nhello\r\n",
        uid: Callable[[int], int] = lambda seq: seq,
        sizes: dict[int, int] | None = None,
    ) -> None:
        self.count, self.body, self.uid, self.sizes = count, body, uid, sizes or {}

    async def greet(self, out: Writer) -> None:
        out.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test server ready\r\n")

    async def answer(self, tag: str, command: str, args: str, out: Writer) -> bool:
        """Answer one command; False ends the session."""
        name = command.upper()
        if name == "CAPABILITY":
            out.write(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n".encode())
        elif name in ("LOGIN", "AUTHENTICATE"):
            out.write(f"{tag} OK logged in\r\n".encode())
        elif name in ("EXAMINE", "SELECT"):
            await self.examine(tag, args, out)
        elif name == "FETCH":
            await self.list(tag, args, out)
        elif name == "UID" and args.upper().startswith("FETCH "):
            await self.fetch(tag, args[6:], out)
        elif name == "SEARCH" or (name == "UID" and args.upper().startswith("SEARCH")):
            await self.search(tag, out)
        elif name == "LOGOUT":
            out.write(f"* BYE logging out\r\n{tag} OK bye\r\n".encode())
            return False
        else:
            out.write(f"{tag} BAD unknown command\r\n".encode())
        return True

    async def examine(self, tag: str, args: str, out: Writer) -> None:
        out.write(
            f"* {self.count} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1] ok\r\n"
            f"{tag} OK [READ-ONLY] examined\r\n".encode()
        )

    def size(self, uid: int) -> int:
        return self.sizes.get(uid, len(self.body(uid)))

    async def list(self, tag: str, args: str, out: Writer) -> None:
        first, last = (int(n) for n in args.split(" ", 1)[0].split(":"))
        for seq in range(first, min(last, self.count) + 1):
            uid = self.uid(seq)
            out.write(f"* {seq} FETCH (UID {uid} RFC822.SIZE {self.size(uid)})\r\n".encode())
            if seq % 500 == 0:
                await out.drain()
        out.write(f"{tag} OK fetched\r\n".encode())

    async def fetch(self, tag: str, args: str, out: Writer) -> None:
        uids = [int(u) for u in args.split(" ", 1)[0].split(",")]
        limit = re.search(r"<0\.(\d+)>", args)
        if not hasattr(self, "_seq"):
            self._seq = {self.uid(seq): seq for seq in range(1, self.count + 1)}
        for uid in uids:
            data = self.body(uid)
            if limit:
                data = data[: int(limit.group(1))]
            out.write(
                f"* {self._seq.get(uid, 1)} FETCH (UID {uid} BODY[]<0> {{{len(data)}}}\r\n".encode()
                + data
                + b")\r\n"
            )
        out.write(f"{tag} OK fetched\r\n".encode())

    async def search(self, tag: str, out: Writer) -> None:
        uids = " ".join(str(self.uid(seq)) for seq in range(1, self.count + 1))
        out.write(f"* SEARCH {uids}\r\n{tag} OK searched\r\n".encode())


class HostileImap:
    """Run ``script`` on 127.0.0.1, a free port, in a thread; ``received`` holds every
    command line the server got, ``connections`` how many clients connected."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[bytes] = []
        self.connections = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> HostileImap:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _session(self, reader: asyncio.StreamReader, out: Writer) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self.connections += 1
        try:
            await self.script.greet(out)
            await out.drain()
            while True:
                line = await reader.readline()
                if not line:
                    break
                self.received.append(line)
                tag, _, rest = line.rstrip(b"\r\n").decode("latin-1").partition(" ")
                command, _, args = rest.partition(" ")
                going_on = await self.script.answer(tag, command, args, out)
                await out.drain()
                if not going_on:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            out.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await out.wait_closed()


async def dribble(out: Writer, text: bytes, every: float) -> None:
    """Send ``text`` one byte at a time, then ``x`` for ever, a byte every ``every``
    seconds, until the client goes: an answer that never ends, but never stalls."""
    for byte in text:
        out.write(bytes([byte]))
        await out.drain()
        await asyncio.sleep(every)
    while not out.is_closing():
        out.write(b"x")
        await out.drain()
        await asyncio.sleep(every)
