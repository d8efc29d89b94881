#!/usr/bin/env bash
# The whole test suite: go test -race on every package, the MySQL conformance half against
# a throwaway MariaDB, then short fuzz runs. Outside CI a missing MariaDB is reported
# loudly and its half skipped; in CI (CI=true) it is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

if [ -z "${LINEPULSE_TEST_MYSQL_DSN:-}" ]; then
  PATH=$PATH:/usr/sbin
  if command -v mariadbd >/dev/null; then
    dbdir=$(mktemp -d "${TMPDIR:-/tmp}/linepulse-mariadb.XXXXXX")
    trap './deploy/dev/throwaway-mariadb.sh stop "$dbdir"' EXIT
    LINEPULSE_TEST_MYSQL_DSN=$(./deploy/dev/throwaway-mariadb.sh start "$dbdir")
    export LINEPULSE_TEST_MYSQL_DSN
    echo "test: throwaway MariaDB at $LINEPULSE_TEST_MYSQL_DSN"
  elif [ "${CI:-}" = "true" ]; then
    echo "test: FAIL: CI needs MariaDB for the MySQL suite and mariadbd is not installed" >&2
    exit 1
  else
    echo "test: *** MySQL SUITE SKIPPED: mariadbd not installed (apt-get install mariadb-server) ***" >&2
  fi
fi

go vet ./...
go test -race -count=1 -timeout 20m ./...
./deploy/dev/fuzz.sh "${FUZZTIME:-5s}"
echo "test: done in $(( $(date +%s) - start ))s"
