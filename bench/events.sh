#!/usr/bin/env bash
# Benchmark of what history and change events cost writers (not a test: it prints figures).
#
# The NOTIFY trap: Postgres takes a cluster-wide lock at commit for every transaction that
# notified, held through the commit's WAL flush, so notifying writers commit one at a time.
# The change feed's commit-ordered seq takes a lock at the same moment (the feed step at the
# end of each committing transaction). This measures, on a durable cluster (fsync on,
# synchronous_commit on), 8 concurrent writers each saving its own item, one save per
# transaction, in one run:
#   none     the history trigger disabled (what a save costs without history and feed)
#   feed     history + commit-ordered seq, SET metadata.notify = off
#   events   history + seq + the doorbell NOTIFY (the default)
# then the three again in preloaded mode (shared_preload_libraries = 'metadata': the feed
# worker numbers and notifies), and prints TPS and the ratios to `none` of the same mode.
#
# Usage: bench/events.sh [--quick]      (METADATA_BENCH_SECONDS, default 10; --quick: 3)
# Environment: METADATA_BENCH_PORT (default 54359), METADATA_BENCH_WRITERS (default 8).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${METADATA_BENCH_SECONDS:-10}
[ "${1:-}" = --quick ] && seconds=3
port=${METADATA_BENCH_PORT:-54359}
writers=${METADATA_BENCH_WRITERS:-8}

bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/lib.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/metadata-events.XXXXXX")
trap 'cluster_stop "$dir"; rm -rf "$dir"' EXIT
install_extension 2>"$dir/install.log" || { cat "$dir/install.log" >&2; exit 1; }
CLUSTER_SETTINGS="" cluster_start "$dir" "$port"

psql_run() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_run >/dev/null <<'SQL'
CREATE EXTENSION metadata;
SELECT metadata.register_type('object', validation_mode => 'off');
SQL
echo "SELECT metadata.save('object', 'w' || :client_id, jsonb_build_object('n', random()), scope => 'system');" \
  >"$dir/save.pgbench"

# run NAME [SETTINGS]: pgbench the writers; sets tps_NAME.
run() {
  local name=$1 settings=${2:-} log=$dir/$1.log
  PGOPTIONS="$settings" "$PG_BIN/pgbench" -n -M prepared -c "$writers" -j 2 -T "$seconds" \
    -f "$dir/save.pgbench" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  printf -v "tps_$name" '%s' "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")"
}

# none: the history trigger (which also registers the feed step) disabled.
psql_run -c "ALTER TABLE metadata.sys_metadata DISABLE TRIGGER sys_metadata_after_write" >/dev/null
run none
psql_run -c "ALTER TABLE metadata.sys_metadata ENABLE TRIGGER sys_metadata_after_write" >/dev/null
run feed "-c metadata.notify=off"
run events
# Preloaded mode, same run and data: the feed worker numbers and notifies; writers take no
# feed lock and send no NOTIFY (metadata.feed_sync off, the default).
cluster_stop "$dir"
METADATA_PRELOAD=1 CLUSTER_SETTINGS="" cluster_start "$dir" "$port"
psql_run -c "ALTER TABLE metadata.sys_metadata DISABLE TRIGGER sys_metadata_after_write" >/dev/null
run none_pre
psql_run -c "ALTER TABLE metadata.sys_metadata ENABLE TRIGGER sys_metadata_after_write" >/dev/null
run feed_pre "-c metadata.notify=off"
run events_pre
lag=$(psql_run -At -c "SELECT metadata.wait_for_feed('60 s') IS NOT NULL")

ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }
echo "bench: events machine nproc=$(nproc) writers=$writers seconds=$seconds durable=fsync,synchronous_commit"
for c in none feed events; do
  v=tps_$c
  printf 'bench: events %-8s tps %10.1f  vs none %s\n' "$c" "${!v}" "$(ratio "${!v}" "$tps_none")"
done
for c in none feed events; do
  v=tps_${c}_pre
  printf 'bench: events preloaded %-8s tps %10.1f  vs none %s\n' "$c" "${!v}" "$(ratio "${!v}" "$tps_none_pre")"
done
echo "bench: events preloaded: the worker caught up after the run: $lag"
