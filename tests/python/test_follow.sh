#!/usr/bin/env bash
# End-to-end test of the Python change-feed follower (examples/python/follow.py).
# Needs a running cluster with the extension installed: PGHOST and PGPORT (PGUSER defaults
# to postgres; scripts/test.sh's cluster_start exports all three). Creates the database
# $METADATA_PY_DB (default py_follow; dropped first if it exists) with the extension,
# installs examples/python/requirements.txt into a venv in a temp dir (PyPI), and runs
# tests/python/test_follow.py. Prints one summary line; exits non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
: "${PGHOST:?set PGHOST (socket directory or host of a cluster with the extension)}"
: "${PGPORT:?set PGPORT}"
export PGHOST PGPORT PGUSER=${PGUSER:-postgres}
DB=${METADATA_PY_DB:-py_follow}

WORK=$(mktemp -d /tmp/metadata-py-follow.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "test_follow: FAIL: $*" >&2; exit 1; }

"$PG_BIN/dropdb" --if-exists --force "$DB" >/dev/null 2>&1 || fail "cannot drop database $DB"
"$PG_BIN/createdb" "$DB" || fail "cannot create database $DB on $PGHOST:$PGPORT"
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION metadata" \
  || fail "CREATE EXTENSION metadata failed in $DB"

python3 -m venv "$WORK/venv" || fail "python3 -m venv failed"
timeout 300 "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check \
  -r "$ROOT/examples/python/requirements.txt" >"$WORK/pip.log" 2>&1 \
  || { cat "$WORK/pip.log" >&2; fail "pip install -r examples/python/requirements.txt failed"; }

DSN="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB"
# The scenario needs about 6 s; each of its waits gives up after 10 s, and the whole of it
# after 90 s.
left=90
if timeout "$left" "$WORK/venv/bin/python" "$ROOT/tests/python/test_follow.py" "$DSN" "$WORK"; then
  "$PG_BIN/dropdb" --if-exists --force "$DB" >/dev/null 2>&1 || true
else
  rc=$?
  [ "$rc" = 124 ] && echo "test_follow: FAIL: the scenario took more than ${left} s" >&2
  echo "(database $DB kept for inspection)" >&2
  exit 1
fi
