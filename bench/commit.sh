#!/usr/bin/env bash
# Benchmark of large transactions (not a test: it prints figures). One transaction saves N
# items with metadata.bulk_save, then COMMIT; the commit runs the feed step, which numbers
# the N changes. For N = 1k, 5k, 10k, 20k, 40k (METADATA_BENCH_SIZES), it prints the time
# of the bulk_save statement and of the COMMIT, and the commit time per change: flat per
# change means linear. (0.1.0's commit was quadratic: 1.5 s for 5k items, 77 s for 40k,
# while every other writer waited for it.) A second session's one-row save, started while
# the big transaction commits, prints how long it waited.
#
# Usage: bench/commit.sh     Environment: METADATA_BENCH_PORT (default 54369),
# METADATA_BENCH_SIZES (default "1000 5000 10000 20000 40000").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${METADATA_BENCH_PORT:-54369}
sizes=${METADATA_BENCH_SIZES:-"1000 5000 10000 20000 40000"}

bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/lib.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/metadata-commit.XXXXXX")
chmod 755 "$dir"
trap 'cluster_stop "$dir"; rm -rf "$dir"' EXIT
install_extension 2>"$dir/install.log" || { cat "$dir/install.log" >&2; exit 1; }
CLUSTER_SETTINGS="" cluster_start "$dir" "$port"
q() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
q -c "CREATE EXTENSION metadata" -c "SELECT metadata.register_type('object', validation_mode => 'off')" >/dev/null

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
echo "bench: commit machine nproc=$(nproc) durable=fsync,synchronous_commit"
for n in $sizes; do
  q -c "SELECT metadata.save('object', 'other_$n', '{}')" >/dev/null
  # The big transaction: bulk_save, then COMMIT timed on its own (psql's \timing).
  q -v n="$n" > "$dir/big.$n" <<'SQL' &
\timing on
BEGIN;
SELECT (metadata.bulk_save(jsonb_agg(jsonb_build_object('type', 'object', 'name', 'n' || :n || '_' || i,
        'metadata', jsonb_build_object('i', i), 'scope', 'system')))) ->> 'succeeded' AS saved
FROM generate_series(1, :n) AS i;
SELECT pg_sleep(0.5);
COMMIT;
SQL
  big=$!
  # Another tenant's one-row save while the big transaction commits (it waits at most
  # for the big transaction's feed step).
  sleep 0.3
  while ! grep -q pg_sleep "$dir/big.$n" 2>/dev/null && kill -0 "$big" 2>/dev/null; do sleep 0.05; done
  sleep 0.45
  start=$(date +%s%N)
  PGOPTIONS="-c metadata.tenant_id=other" q -c "SELECT metadata.save('object', 'other_$n', '{\"v\": 1}')" >/dev/null
  waited=$(ms "$start")
  wait "$big"
  save_ms=$(grep -o 'Time: [0-9.]* ms' "$dir/big.$n" | sed -n 2p | grep -o '[0-9.]*')
  commit_ms=$(grep -o 'Time: [0-9.]* ms' "$dir/big.$n" | sed -n 4p | grep -o '[0-9.]*')
  awk -v n="$n" -v s="$save_ms" -v c="$commit_ms" -v w="$waited" 'BEGIN {
    printf "bench: commit n=%6d  bulk_save %9.1f ms  COMMIT %8.1f ms  %6.1f us/change  other tenant save %6d ms\n",
           n, s, c, 1000 * c / n, w }'
done
