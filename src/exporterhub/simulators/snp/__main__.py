"""``python -m exporterhub.simulators.snp``: the ``snp-simulator`` command.

Wiring only; the flags and the run loop live in ``command``.
"""

from __future__ import annotations

from exporterhub.simulators.snp import main

if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    raise SystemExit(main())
