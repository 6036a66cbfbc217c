"""``python -m exporterhub.dashboards [DIR]``: write every dashboard's JSON into DIR.

DIR defaults to ``deploy/grafana/dashboards``. Only wiring; see the package.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from . import write_all

DEFAULT = Path("deploy/grafana/dashboards")


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dashboards; print each file written."""
    args = list(sys.argv[1:] if argv is None else argv)
    directory = Path(args[0]) if args else DEFAULT
    for path in write_all(directory):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main()
    sys.exit(main())
