#!/usr/bin/env bash
# Debian packages some tests need (headless chromium for the book's browser test, a
# PostgreSQL server for the scale-out gradebook test, bubblewrap for the sandbox that
# `autograde` runs student code in). Installed only when missing and when we may (root with
# apt-get); otherwise those tests skip and say why.
set -u
want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || want+=(postgresql)
command -v bwrap >/dev/null 2>&1 || want+=(bubblewrap)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system_deps: cannot install ${want[*]} (not root or no apt-get); their tests will skip"
  exit 0
fi
echo "system_deps: installing ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null 2>&1 \
  || echo "system_deps: apt-get install ${want[*]} failed; their tests will skip"
exit 0
