#!/usr/bin/env bash
# Benchmark of a streaming hot standby (not a test: it prints figures), in plain mode and in
# preloaded mode, same run, on a durable primary (fsync, synchronous_commit on) and its
# standby (pg_basebackup -R -X stream, as tests/replica/standby.sh builds it), with
# bench/run.sh's data (generated system layer + bench/overlays.sql: object account in 3
# layers for tenant acme, user u42):
#   effective  pgbench bench/b_effective.pgbench on the standby, then on the primary,
#              METADATA_BENCH_SECONDS each (default 5), with the primary idle and again
#              while 8 writers (METADATA_BENCH_WRITERS) save other objects of tenant acme on
#              the primary (validation off; a save of the 40-field account document each);
#   poll cost  one empty poll on the standby, SELECT * FROM metadata.changes_since(head, 100)
#              (1 pgbench client: µs per call, wall time, an upper bound of the server's
#              CPU), and what N followers polling every 100 ms / 1 s cost (calls/s × µs);
#   feed lag   bench/standby_lag.py: from a commit on the primary to its change in the
#              standby's changes_since (N saves, METADATA_BENCH_N, default 500, polled every
#              1 ms), primary idle and under the 8 writers. In preloaded mode the feed
#              worker numbers a change after its commit: the lag includes that step.
# Python: a venv of examples/python/requirements.txt (psycopg 3, from PyPI).
#
# Usage: bench/standby.sh     Environment: METADATA_BENCH_PORT (default 54600; the standby
# takes the next port), METADATA_BENCH_CLIENTS (effective() clients, default 2).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${METADATA_BENCH_SECONDS:-5}
port=${METADATA_BENCH_PORT:-54600}
n=${METADATA_BENCH_N:-500}
writers=${METADATA_BENCH_WRITERS:-8}
clients=${METADATA_BENCH_CLIENTS:-2}

bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/lib.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/metadata-standby.XXXXXX")
chmod 755 "$dir"
trap 'cluster_stop "$dir/standby"; cluster_stop "$dir/primary"; rm -rf "$dir"' EXIT
install_extension 2>"$dir/install.log" || { cat "$dir/install.log" >&2; exit 1; }
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/examples/python/requirements.txt"

declare -A port_of=([primary]=$port [standby]=$((port + 1)))
on() { PGHOST=$dir/$1 PGPORT=${port_of[$1]} "${@:2}"; }   # on primary|standby COMMAND…
psql_on() { on "$1" "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "${@:2}"; }
dsn() { echo "host=$dir/$1 port=${port_of[$1]} user=postgres dbname=postgres"; }
export PGOPTIONS="-c metadata.tenant_id=acme -c metadata.user_id=u42"

CLUSTER_SETTINGS="" cluster_start "$dir/primary" "${port_of[primary]}"
psql_on primary >/dev/null <<'SQL'
CREATE EXTENSION metadata;
SELECT count(metadata.register_type(name, validation_mode => 'off')) FROM metadata.sys_metadata_type;
CREATE SCHEMA bench;
SQL
psql_on primary -f "$ROOT/bench/generated_system.sql" -f "$ROOT/bench/overlays.sql" >/dev/null
psql_on primary -c "CREATE TABLE bench.docs AS SELECT 1 AS id, metadata.effective('object', 'account') AS doc"
# Statistics, as autovacuum would have them: without them the planner reads changes_since
# through the tenant filter, not the seq index, and an empty poll costs O(history).
psql_on primary -c "ANALYZE"
mkdir -p "$dir/standby" && chown postgres: "$dir/standby"
as_postgres "$PG_BIN/pg_basebackup" -h "$dir/primary" -p "${port_of[primary]}" -U postgres -D "$dir/standby/data" -R -X stream -c fast
CLUSTER_SETTINGS="" cluster_start "$dir/standby" "${port_of[standby]}"

echo "SELECT metadata.save('object', 'w_' || :client_id, jsonb_set(doc, '{label}', to_jsonb(random()::text))) FROM bench.docs WHERE id = 1;" >"$dir/writers.pgbench"
echo "SELECT * FROM metadata.changes_since(:head, 100);" >"$dir/poll.pgbench"

# Waits until the standby has replayed everything the primary has written so far.
catch_up() {
  local lsn
  lsn=$(psql_on primary -c "SELECT pg_current_wal_lsn()")
  for _ in $(seq 1 1500); do
    [ "$(psql_on standby -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && return 0
    sleep 0.02
  done
  echo "bench: standby did not replay up to $lsn" >&2; exit 1
}
# bench NAME SIDE CLIENTS FILE [pgbench options]: sets tps_NAME and lat_NAME (ms).
bench() {
  local name=$1 side=$2 c=$3 file=$4 log=$dir/$1.log
  on "$side" "$PG_BIN/pgbench" -n -M prepared -c "$c" -j "$c" -T "$seconds" -f "$file" "${@:5}" >"$log" 2>&1 &&
    grep -q "number of failed transactions: 0 " "$log" || { cat "$log" >&2; exit 1; }
  printf -v "tps_$name" '%s' "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")"
  printf -v "lat_$name" '%s' "$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$log")"
}
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }
lag() { "$dir/venv/bin/python" "$ROOT/bench/standby_lag.py" "$(dsn primary)" "$(dsn standby)" "$n" "$1"; }

# measure MODE: every figure of one mode, both clusters running.
measure() {
  local mode=$1 wpid lag_idle lag_load
  catch_up
  bench s_idle standby "$clients" "$ROOT/bench/b_effective.pgbench"
  bench p_idle primary "$clients" "$ROOT/bench/b_effective.pgbench"
  bench poll standby 1 "$dir/poll.pgbench" -D head="$(psql_on standby -c "SELECT head FROM metadata.feed_bounds()")"
  lag_idle=$(lag "$mode feed-lag primary-idle")
  # The writers run in the background (progress every second) until the lag probe is done.
  PGHOST=$dir/primary PGPORT=${port_of[primary]} "$PG_BIN/pgbench" -n -M prepared -c "$writers" -j 2 \
    -T 600 -P 1 -f "$dir/writers.pgbench" >"$dir/writers.log" 2>&1 &
  wpid=$!
  sleep 1
  bench s_load standby "$clients" "$ROOT/bench/b_effective.pgbench"
  bench p_load primary "$clients" "$ROOT/bench/b_effective.pgbench"
  lag_load=$(lag "$mode feed-lag $writers-writers")
  kill "$wpid" 2>/dev/null || { echo "bench: the writers stopped early:" >&2; cat "$dir/writers.log" >&2; exit 1; }
  wait "$wpid" || true
  local wtps
  wtps=$(awk '/^progress:/ { s += $4; k++ } END { printf "%.0f", k ? s / k : 0 }' "$dir/writers.log")
  printf 'bench: standby %-9s effective primary-idle    primary %8.0f tps  standby %8.0f tps  ratio %s\n' \
    "$mode" "$tps_p_idle" "$tps_s_idle" "$(ratio "$tps_s_idle" "$tps_p_idle")"
  printf 'bench: standby %-9s effective %s-writers       primary %8.0f tps  standby %8.0f tps  ratio %s  (writers %s saves/s)\n' \
    "$mode" "$writers" "$tps_p_load" "$tps_s_load" "$(ratio "$tps_s_load" "$tps_p_load")" "$wtps"
  local us
  us=$(awk -v ms="$lat_poll" 'BEGIN { printf "%.1f", ms * 1000 }')
  printf 'bench: standby %-9s poll cost %s µs/call (1 client, %.0f tps: changes_since(head, 100), empty)\n' "$mode" "$us" "$tps_poll"
  for f in 100 1000; do
    awk -v f="$f" -v us="$us" -v m="$mode" 'BEGIN { printf "bench: standby %-9s poll cpu %4d followers  every 100 ms %6.2f cores  every 1 s %6.3f cores  (calls/s x us/call)\n", m, f, f * 10 * us / 1e6, f * us / 1e6 }'
  done
  printf '%s\n' "$lag_idle" "$lag_load"
}

echo "bench: standby machine nproc=$(nproc) loadavg=$(cut -d' ' -f1 /proc/loadavg) seconds=$seconds clients=$clients writers=$writers durable=fsync,synchronous_commit context=acme/u42"
measure plain
cluster_stop "$dir/standby"; cluster_stop "$dir/primary"
METADATA_PRELOAD=1 CLUSTER_SETTINGS="" cluster_start "$dir/primary" "${port_of[primary]}"
METADATA_PRELOAD=1 CLUSTER_SETTINGS="" cluster_start "$dir/standby" "${port_of[standby]}"
measure preloaded
