#!/usr/bin/env bash
# Benchmark of the memo's memory (not a test: it prints figures). 150,000 distinct items
# (METADATA_BENCH_ITEMS) of two layers each (a system base and a platform overlay of tenant
# acme, so their effective documents are memoised) are read once each by effective() in
# one backend, with metadata.memo_size at 4 MB, 16 MB (the default) and 0 (memo off), each
# in a fresh backend. The backend's resident memory (VmRSS) is read before and after; the
# growth minus the growth with the memo off is what the memo holds, to compare with its
# budget. (0.1.0 counted only the values: 85 MB for 150,000 items under a 16 MB budget.)
#
# Usage: bench/memo.sh    Environment: METADATA_BENCH_PORT (default 54389), METADATA_BENCH_ITEMS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${METADATA_BENCH_PORT:-54389}
items=${METADATA_BENCH_ITEMS:-150000}

bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/lib.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/metadata-memo.XXXXXX")
chmod 755 "$dir"
trap 'cluster_stop "$dir"; rm -rf "$dir"' EXIT
install_extension 2>"$dir/install.log" || { cat "$dir/install.log" >&2; exit 1; }
cluster_start "$dir" "$port"
q() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# The items, written around the triggers for speed (bench set-up only: rows as a restore
# would bring them, with their checksums).
q -v items="$items" >/dev/null <<'SQL'
CREATE EXTENSION metadata;
SELECT (metadata.register_type('object', validation_mode => 'off')).name;
SET session_replication_role = replica;
INSERT INTO metadata.sys_metadata (tenant_id, type, name, scope, metadata, checksum)
SELECT NULL, 'object', 'm' || i, 'system', d, metadata.checksum(d)
FROM generate_series(1, :items) AS i,
     LATERAL (SELECT jsonb_build_object('name', 'm' || i, 'label', 'Item ' || i,
                     'fields', jsonb_build_object('a', jsonb_build_object('type', 'text'))) AS d) AS x;
INSERT INTO metadata.sys_metadata (tenant_id, type, name, scope, metadata, checksum)
SELECT 'acme', 'object', 'm' || i, 'platform', d, metadata.checksum(d)
FROM generate_series(1, :items) AS i, LATERAL (SELECT jsonb_build_object('label', 'Acme ' || i) AS d) AS x;
SQL

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# read SIZE: reads every item once in a fresh backend with metadata.memo_size = SIZE;
# sets growth_SIZE (kB).
read_all() {
  local size=$1 fifo=$dir/fifo.$1
  mkfifo "$fifo"
  PGOPTIONS="-c metadata.tenant_id=acme -c metadata.memo_size=$size" q <"$fifo" >"$dir/out.$size" &
  local client=$!
  exec 3>"$fifo"
  echo "SELECT pg_backend_pid();" >&3
  echo "SELECT metadata.effective('object', 'm1') IS NOT NULL;" >&3
  sleep 1
  local pid
  pid=$(head -1 "$dir/out.$size")
  local before
  before=$(rss_kb "$pid")
  echo "SELECT count(metadata.effective('object', 'm' || i)) FROM generate_series(1, $items) AS i;" >&3
  echo "SELECT 'done';" >&3
  while ! grep -q '^done$' "$dir/out.$size"; do sleep 0.5; done
  local after
  after=$(rss_kb "$pid")
  exec 3>&-
  wait "$client"
  printf -v "growth_${size//[^0-9a-zA-Z]/_}" '%s' "$(( after - before ))"
}

echo "bench: memo machine nproc=$(nproc) items=$items layers=2"
for size in 0 4MB 16MB; do
  read_all "$size"
done
for size in 4MB 16MB; do
  g=growth_$size
  memo=$(( ${!g} - growth_0 ))
  echo "bench: memo memo_size=$size backend growth $(( ${!g} / 1024 )) MB, of which the memo $(( memo / 1024 )) MB (budget $size; memo off: $(( growth_0 / 1024 )) MB)"
done
