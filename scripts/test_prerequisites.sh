#!/usr/bin/env bash
# `make test`: the Debian packages the suite needs beyond Python, installed when missing.
# Chromium (/usr/bin/chromium) is driven by Playwright in the browser tests (never a browser
# download); docker-compose validates docker-compose.yml offline. As root with apt-get, a
# missing one is installed; otherwise this stops at once with one line naming what to install.
set -uo pipefail
chromium=${CHROMIUM:-/usr/bin/chromium}
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "make test: missing Debian package(s): ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}"
  exit 1
fi
echo "make test: installing ${missing[*]} with apt-get (needed by the browser tests and the compose check)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
  echo "make test: apt-get could not install ${missing[*]}; install them yourself: apt-get install -y ${missing[*]}"
  exit 1
fi
