"""The SMTP sink the send benchmarks deliver to: aiosmtpd on 127.0.0.1, in its own process.

It accepts every message ("250 OK"), counts it and throws it away. It runs as a child
process (``python -m benchmarks.sink``) so that it does not compete with the measured
client for the GIL. The child prints its port, then answers each line ``count`` on its
standard input with the number of messages accepted so far; it stops at end of input.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any

HOST = "127.0.0.1"


class CountingHandler:
    """aiosmtpd handler: accept every message, count it, keep nothing."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1  # only the sink's event loop thread writes it
        return "250 OK"


def serve(stdin: IO[str], stdout: IO[str]) -> None:
    """Run the sink until ``stdin`` ends; answer ``count`` lines on ``stdout``."""
    from aiosmtpd.controller import Controller

    class _Controller(Controller):
        """Binds port 0 and learns the port the system picked."""

        def _create_server(self) -> Any:
            create = super()._create_server()

            async def bind() -> Any:
                server: Any = await create
                self.port = server.sockets[0].getsockname()[1]
                return server

            return bind()

    handler = CountingHandler()
    controller = _Controller(
        handler,
        hostname=HOST,
        port=0,
        server_hostname="sink.example.org",
        ready_timeout=10.0,
        data_size_limit=64 * 1024 * 1024,
    )
    controller.start()
    try:
        print(controller.port, file=stdout, flush=True)
        for line in stdin:
            if line.strip() == "count":
                print(handler.count, file=stdout, flush=True)
    finally:
        controller.stop()


class Sink:
    """A counting SMTP server in a child process; a context manager.

    >>> with Sink() as sink:  # doctest: +SKIP
    ...     send_to("127.0.0.1", sink.port)
    ...     sink.count
    """

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def _ask(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the SMTP sink stopped")
        return line.strip()

    @property
    def count(self) -> int:
        """Messages accepted since the sink started."""
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write("count\n")
        self._process.stdin.flush()
        return int(self._ask())

    def environment(self) -> dict[str, str]:
        """The variables that point ``dispatch send`` at this sink."""
        return {
            "DISPATCH_SMTP_HOST": HOST,
            "DISPATCH_SMTP_PORT": str(self.port),
            "DISPATCH_SMTP_SECURITY": "none",
        }

    def __enter__(self) -> Sink:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sink"],
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self._ask())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
