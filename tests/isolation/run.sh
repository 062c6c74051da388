#!/usr/bin/env bash
# tests/isolation/run.sh OUTPUTDIR: runs the isolation specs (tests/isolation/specs, with
# Postgres' own isolationtester through pg_isolation_regress from pgxs) in a new database
# metadata_isolation of the running cluster (PGHOST, PGPORT). Each spec's expected output
# shows who waits, who wins and the error the loser gets. Prints the diffs on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
ISOLATION=/usr/lib/postgresql/15/lib/pgxs/src/test/isolation
out=$1
mkdir -p "$out"
if "$ISOLATION/pg_isolation_regress" --host="$PGHOST" --port="$PGPORT" --user=postgres \
    --dbname=metadata_isolation --inputdir="$ROOT/tests/isolation" --outputdir="$out" \
    --bindir="$PG_BIN" --schedule="$ROOT/tests/isolation/schedule"; then
  exit 0
fi
head -200 "$out/regression.diffs" 2>/dev/null
exit 1
