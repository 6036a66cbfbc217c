#!/opt/exporterhub/bin/python
"""HEALTHCHECK of the exporterhub image: GET the chosen exporter's health URL.

The entrypoint writes the URL (the chosen exporter's port and its health path)
to ``EXPORTER_HEALTH_FILE`` before it starts the exporter; this exits 0 on a
2xx answer within three seconds, else 1. No other output than one line.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Probe the URL; 0 healthy, 1 not."""
    path = os.environ.get("EXPORTER_HEALTH_FILE", "/tmp/exporterhub-health")  # noqa: S108 - the container's own /tmp
    try:
        with open(path, encoding="utf-8") as file:
            url = file.read().strip()
    except OSError:
        print(f"unhealthy: no exporter chosen ({path} missing)")
        return 1
    if not url.startswith("http://127.0.0.1:"):
        print(f"unhealthy: not a loopback URL in {path}")
        return 1
    try:
        with urllib.request.urlopen(url, timeout=3) as reply:  # noqa: S310 - http on loopback only
            status = reply.status
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}")
        return 1
    print(f"healthy: {url} {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
