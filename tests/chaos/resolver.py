"""Name resolution for the fault matrix that never leaves the machine.

pytest-socket (``--allow-hosts``) guards ``connect`` but not ``getaddrinfo``, and
glibc would send a query for any name to the system's nameserver. While a test
of this package runs, ``socket.getaddrinfo`` goes through ``LoopbackResolver``:

- a name registered with ``name(kind)`` (under the reserved ``.invalid`` TLD,
  RFC 6761) resolves to 127.0.0.1, or fails with ``EAI_NONAME`` (what an
  NXDOMAIN answer gives) while ``broken`` is set: the DNS failure fault;
- any other ``.invalid`` name fails with ``EAI_NONAME``, as RFC 6761 asks;
- numeric addresses and ``localhost`` pass to the real resolver (no query);
- any other name fails the test: a lookup that would have left loopback.

Every Python-level lookup (asyncio, anyio/httpx, python-kasa, websockets) goes
through ``socket.getaddrinfo``; gRPC resolves in C and is not covered (the
Starlink DNS row is N/A for that reason).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Final

__all__ = ["RESOLVER", "LoopbackResolver"]

_REAL: Final = socket.getaddrinfo


class LoopbackResolver:
    """A resolver for ``.invalid`` names; see the module docstring."""

    def __init__(self) -> None:
        self.broken = False
        self.asked: list[str] = []
        self.leaks: list[str] = []
        self._names: set[str] = set()

    def name(self, kind: str) -> str:
        """Return (and register) the test host name for exporter ``kind``."""
        host = f"{kind}-peer.chaos.invalid"
        self._names.add(host)
        return host

    def reset(self) -> None:
        """Forget the names and the failure (between tests)."""
        self.broken = False
        self.asked.clear()
        self.leaks.clear()
        self._names.clear()

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        """Resolve like ``socket.getaddrinfo`` without asking any nameserver."""
        text = host.decode() if isinstance(host, bytes) else host
        if text is None or text == "localhost" or _numeric(text):
            return _REAL(host, port, *args, **kwargs)
        name = text.rstrip(".").lower()
        self.asked.append(name)
        if name in self._names and not self.broken:
            return _REAL("127.0.0.1", port, *args, **kwargs)
        if name.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        self.leaks.append(name)
        raise socket.gaierror(socket.EAI_NONAME, f"{name}: would leave loopback")


def _numeric(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


RESOLVER: Final = LoopbackResolver()
