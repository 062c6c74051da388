#!/usr/bin/env bash
# Benchmark of the write path (not a test: it prints figures). On a durable cluster (fsync
# and synchronous_commit on), each client saves a changed 40-field object document (a new
# label each time) into its own item, one save per transaction:
#   P  metadata.save() at the platform scope (tenant acme) over a system base;
#   U  metadata.save() at the user scope (acme, u42) over the platform and system layers;
#   B  the baseline users write without us: INSERT … ON CONFLICT DO UPDATE of the same row
#      into a table with the same columns, with a PL/pgSQL trigger writing a history row
#      (bench/save_baseline.sql).
# All three in one run, at 1 and at 8 clients (METADATA_BENCH_WRITERS), each printing TPS
# and the p50/p99 latency of a save; then the ratios P/B and U/B; then B and P at 8 clients
# again in preloaded mode (shared_preload_libraries = 'metadata').
#
# Usage: bench/save.sh [--quick]     (METADATA_BENCH_SECONDS per case, default 10; --quick: 3)
# Environment: METADATA_BENCH_PORT (default 54379), METADATA_BENCH_WRITERS (default 8).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${METADATA_BENCH_SECONDS:-10}
[ "${1:-}" = --quick ] && seconds=3
port=${METADATA_BENCH_PORT:-54379}
writers=${METADATA_BENCH_WRITERS:-8}

bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/lib.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/metadata-save.XXXXXX")
chmod 755 "$dir"
trap 'cluster_stop "$dir"; rm -rf "$dir"' EXIT
install_extension 2>"$dir/install.log" || { cat "$dir/install.log" >&2; exit 1; }
CLUSTER_SETTINGS="" cluster_start "$dir" "$port"
psql_run() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_run -v writers="$writers" -f "$ROOT/bench/save_baseline.sql" >/dev/null

cat >"$dir/P.pgbench" <<'SQL'
SELECT metadata.save('object', 'save_' || :client_id, jsonb_set(d.doc, '{label}', to_jsonb(random()::text))) FROM bench.doc d;
SQL
cat >"$dir/U.pgbench" <<'SQL'
SELECT metadata.save('object', 'save_' || :client_id, jsonb_set(d.doc, '{label}', to_jsonb(random()::text)), scope => 'user') FROM bench.doc d;
SQL
cat >"$dir/B.pgbench" <<'SQL'
INSERT INTO bench.plain AS p (tenant_id, type, name, scope, metadata)
SELECT 'acme', 'object', 'save_' || :client_id, 'platform', jsonb_set(d.doc, '{label}', to_jsonb(random()::text)) FROM bench.doc d
ON CONFLICT (tenant_id, type, name, scope, owner) DO UPDATE
SET metadata = EXCLUDED.metadata, version = p.version + 1, updated_at = now(), updated_by = current_user;
SQL

# run CASE CLIENTS: pgbench with per-transaction latencies; sets tps_, p50_, p99_ CASE_CLIENTS.
run() {
  local name=$1 n=$2 log=$dir/$1_$2.log
  rm -f "$dir"/lat_"$name"_"$n"*
  PGOPTIONS="-c metadata.tenant_id=acme -c metadata.user_id=u42" \
    "$PG_BIN/pgbench" -n -M prepared -c "$n" -j "$(( n < 2 ? 1 : 2 ))" -T "$seconds" \
      -l --log-prefix="$dir/lat_${name}_$n" -f "$dir/$name.pgbench" >"$log" 2>&1 ||
    { cat "$log" >&2; exit 1; }
  grep -q "number of failed transactions: 0 " "$log" || { cat "$log" >&2; exit 1; }
  printf -v "tps_${name}_$n" '%s' "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")"
  # Column 3 of pgbench's log: the latency of the transaction, in microseconds.
  cat "$dir"/lat_"$name"_"$n"* | awk '{ print $3 }' | sort -n >"$dir/sorted"
  local count
  count=$(wc -l <"$dir/sorted")
  printf -v "p50_${name}_$n" '%s' "$(sed -n "$(( (count + 1) / 2 ))p" "$dir/sorted")"
  printf -v "p99_${name}_$n" '%s' "$(sed -n "$(( (count * 99 + 99) / 100 ))p" "$dir/sorted")"
}

ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }
echo "bench: save machine nproc=$(nproc) seconds=$seconds durable=fsync,synchronous_commit doc=object of 40 fields"
for n in 1 "$writers"; do
  run B "$n"
  run P "$n"
  run U "$n"
  for c in B P U; do
    t=tps_${c}_$n p50=p50_${c}_$n p99=p99_${c}_$n
    printf 'bench: save clients=%-2s %s tps %9.1f  p50 %7s ms  p99 %7s ms\n' "$n" "$c" "${!t}" "$(ms "${!p50}")" "$(ms "${!p99}")"
  done
  tb=tps_B_$n tp=tps_P_$n tu=tps_U_$n
  echo "bench: save clients=$n ratio P/B=$(ratio "${!tp}" "${!tb}") U/B=$(ratio "${!tu}" "${!tb}")"
done
# Preloaded mode, same run: the writers take no feed lock and send no NOTIFY.
cluster_stop "$dir"
METADATA_PRELOAD=1 CLUSTER_SETTINGS="" cluster_start "$dir" "$port"
n=$writers
run B "$n"
run P "$n"
for c in B P; do
  t=tps_${c}_$n p50=p50_${c}_$n p99=p99_${c}_$n
  printf 'bench: save preloaded clients=%-2s %s tps %9.1f  p50 %7s ms  p99 %7s ms\n' "$n" "$c" "${!t}" "$(ms "${!p50}")" "$(ms "${!p99}")"
done
tb=tps_B_$n tp=tps_P_$n
echo "bench: save preloaded clients=$n ratio P/B=$(ratio "${!tp}" "${!tb}")"
