#!/usr/bin/env bash
# Concurrent writers never lose an update (DESIGN §4 "Concurrency"): 6 pgbench clients save
# changed documents into 4 items, creating them concurrently; every save must succeed, the
# versions must add up to the number of saves, the history must hold each, and the change
# feed must number them 1..N. Needs a running cluster (PGHOST, ...).
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
read -r items versions changes feed < <("$PG_BIN/psql" -X -At -F ' ' -d "$db" -c "
  SELECT (SELECT count(*) FROM metadata.sys_metadata), (SELECT sum(version) FROM metadata.sys_metadata),
         count(*), CASE WHEN min(seq) = 1 AND max(seq) = count(*) THEN count(DISTINCT seq) END
  FROM metadata.sys_metadata_history")
expected=$((clients * per_client))
if [ "$items" = 4 ] && [ "$versions" = "$expected" ] && [ "$changes" = "$expected" ] && [ "$feed" = "$expected" ]; then
  echo "no_lost_update: $expected concurrent saves into $items items: versions add up to $versions," \
       "$changes history rows, feed seq 1..$feed without gap"
else
  echo "no_lost_update: expected 4 items, versions and history adding up to $expected; got" \
       "$items items, versions $versions, history $changes, feed $feed" >&2
  exit 1
fi
