#!/usr/bin/env bash
# The change feed stays dense across a crash (DESIGN §4 "Change events"): 4 pgbench
# clients save while the server is stopped in immediate mode (no shutdown checkpoint, WAL
# replay on restart, as after a kill -9); afterwards every history row has a position,
# positions are exactly 1..head, and the next commits continue at head+1. (0.1.0 took
# positions from a sequence, which skips up to 32 values after a crash.)
# Needs a running cluster (PGHOST, PGPORT) whose data directory is $PGDATA_DIR.
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
: "${PGDATA_DIR:?PGDATA_DIR must name the data directory of the running cluster}"
db=metadata_crash
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"; "$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null' EXIT
q() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At -d "$db" "$@"; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
"$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null
"$PG_BIN/createdb" "$db"
q -c "CREATE EXTENSION metadata" -c "SELECT metadata.register_type('object', validation_mode => 'off')" >/dev/null
echo "SELECT metadata.save('object', 'item' || (random() * 20)::int, jsonb_build_object('n', random()), scope => 'system');" > "$work/save.sql"
# Clients lose their connections when the server stops: pgbench's exit status is not checked.
"$PG_BIN/pgbench" -n -d "$db" -c 4 -j 2 -T 30 -f "$work/save.sql" > "$work/out" 2>&1 &
bench=$!
sleep 3
# restart -m immediate: stop without a checkpoint, start again with the same options.
as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/../server.log" -m immediate -w restart >/dev/null
wait "$bench" || true
facts() {
  q -F ' ' -c "SELECT (SELECT head FROM metadata.sys_metadata_feed), count(*), count(seq), max(seq), count(DISTINCT seq)
               FROM metadata.sys_metadata_history"
}
read -r head rows numbered max distinct < <(facts)
if [ "$rows" -lt 10 ] || [ "$numbered" != "$rows" ] || [ "$max" != "$rows" ] || [ "$distinct" != "$rows" ] || [ "$head" != "$max" ]; then
  echo "feed_after_crash: after the crash: head $head, $rows changes, $numbered numbered, max $max, $distinct distinct" >&2
  exit 1
fi
q -c "SELECT metadata.save('object', 'after', '{}', scope => 'system')" >/dev/null
next=$(q -c "SELECT seq FROM metadata.sys_metadata_history WHERE name = 'after'")
if [ "$next" != $((head + 1)) ]; then
  echo "feed_after_crash: the first change after the crash got position $next, not $((head + 1))" >&2
  exit 1
fi
echo "feed_after_crash: $rows changes committed before an immediate shutdown under load hold positions 1..$head without gap; the next one got $next"
