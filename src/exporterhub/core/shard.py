"""Which replica runs which target: rendezvous (highest-random-weight) hashing.

Replica ``index`` of ``count`` (``--shard index/count``, 0-based, so the replicas
of three are ``0/3``, ``1/3`` and ``2/3``) runs a target when, of all ``count``
replicas, it gives the target's ``kind/name`` the highest weight. A weight is the
first 8 bytes of BLAKE2b over the replica number and the target's kind and name:
the same on every machine, Python version and process (never ``hash()``, which
is salted per process). So every target has exactly one owner for any count,
and going from ``count`` to ``count + 1`` replicas moves only the targets the new
replica now wins, about ``1 / (count + 1)`` of them; nothing moves between the
replicas that stay. The assignment is configuration: there is no membership
protocol, no replica talks to another. Pure functions; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import blake2b
from typing import Final

__all__ = ["MAX_REPLICAS", "Placement", "Shard", "owner", "parse_shard", "weight"]

MAX_REPLICAS: Final = 1024
"""More replicas than this is a typo (and makes every placement cost ``count``
hashes)."""

_FORM: Final = re.compile(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*")


def weight(kind: str, name: str, replica: int) -> int:
    """Return replica ``replica``'s weight for the target ``kind/name``.

    >>> weight("phd2", "rig", 0) == weight("phd2", "rig", 0)
    True
    """
    digest = blake2b(
        f"{kind}\x00{name}".encode(),
        digest_size=8,
        salt=replica.to_bytes(8, "big"),
    ).digest()
    return int.from_bytes(digest, "big")


def owner(kind: str, name: str, count: int) -> int:
    """Return the replica (0-based) of ``count`` that runs ``kind/name``.

    Ties (a 64-bit collision) go to the lower replica number. Costs ``count``
    hashes: ``Placement`` remembers the answers.

    >>> owner("phd2", "rig", 1)
    0
    >>> 0 <= owner("phd2", "rig", 3) < 3
    True
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    best, chosen = -1, 0
    for replica in range(count):
        value = weight(kind, name, replica)
        if value > best:
            best, chosen = value, replica
    return chosen


@dataclass(frozen=True, slots=True)
class Shard:
    """This replica's place: ``index`` (0-based) of ``count`` replicas."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_REPLICAS:
            raise ValueError(
                f"the replica count must be 1 to {MAX_REPLICAS}, not {self.count}"
            )
        if not 0 <= self.index < self.count:
            count = self.count
            valid = ", ".join(f"{i}/{count}" for i in range(min(count, 3)))
            if count > 3:
                valid += f", … {count - 1}/{count}"
            raise ValueError(
                f"the index counts from 0: {self.index}/{count} is not one of {valid}"
            )

    def owns(self, kind: str, name: str) -> bool:
        """Say whether this replica runs ``kind/name``.

        >>> Shard(0, 1).owns("phd2", "rig")
        True
        """
        return self.count == 1 or owner(kind, name, self.count) == self.index

    def __str__(self) -> str:
        """Return the ``index/count`` form the flag takes."""
        return f"{self.index}/{self.count}"


class Placement:
    """Each target's owner under one ``Shard``, computed once per target.

    A placement costs ``count`` hashes, and the runner asks for every target
    on every change, the API for every target it lists: answers are kept
    until ``keep`` drops the targets that are gone.

    >>> placement = Placement(Shard(0, 1))
    >>> placement.owns("phd2", "rig"), placement.owner("phd2", "rig")
    (True, 0)
    """

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self._owners: dict[tuple[str, str], int] = {}

    def owner(self, kind: str, name: str) -> int:
        """Return the replica that runs ``kind/name``."""
        key = (kind, name)
        found = self._owners.get(key)
        if found is None:
            found = self._owners[key] = owner(kind, name, self.shard.count)
        return found

    def owns(self, kind: str, name: str) -> bool:
        """Say whether this shard runs ``kind/name``."""
        return self.owner(kind, name) == self.shard.index

    def remembered(self) -> set[tuple[str, str]]:
        """Return the targets whose placement is kept (for tests)."""
        return set(self._owners)

    def keep(self, keys: Iterable[tuple[str, str]]) -> None:
        """Forget every placement but those of ``keys`` (the current targets)."""
        wanted = set(keys)
        self._owners = {k: v for k, v in self._owners.items() if k in wanted}


def parse_shard(text: str) -> Shard:
    """Parse ``index/count`` (0-based index), e.g. ``1/3``.

    Raises:
        ValueError: not that form, or the numbers do not fit; the message says
            what the form is.

    >>> parse_shard("2/3")
    Shard(index=2, count=3)
    """
    found = _FORM.fullmatch(text)
    if found is None:
        raise ValueError(
            f"{text!r} is not INDEX/COUNT: this replica's number (from 0) and "
            "how many replicas there are, e.g. 0/3, 1/3, 2/3"
        )
    return Shard(int(found[1]), int(found[2]))
