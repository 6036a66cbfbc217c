#!/usr/bin/env bash
# Installs the Debian packages the tests need (prometheus: promtool and the server for
# the end-to-end scrape test) when they are missing and we are allowed to (root + apt).
set -euo pipefail
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing Debian's prometheus package (promtool + server)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
else
  echo "system-deps: promtool/prometheus missing; install them with: sudo apt-get install prometheus" >&2
  echo "system-deps: the tests that need them will fail and say so" >&2
fi
