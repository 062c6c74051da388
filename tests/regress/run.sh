#!/usr/bin/env bash
# tests/regress/run.sh DB INPUTDIR OUTPUTDIR [pg_regress arguments...]: runs pg_regress
# tests (such as --schedule=tests/regress/schedule, or test names) in database DB of the
# running cluster (PGHOST, PGPORT); pass --use-existing to run them in an existing
# database (an updated installation) instead of a new one. Prints the diffs on failure.
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_REGRESS=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress
db=$1 inputdir=$2 outputdir=$3
shift 3
mkdir -p "$outputdir"
if "$PG_REGRESS" --host="$PGHOST" --port="$PGPORT" --user=postgres --dbname="$db" \
    --inputdir="$inputdir" --outputdir="$outputdir" --bindir="$PG_BIN" "$@"; then
  exit 0
fi
head -200 "$outputdir/regression.diffs" 2>/dev/null
exit 1
