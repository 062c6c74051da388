#!/usr/bin/env bash
# An import is one transaction: a backend killed (kill -9) in the middle of
# metadata.import leaves nothing of it after the server's crash recovery: no row, no
# history row, no feed position; and the same import then runs to its end.
# Needs a running cluster (PGHOST, PGPORT) that this script may crash (restart_after_crash
# is on by default: the postmaster reinitialises and accepts connections again).
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
db=metadata_import_killed
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"; "$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null' EXIT
q() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
"$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null
"$PG_BIN/createdb" "$db"
q -c "CREATE EXTENSION metadata" -c "SELECT metadata.register_type('object', validation_mode => 'off')" >/dev/null
facts() { q -F ' ' -c "SELECT (SELECT count(*) FROM metadata.sys_metadata), count(*), count(seq) FROM metadata.sys_metadata_history"; }
before=$(facts)
# 20,000 items: long enough to be killed in the middle (import NOTICEs every 500).
bundle="SELECT jsonb_build_object('items', jsonb_agg(jsonb_build_object('type', 'object', 'name', 'item_' || i,
          'scope', 'system', 'metadata', jsonb_build_object('n', i)))) FROM generate_series(1, 20000) i"
q -c "SELECT (metadata.import(($bundle))) -> 'counts'" > "$work/import.out" 2> "$work/import.err" &
client=$!
# Kill the backend once it has saved some items (its first NOTICE).
pid=
for _ in $(seq 1 600); do
  if grep -q "import: 500 of" "$work/import.err" 2>/dev/null; then
    pid=$("$PG_BIN/psql" -X -At -d "$db" -c "SELECT pid FROM pg_stat_activity WHERE query LIKE '%metadata.import%' AND pid <> pg_backend_pid()")
    break
  fi
  sleep 0.1
done
[ -n "$pid" ] || { echo "import_killed: the import never reached its first NOTICE" >&2; cat "$work/import.err" >&2; exit 1; }
kill -9 "$pid"
wait "$client" || true
for _ in $(seq 1 100); do "$PG_BIN/pg_isready" -q && break; sleep 0.2; done
sleep 1
for _ in $(seq 1 50); do facts > "$work/after" 2>/dev/null && break; sleep 0.2; done
after=$(cat "$work/after")
if [ "$after" != "$before" ]; then
  echo "import_killed: after kill -9 and recovery the tables hold (rows, history, positions) $after, not $before" >&2
  exit 1
fi
counts=$(q -c "SELECT (metadata.import(($bundle))) -> 'counts'" 2>/dev/null)
[ "$counts" = '{"created": 20000}' ] || { echo "import_killed: the import after recovery reported $counts" >&2; exit 1; }
echo "import_killed: backend $pid killed after 500 of 20000 items; nothing of the import after recovery ($after); the import then created 20000"
