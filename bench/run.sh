#!/usr/bin/env bash
# Benchmark of metadata.effective() (not a test: it prints figures).
#
# Builds and installs the extension, starts a throwaway PostgreSQL 15 cluster, loads a
# system layer (the HotCRM corpus when METADATA_CORPUS is set, else a generated object of
# the same shape) plus overlays of object `account` (tenant acme, user u42, and noise:
# 200 other tenants, 20 other acme users), then measures with pgbench, for tenant acme and
# user u42:
#   (a) raw primary-key lookup of the stored system document
#   (b) SELECT metadata.effective('object', 'account')          (3 layers; steady state:
#       the backend's memo of effective documents answers)
#   (b0) the same with SET metadata.effective_cache = off (every call folds the 3 layers)
#   (g) effective() of an object with its system layer only (returned as stored)
#   (c) the same as (b) with a PL/pgSQL RFC 7396 resolver (bench/plpgsql_resolver.sql)
#   (r) the same as (b) as a metadata_reader, under row level security
#   (v) metadata.validate('object', <the effective account document>), validator cached
#   (v0) the same with SET metadata.validator_cache = off (the schema compiled every call)
#   (s) metadata.save() of a changed object document (one item per client), type strict
#   (s0) the same with the type's validation off: s0 - s is what validation adds to a save
#   (ap, bp, rp) a, b and r again in preloaded mode (shared_preload_libraries), same run
# and, as a profile when b/a < 0.3 (or METADATA_BENCH_PROFILE=1):
#   (d) SELECT metadata.checksum(metadata) by primary key (jsonb->text->serde + SHA-256)
#   (e) SELECT metadata.merge_patch(metadata, '{}') by primary key (jsonb->serde->jsonb)
#   (f) the layer query effective() runs through SPI, as plain SQL (3 rows as text)
# (c) is checked to return exactly the jsonb of (b) before anything is measured.
#
# Usage: bench/run.sh [--quick]
# Environment:
#   METADATA_CORPUS        corpus directory holding hotcrm/bundle.json (e.g. /work/shared/corpus)
#   METADATA_BENCH_SECONDS seconds per case (default 10; --quick or METADATA_BENCH_QUICK=1: 3)
#   METADATA_BENCH_PORT    port of the throwaway cluster (default 54339)
#   METADATA_BENCH_CLIENTS pgbench clients and threads (default 2)
#   METADATA_BENCH_PROFILE 1: always measure (d), (e), (f); 0 (default): only when b/a < 0.3
# Output lines start with "bench:" (grep-able).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench

quick=${METADATA_BENCH_QUICK:-0}
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  seconds=3
else
  seconds=${METADATA_BENCH_SECONDS:-10}
fi
port=${METADATA_BENCH_PORT:-54339}
clients=${METADATA_BENCH_CLIENTS:-2}
profile=${METADATA_BENCH_PROFILE:-0}

bash "$ROOT/scripts/setup.sh"
# shellcheck source=../scripts/lib.sh
source "$ROOT/scripts/lib.sh"

PGBENCH=$PG_BIN/pgbench
PSQL=$PG_BIN/psql
if [ ! -x "$PGBENCH" ]; then
  # Debian ships pgbench in the server package.
  echo "bench: installing postgresql-15 for pgbench" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/metadata-bench.XXXXXX")
cleanup() {
  cluster_stop "$dir"
  rm -rf "$dir"
}
trap cleanup EXIT

if ! install_extension 2>"$dir/install.log"; then
  cat "$dir/install.log" >&2
  exit 1
fi
# The build measured; other work on this machine may install another one meanwhile.
so_file=$("$PG_CONFIG" --pkglibdir)/metadata.so
so_sum() { sha256sum "$so_file" | cut -c1-12; }
so_before=$(so_sum)
cluster_start "$dir" "$port"

psql_run() {
  "$PSQL" -X -q -v ON_ERROR_STOP=1 "$@"
}

# ---- data -----------------------------------------------------------------------------
psql_run -c 'CREATE EXTENSION metadata' >/dev/null
# Loading is not measured: validation off while the data goes in (HotCRM is partly invalid
# for the built-in schemas); object is switched back to strict for the validation cases.
psql_run -c "SELECT count(metadata.register_type(name, validation_mode => 'off')) FROM metadata.sys_metadata_type" >/dev/null
if [ -n "${METADATA_CORPUS:-}" ]; then
  bundle_file=$METADATA_CORPUS/hotcrm/bundle.json
  [ -r "$bundle_file" ] || { echo "bench: cannot read $bundle_file" >&2; exit 1; }
  data="hotcrm"
  # The file goes in through a psql variable, never the command line nor SQL text.
  psql_run -v bundle_file="$bundle_file" >/dev/null <<'SQL'
\set bundle `cat :'bundle_file'`
SELECT metadata.bulk_save(jsonb_agg(item || '{"scope": "system", "managed_by": "package", "source": "filesystem", "package_id": "hotcrm", "package_version": "1.0.0"}'::jsonb))
FROM jsonb_array_elements(:'bundle'::jsonb -> 'items') AS items(item);
SQL
else
  data="generated"
  psql_run -f "$BENCH/generated_system.sql" >/dev/null
fi
psql_run -f "$BENCH/overlays.sql" >/dev/null
psql_run -f "$BENCH/plpgsql_resolver.sql" >/dev/null
psql_run >/dev/null <<'SQL'
SELECT metadata.register_type('object', validation_mode => 'strict');
-- The effective account document, for the validation and save cases.
CREATE TABLE bench.docs AS SELECT 1 AS id, metadata.effective('object', 'account') AS doc;
SQL

id=$(psql_run -At -c "SELECT id FROM metadata.sys_metadata
  WHERE tenant_id IS NULL AND type = 'object' AND name = 'account' AND scope = 'system'
    AND state = 'active'")
[ -n "$id" ] || { echo "bench: no system row of object/account" >&2; exit 1; }

# Every pgbench connection (and the checks below) resolves for tenant acme, user u42.
export PGOPTIONS="-c metadata.tenant_id=acme -c metadata.user_id=u42"

# ---- checks: (c) == (b), three layers applied -----------------------------------------
check=$(psql_run -At -F ' ' -v id="$id" <<'SQL'
SELECT (e IS NOT NULL AND e = r),
       (SELECT count(*) FROM metadata.explain('object', 'account')),
       (SELECT count(*) FROM metadata.sys_metadata),
       (SELECT octet_length(metadata::text) FROM metadata.sys_metadata WHERE id = :'id'),
       octet_length(e::text), octet_length(coalesce(r::text, ''))
FROM (SELECT metadata.effective('object', 'account') AS e,
             bench.resolve('object', 'account') AS r) AS x;
SQL
)
read -r same layers rows sys_bytes eff_bytes plp_bytes <<<"$check"
if [ "$same" != t ]; then
  echo "bench: ABORT: bench.resolve() differs from metadata.effective() (bytes $eff_bytes vs $plp_bytes)" >&2
  psql_run -At -c "SELECT jsonb_pretty(metadata.effective('object', 'account'))" >"$dir/b.json"
  psql_run -At -c "SELECT jsonb_pretty(bench.resolve('object', 'account'))" >"$dir/c.json"
  diff "$dir/b.json" "$dir/c.json" | head -40 >&2 || true
  exit 1
fi
if [ "$layers" != 3 ]; then
  echo "bench: ABORT: expected 3 layers for acme/u42, explain() reports $layers" >&2
  exit 1
fi

# ---- measure --------------------------------------------------------------------------
# An object with no overlay: its effective document is its stored system layer.
single=$(psql_run -At -c "SELECT min(name) FROM metadata.sys_metadata
  WHERE type = 'object' AND name <> 'account' AND scope = 'system'")

# run NAME FILE [SETTINGS]: pgbench one case; sets tps_NAME and lat_NAME.
run() {
  local name=$1 file=$2 settings=${3:-} log
  log=$dir/pgbench-$name.log
  if ! PGOPTIONS="$PGOPTIONS $settings" "$PGBENCH" -n -M prepared -c "$clients" -j "$clients" \
      -T "$seconds" -D id="$id" -D single="$single" -f "$file" >"$log" 2>&1; then
    echo "bench: ABORT: pgbench failed for ($name):" >&2
    cat "$log" >&2
    exit 1
  fi
  local tps lat failed
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$log")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
  if [ -z "$tps" ] || [ -z "$lat" ] || [ "${failed:-0}" != 0 ]; then
    echo "bench: ABORT: unexpected pgbench output for ($name):" >&2
    cat "$log" >&2
    exit 1
  fi
  printf -v "tps_$name" '%s' "$tps"
  printf -v "lat_$name" '%s' "$lat"
}

ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }

pg_version=$(psql_run -At -c 'SHOW server_version' | cut -d' ' -f1)
echo "bench: machine nproc=$(nproc) pg=$pg_version loadavg=$(cut -d' ' -f1 /proc/loadavg) clients=$clients seconds=$seconds mode=prepared so=$so_before"
echo "bench: data=$data rows=$rows system_doc_bytes=$sys_bytes effective_doc_bytes=$eff_bytes layers=$layers context=acme/u42 check=ok"

run a "$BENCH/a_pk_lookup.pgbench"
run b "$BENCH/b_effective.pgbench"
run b0 "$BENCH/b_effective.pgbench" "-c metadata.effective_cache=off"
run g "$BENCH/g_single_layer.pgbench"
run c "$BENCH/c_plpgsql.pgbench"
# (r) the same as (b) as a metadata_reader, under row level security (the runs above are
# the superuser's, which bypasses it).
psql_run -c "DROP ROLE IF EXISTS bench_reader; CREATE ROLE bench_reader LOGIN IN ROLE metadata_reader" >/dev/null
PGUSER=bench_reader run r "$BENCH/b_effective.pgbench"
run v "$BENCH/v_validate.pgbench"
run v0 "$BENCH/v_validate.pgbench" "-c metadata.validator_cache=off"
run s "$BENCH/s_save.pgbench"
psql_run -c "SELECT metadata.register_type('object', validation_mode => 'off')" >/dev/null
run s0 "$BENCH/s_save.pgbench"
# Preloaded mode, same run: the cluster restarts with shared_preload_libraries = 'metadata'
# (answers from the backend's memory when no change bucket they depend on moved).
cluster_stop "$dir"
METADATA_PRELOAD=1 cluster_start "$dir" "$port"
run ap "$BENCH/a_pk_lookup.pgbench"
run bp "$BENCH/b_effective.pgbench"
PGUSER=bench_reader run rp "$BENCH/b_effective.pgbench"
b_a=$(ratio "$tps_b" "$tps_a")
b_c=$(ratio "$tps_b" "$tps_c")
if [ "$profile" = 1 ] || awk -v r="$b_a" 'BEGIN { exit !(r < 0.3) }'; then
  run d "$BENCH/d_checksum.pgbench"
  run e "$BENCH/e_roundtrip.pgbench"
  run f "$BENCH/f_layer_query.pgbench"
fi

printf 'bench: %-4s %-34s %12s %10s\n' case query tps avg_ms
printf 'bench: %-4s %-34s %12.1f %10.3f\n' a "pk lookup of the system row" "$tps_a" "$lat_a"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' b "metadata.effective() 3 layers" "$tps_b" "$lat_b"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' b0 "effective() 3 layers, cache off" "$tps_b0" "$lat_b0"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' g "effective() 1 layer" "$tps_g" "$lat_g"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' c "plpgsql resolve() 3 layers" "$tps_c" "$lat_c"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' r "effective() 3 layers, reader + RLS" "$tps_r" "$lat_r"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' v "metadata.validate() object, cached" "$tps_v" "$lat_v"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' v0 "validate(), compiled every call" "$tps_v0" "$lat_v0"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' s "save() object, validation strict" "$tps_s" "$lat_s"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' s0 "save() object, validation off" "$tps_s0" "$lat_s0"
if [ -n "${tps_d:-}" ]; then
  printf 'bench: %-4s %-34s %12.1f %10.3f\n' d "metadata.checksum() of pk row" "$tps_d" "$lat_d"
  printf 'bench: %-4s %-34s %12.1f %10.3f\n' e "metadata.merge_patch(pk row, {})" "$tps_e" "$lat_e"
  printf 'bench: %-4s %-34s %12.1f %10.3f\n' f "layer query alone (SQL, 3 rows)" "$tps_f" "$lat_f"
fi
echo "bench: ratio b/a=$b_a b/c=$b_c b0/a=$(ratio "$tps_b0" "$tps_a") b0/c=$(ratio "$tps_b0" "$tps_c") g/a=$(ratio "$tps_g" "$tps_a")"
echo "bench: ratio r/b=$(ratio "$tps_r" "$tps_b") (row level security as a metadata_reader vs the superuser)"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' ap "preloaded: pk lookup" "$tps_ap" "$lat_ap"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' bp "preloaded: effective() 3 layers" "$tps_bp" "$lat_bp"
printf 'bench: %-4s %-34s %12.1f %10.3f\n' rp "preloaded: effective(), reader + RLS" "$tps_rp" "$lat_rp"
echo "bench: ratio preloaded bp/ap=$(ratio "$tps_bp" "$tps_ap") rp/ap=$(ratio "$tps_rp" "$tps_ap") bp/b=$(ratio "$tps_bp" "$tps_b") (plain b/a=$b_a)"
echo "bench: ratio v/v0=$(ratio "$tps_v" "$tps_v0") s/s0=$(ratio "$tps_s" "$tps_s0") validation_ms_per_save=$(awk -v x="$lat_s" -v y="$lat_s0" 'BEGIN { printf "%.3f", x - y }')"
if [ -n "${tps_d:-}" ]; then
  echo "bench: ratio d/a=$(ratio "$tps_d" "$tps_a") e/a=$(ratio "$tps_e" "$tps_a") f/a=$(ratio "$tps_f" "$tps_a") b/e=$(ratio "$tps_b" "$tps_e") b/f=$(ratio "$tps_b" "$tps_f")"
fi
if [ "$(so_sum)" != "$so_before" ]; then
  echo "bench: WARNING: $so_file was replaced during the run (another install); figures may mix builds"
fi
