"""``python -m exporterhub`` runs the ``exporterhub`` command."""

from __future__ import annotations

import sys

from exporterhub.cli import main

if __name__ == "__main__":
    sys.exit(main())
