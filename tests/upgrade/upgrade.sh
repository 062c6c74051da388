#!/usr/bin/env bash
# ALTER EXTENSION metadata UPDATE, from every frozen release (sql/releases/) to the current
# version, on a database full of real data. For each release X:
#   1. a database gets `CREATE EXTENSION metadata VERSION 'X'` and real data through X's API
#      (tests/upgrade/load.sql: the HotCRM bundle when METADATA_CORPUS is set, else the
#      example CRM; overlays of six tenants and their users, drafts, a publish, a delete, a
#      rollback, a replace layer, a custom type with extends, roles with grants);
#   2. the data is aged to what X's library stored (tests/upgrade/age.sql: 0.1.0's
#      checksums), then `ALTER EXTENSION metadata UPDATE` runs (timed);
#   3. what must survive is compared before and after (tests/upgrade/facts.sql: every row,
#      history row, feed position, type, grant, and the effective document of every item in
#      seven tenant/user contexts);
#   4. the catalog equals a fresh `CREATE EXTENSION metadata` of the current version, by
#      tests/upgrade/catalog.sql and by `pg_dump --binary-upgrade --schema-only` (the only
#      mode in which pg_dump writes out an extension's member objects), normalised as
#      described at normalise_dump;
#   5. new writes get history, feed positions and a notification as on a fresh install;
#   6. the SQL regression suite (tests/regress) runs against a copy of the updated database.
# Needs a running cluster (PGHOST, PGPORT, PGUSER) with every version installed
# (scripts/lib.sh install_extension).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
CURRENT=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
if [ -n "${METADATA_CORPUS:-}" ]; then
  BUNDLE=$METADATA_CORPUS/hotcrm/bundle.json
else
  BUNDLE=$ROOT/examples/crm/bundle.json
fi
work=$(mktemp -d)
chmod 755 "$work"
OLD=metadata_upgrade_old
FRESH=metadata_upgrade_fresh
drop_dbs() {
  for db in "$OLD" "$FRESH" metadata_upgrade_regress; do
    "$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null
  done
}
trap 'rm -rf "$work"; drop_dbs' EXIT
q() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# What legitimately differs between two databases with the same catalog, and is masked:
# - OIDs: the OID-preserving calls (binary_upgrade_set_next_*), the OIDs of the
#   configuration tables in binary_upgrade_create_empty_extension (catalog.sql compares
#   them by name) and of TOAST tables (`WHERE oid = '123'`);
# - transaction ids: each table's relfrozenxid;
# - data: the current values of sequences (setval);
# - the random key of pg_dump's \restrict / \unrestrict lines.
normalise_dump() {
  sed -e '/binary_upgrade_set_next_/d' \
      -e "s/\(binary_upgrade_create_empty_extension('metadata', 'metadata', false, '[^']*'\), '[^']*', '[^']*'/\1, <config>, <conditions>/" \
      -e "s/^WHERE oid = '[0-9]*';\$/WHERE oid = <oid>;/" \
      -e "s/^SET relfrozenxid = '[0-9]*'/SET relfrozenxid = <xid>/" \
      -e "s/^\(SELECT pg_catalog.setval('[^']*'\), .*/\1, <value>);/" \
      -e 's/^\\\(un\)\{0,1\}restrict .*/\\\1restrict <key>/'
}

failed=0
check() {  # check WHAT FILE_A FILE_B
  if diff -u "$2" "$3" > "$work/diff"; then
    echo "upgrade: $1: $(wc -l < "$2") lines identical"
  else
    echo "upgrade: $1 differs:" >&2
    head -100 "$work/diff" >&2
    failed=1
  fi
}

for release in sql/releases/metadata--*.sql; do
  from=$(basename "$release" .sql)
  from=${from#metadata--}
  echo "upgrade: $from -> $CURRENT with $(basename "$(dirname "$BUNDLE")")/$(basename "$BUNDLE")"
  drop_dbs
  "$PG_BIN/createdb" "$OLD"
  q -d "$OLD" -c "CREATE EXTENSION metadata VERSION '$from'"
  UPGRADE_BUNDLE=$BUNDLE q -d "$OLD" -f tests/upgrade/load.sql > "$work/load.out"
  q -d "$OLD" -f tests/upgrade/facts.sql > "$work/before"
  # The data as the old release's library stored it (its checksums), which the update
  # must bring back to the facts above.
  if [ "$from" = 0.1.0 ]; then
    aged=$(q -d "$OLD" -f tests/upgrade/age.sql)
    echo "upgrade: aged to $from's checksums: $aged"
    case "$aged" in
      *"base checksums 0"* | *"row checksums 0"* | *"history checksums 0"* | *"previous checksums 0"*)
        echo "upgrade: the data has no checksum that $from wrote differently: nothing to migrate" >&2
        failed=1 ;;
    esac
  fi
  start=$(date +%s%N)
  q -d "$OLD" -c "ALTER EXTENSION metadata UPDATE"
  end=$(date +%s%N)
  rows=$(q -d "$OLD" -c "SELECT count(*) FROM metadata.sys_metadata")
  echo "upgrade: ALTER EXTENSION metadata UPDATE took $(( (end - start) / 1000000 )) ms for $rows rows"
  version=$(q -d "$OLD" -c "SELECT extversion FROM pg_extension WHERE extname = 'metadata'")
  [ "$version" = "$CURRENT" ] || { echo "upgrade: extversion is $version, not $CURRENT" >&2; exit 1; }
  q -d "$OLD" -f tests/upgrade/facts.sql > "$work/after"
  check "stored rows, history, feed, types, grants and effective documents" "$work/before" "$work/after"

  "$PG_BIN/createdb" "$FRESH"
  q -d "$FRESH" -c "CREATE EXTENSION metadata"
  q -d "$FRESH" -f tests/upgrade/grants.sql
  q -d "$OLD" -f tests/upgrade/catalog.sql > "$work/catalog.upgraded"
  q -d "$FRESH" -f tests/upgrade/catalog.sql > "$work/catalog.fresh"
  check "catalog (functions with proconfig and ACLs, relations, policies, privileges)" \
    "$work/catalog.fresh" "$work/catalog.upgraded"
  "$PG_BIN/pg_dump" --binary-upgrade --schema-only -d "$OLD" | normalise_dump > "$work/dump.upgraded"
  "$PG_BIN/pg_dump" --binary-upgrade --schema-only -d "$FRESH" | normalise_dump > "$work/dump.fresh"
  check "pg_dump --binary-upgrade --schema-only" "$work/dump.fresh" "$work/dump.upgraded"

  # The dependency edges the update built for the stored rows are those the write path
  # keeps when the same data is loaded into a fresh install.
  UPGRADE_BUNDLE=$BUNDLE q -d "$FRESH" -f tests/upgrade/load.sql > /dev/null
  edges="SELECT concat_ws(' ', tenant_id, type, name, scope, owner, path, target_type, target_name)
         FROM metadata.sys_metadata_reference ORDER BY 1"
  q -d "$OLD" -c "$edges" > "$work/edges.upgraded"
  q -d "$FRESH" -c "$edges" > "$work/edges.fresh"
  if [ ! -s "$work/edges.fresh" ]; then
    echo "upgrade: the data has no reference to build an edge from" >&2
    failed=1
  fi
  check "dependency edges" "$work/edges.fresh" "$work/edges.upgraded"

  # New writes after the update: a history row, the next feed position, a notification.
  q -d "$OLD" > "$work/writes" <<'SQL'
SELECT max(seq) AS head FROM metadata.sys_metadata_history \gset
LISTEN metadata_changes;
SET metadata.tenant_id = 'acme';
SELECT version FROM metadata.save('widget', 'clock', '{"tz": "Europe/Paris"}');
SELECT op || ' ' || version || ' ' || (seq - :head) FROM metadata.sys_metadata_history
WHERE type = 'widget' AND name = 'clock' AND tenant_id = 'acme';
SQL
  if ! grep -qx 'create 1 1' "$work/writes" || ! grep -q 'Asynchronous notification "metadata_changes"' "$work/writes"; then
    echo "upgrade: a write after the update did not get its history, feed position or notification:" >&2
    cat "$work/writes" >&2
    failed=1
  else
    echo "upgrade: a write after the update got its history row, the next feed position and a notification"
  fi

  # The regression suite's assertions, against a copy of the updated database.
  "$PG_BIN/createdb" -T "$OLD" metadata_upgrade_regress
  if bash tests/regress/run.sh metadata_upgrade_regress tests/regress "$work/regress" \
      --use-existing --schedule=tests/regress/schedule > "$work/regress.out"; then
    echo "upgrade: the SQL regression suite passes on the updated database ($(grep -c '^ok\|^test .* ok' "$work/regress.out") tests)"
  else
    cat "$work/regress.out" >&2
    failed=1
  fi
done
[ "$failed" = 0 ]
