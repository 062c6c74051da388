#!/usr/bin/env bash
# Benchmark of metadata.upgrade_package (not a test: it prints figures). HotCRM's 129
# documents installed as the package "hotcrm" 1.0.0; 1,000 tenants (METADATA_BENCH_TENANTS)
# each customise 10 of its items (10,000 platform overlays: a description each, and for one
# tenant in ten a label too); version 2.0.0 changes 20% of the documents (every fifth item:
# its label and a new member). Then, in the same run, each in a database of its own that
# starts from the same state:
#   dry run    upgrade_package(..., strategy => 'keep-custom', dry_run => true);
#   upgrade    the same, written (every overlay over a changed item merged, rebased and
#              checked; the relabelled ones reported as masking the new label);
#   re-run     the same upgrade again (nothing to do);
#   naive      the floor: the new documents saved over the system rows (bulk_save), the
#              overlays left as they are (stale).
# Prints the time per overlay merged and the ratios. Needs the corpus: METADATA_CORPUS
# (default ../shared/corpus).
#
# Usage: bench/packages.sh   Environment: METADATA_BENCH_PORT (default 54381),
# METADATA_BENCH_TENANTS (default 1000), METADATA_CORPUS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${METADATA_BENCH_PORT:-54381}
tenants=${METADATA_BENCH_TENANTS:-1000}
corpus=${METADATA_CORPUS:-$ROOT/../shared/corpus}
bundle=$(realpath "$corpus/hotcrm/bundle.json")

bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/lib.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/metadata-packages.XXXXXX")
chmod 755 "$dir"
trap 'cluster_stop "$dir"; rm -rf "$dir"' EXIT
install_extension 2>"$dir/install.log" || { cat "$dir/install.log" >&2; exit 1; }
CLUSTER_SETTINGS="" cluster_start "$dir" "$port"
# (Lenient types warn about the corpus's invalid documents on every write: not shown.)
q() { PGOPTIONS="-c client_min_messages=error" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

q -c "CREATE DATABASE bench_tmpl"
q -d bench_tmpl -v bundle_file="$bundle" -v tenants="$tenants" > /dev/null <<'SQL'
SET client_min_messages = error;
CREATE EXTENSION metadata;
\set bundle `cat :bundle_file`
CREATE TABLE input AS SELECT :'bundle'::jsonb AS doc;
SELECT count(*) FROM (SELECT DISTINCT i ->> 'type' AS t FROM input, jsonb_array_elements(doc -> 'items') i) x,
       metadata.register_type(x.t, validation_mode => 'lenient');
CREATE TABLE v1 AS SELECT doc || '{"package": {"id": "hotcrm", "version": "1.0.0"}}' AS bundle FROM input;
-- Every fifth item changes: its label, and a member it did not have.
CREATE TABLE v2 AS
SELECT jsonb_build_object('package', '{"id": "hotcrm", "version": "2.0.0"}'::jsonb, 'items', jsonb_agg(
           CASE WHEN n % 5 = 0
                THEN i || jsonb_build_object('metadata', (i -> 'metadata') || jsonb_build_object(
                         'label', coalesce(i #>> '{metadata,label}', i ->> 'name') || ' (2.0)', 'since', '2.0.0'))
                ELSE i END ORDER BY n)) AS bundle
FROM input, jsonb_array_elements(doc -> 'items') WITH ORDINALITY AS e(i, n);
SELECT metadata.install_package(bundle) -> 'counts' FROM v1;
-- Tenant t customises the items (7t + 13j) mod 129, j = 0..9.
CREATE TABLE overlays AS
SELECT jsonb_build_object('items', jsonb_agg(jsonb_build_object(
           'type', i ->> 'type', 'name', i ->> 'name', 'tenant_id', 't' || t,
           'metadata', jsonb_build_object('description', 'tenant ' || t)
                       || CASE WHEN t % 10 = 0 THEN jsonb_build_object('label', 't' || t || ' label') ELSE '{}' END)
           ORDER BY t, j)) AS bundle
FROM generate_series(1, :tenants) t, generate_series(0, 9) j,
     LATERAL (SELECT e.i FROM input, jsonb_array_elements(doc -> 'items') WITH ORDINALITY AS e(i, n)
              WHERE e.n - 1 = (7 * t + 13 * j) % 129) x;
SELECT metadata.import(bundle) -> 'counts' FROM overlays;
VACUUM ANALYZE;
SQL
overlays=$(q -d bench_tmpl -c "SELECT count(*) FROM metadata.sys_metadata WHERE scope = 'platform'")
changed=$(q -d bench_tmpl -c "SELECT count(*) FROM v1, v2, jsonb_array_elements(v1.bundle -> 'items') WITH ORDINALITY a(i, n), jsonb_array_elements(v2.bundle -> 'items') WITH ORDINALITY b(j, m) WHERE n = m AND i <> j")
for db in b_upgrade b_naive; do q -c "CREATE DATABASE $db TEMPLATE bench_tmpl"; done

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
upgrade() {
  q -d b_upgrade -c "SELECT r -> 'counts' FROM v2, metadata.upgrade_package('hotcrm', bundle, strategy => 'keep-custom', dry_run => $1) r"
}
t=$(date +%s%N); upgrade true > "$dir/dry.out"; dry_ms=$(ms "$t")
t=$(date +%s%N); upgrade false > "$dir/real.out"; real_ms=$(ms "$t")
t=$(date +%s%N); upgrade false > "$dir/rerun.out"; rerun_ms=$(ms "$t")
t=$(date +%s%N)
q -d b_naive -c "SELECT metadata.bulk_save(jsonb_agg(i || '{\"scope\": \"system\", \"package_id\": \"hotcrm\", \"package_version\": \"2.0.0\"}')) ->> 'succeeded' FROM v2, jsonb_array_elements(bundle -> 'items') i" > "$dir/naive.out"
naive_ms=$(ms "$t")
merged=$(q -d b_upgrade -c "SELECT count(*) FROM metadata.sys_metadata_history WHERE op = 'upgrade' AND scope = 'platform'")
stale=$(q -d b_naive -c "SELECT count(*) FROM metadata.sys_metadata m WHERE m.scope = 'platform' AND m.base_checksum IS DISTINCT FROM (SELECT s.checksum FROM metadata.sys_metadata s WHERE s.scope = 'system' AND s.type = m.type AND s.name = m.name AND s.state = 'active')")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
per() { awk -v ms="$1" -v n="$merged" 'BEGIN { printf "%.2f", ms / n }'; }
echo "bench: upgrade_package machine nproc=$(nproc) durable=fsync,synchronous_commit HotCRM 129 items, $changed changed, $overlays overlays of $tenants tenants"
echo "  dry run    $dry_ms ms ($(per "$dry_ms") ms per overlay merged) $(cat "$dir/dry.out")"
echo "  upgrade    $real_ms ms ($(per "$real_ms") ms per overlay merged, $merged merged and rebased) $(cat "$dir/real.out")"
echo "  re-run     $rerun_ms ms $(cat "$dir/rerun.out")"
echo "  naive      $naive_ms ms (bulk_save of the new documents; $stale overlays left stale)"
echo "  dry run/upgrade time $(ratio "$dry_ms" "$real_ms"), upgrade/naive $(ratio "$real_ms" "$naive_ms"), upgrade/re-run $(ratio "$real_ms" "$rerun_ms")"
