#!/usr/bin/env bash
# Installs the Debian packages `make test` needs when they are missing and we are
# allowed to (root + apt): prometheus (promtool and the server for the end-to-end
# scrape test), postgresql (initdb + pg_ctl: the store tests start a throwaway
# server; the package also creates the unprivileged `postgres` user they run it as
# when root), python3-venv (where the interpreter cannot create a venv) and chromium
# (the UI tests drive Debian's Chromium through Playwright; Playwright's own browser
# download is not available) and systemd (systemd-analyze checks the units).
set -euo pipefail
PYTHON="${PYTHON:-python3}"
missing=()
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  missing+=(prometheus)
fi
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
# systemd-analyze verifies the units in deploy/systemd (tests/deploy/test_services.py).
if ! command -v systemd-analyze >/dev/null 2>&1; then
  missing+=(systemd)
fi
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "system-deps: missing ${missing[*]}; install with: sudo apt-get install ${missing[*]}" >&2
  echo "system-deps: the tests that need them will fail and say so" >&2
fi
