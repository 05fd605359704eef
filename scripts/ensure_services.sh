#!/usr/bin/env bash
# Makes sure the servers the integration tests start are installed (the tests start and
# stop them themselves). PostgreSQL (15 or newer) comes from the system's packages; the S3
# servers (moto, SeaweedFS) come from PyPI through pyproject's dev extras.
# Chromium (the browser tests) comes from the system's packages too.
# pgvector (the semantic-search tests): Debian bookworm has no pgvector package for its
# PostgreSQL 15, so those tests start the PostgreSQL 16 with pgvector that the `pgserver`
# wheel (PyPI, pyproject's dev extras) ships; nothing to install here.
#
# Never fails `make test` by itself: if PostgreSQL (or Chromium) cannot be installed, its tests
# skip with a clear reason (or fail, under TUBEQ_REQUIRE_SERVICES=1 as in CI).
set -uo pipefail

have_pg() {
  local dir
  for dir in "${TUBEQ_PG_BIN:-}" /usr/lib/postgresql/*/bin /usr/local/pgsql/bin \
             "$(command -v pg_config >/dev/null 2>&1 && pg_config --bindir)"; do
    [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && return 0
  done
  return 1
}

# Chromium for the browser tests (tests/browser): Debian's package, driven by Playwright;
# never a browser download (Playwright's own does not work here).
have_chromium() { [[ -x /usr/bin/chromium ]] || command -v chromium >/dev/null 2>&1; }
if ! have_chromium; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests (apt-get install chromium)…"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } ||
      echo "warning: could not install chromium; the browser tests will skip" >&2
  else
    echo "warning: no chromium found and cannot install it (apt-get install chromium as root);" >&2
    echo "  the browser tests will skip" >&2
  fi
fi

have_pg && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing the PostgreSQL server binaries (apt-get install postgresql)…"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; then
    # The package may start a cluster of its own; the tests run their own throwaway one.
    (command -v pg_ctlcluster >/dev/null && pg_ctlcluster --help >/dev/null 2>&1 &&
      for v in /etc/postgresql/*/main; do pg_ctlcluster "$(basename "$(dirname "$v")")" main stop; done) \
      >/dev/null 2>&1 || true
    have_pg && exit 0
  fi
  echo "warning: could not install PostgreSQL; the Postgres tests will skip" >&2
else
  echo "warning: no PostgreSQL server binaries found (initdb, pg_ctl) and cannot install them" >&2
  echo "  (install your system's postgresql package, or set TUBEQ_PG_BIN to its bin folder);" >&2
  echo "  the Postgres tests will skip" >&2
fi
exit 0
