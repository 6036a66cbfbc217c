"""gRPC's C-core lines stay out of the exporter's output unless asked for.

Runs the real live client in a child interpreter (the C core reads its log
settings once per process) against a loopback peer that never answers, and
forks while the call is in flight, which makes the C core write a line of its
own to stderr (``fork_posix.cc … skipping fork() handlers``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, socket
    from exporterhub.exporters.starlink.client import LiveDishClient
    from exporterhub.core.errors import ConnectionLostError

    silent = socket.socket()  # a peer that accepts and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()

    async def main():
        client = LiveDishClient(f"127.0.0.1:{silent.getsockname()[1]}", timeout=1.0)
        call = asyncio.ensure_future(client.poll(read_location=True))
        await asyncio.sleep(0.3)  # the call is in flight in its thread
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        try:
            await call
        except ConnectionLostError as exc:
            print("reason", exc.reason)
        client.close()

    asyncio.run(main())
    print("done")
    """
)
C_CORE_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]", re.M)


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GRPC_")}
    environ.update(env)
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=True,
    )


class TestGrpcCoreLines:
    def test_silenced_by_default(self):
        """Without GRPC_VERBOSITY the C core writes nothing to stderr."""
        result = _run()
        assert "reason timeout" in result.stdout
        assert "done" in result.stdout
        assert not C_CORE_LINE.search(result.stderr), result.stderr

    def test_shown_when_the_user_asks(self):
        """GRPC_VERBOSITY set by the user wins: the C core's line appears."""
        result = _run(GRPC_VERBOSITY="INFO")
        assert "done" in result.stdout
        assert C_CORE_LINE.search(result.stderr), result.stderr
