#!/usr/bin/env bash
# Concurrent writers never lose an update (DESIGN §4 "Concurrency"): 6 pgbench clients save
# changed documents into 4 items, creating them concurrently; every save must succeed and
# the versions must add up to the number of saves. Needs a running cluster (PGHOST, ...).
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
db=metadata_concurrency
work=$(mktemp -d)
trap 'rm -rf "$work"; "$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null' EXIT
"$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null
"$PG_BIN/createdb" "$db"
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION metadata" \
  -c "SELECT metadata.register_type('object', validation_mode => 'off')" >/dev/null
clients=6 per_client=300
# Each save writes a new random document, so each one is a change (a new version).
echo "SELECT metadata.save('object', 'item' || (random() * 3)::int, jsonb_build_object('n', random()));" > "$work/save.sql"
"$PG_BIN/pgbench" -n -d "$db" -c "$clients" -j 2 -t "$per_client" -f "$work/save.sql" > "$work/out" 2>&1 || {
  cat "$work/out"; exit 1; }
grep -q "number of failed transactions: 0 " "$work/out" || { cat "$work/out"; exit 1; }
read -r items versions < <("$PG_BIN/psql" -X -At -F ' ' -d "$db" \
  -c "SELECT count(*), sum(version) FROM metadata.sys_metadata")
expected=$((clients * per_client))
if [ "$items" = 4 ] && [ "$versions" = "$expected" ]; then
  echo "no_lost_update: $expected concurrent saves into $items items, versions add up to $versions"
else
  echo "no_lost_update: expected 4 items with versions adding up to $expected, got $items items and $versions" >&2
  exit 1
fi
