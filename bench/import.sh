#!/usr/bin/env bash
# Benchmark of metadata.import (not a test: it prints figures). HotCRM's documents as the
# system layers, then overlays of 100 tenants (a label per item: 12,900 platform rows,
# METADATA_BENCH_TENANTS), written three ways in the same run, each into a database of its
# own that starts from the same system layers:
#   import    metadata.import of one bundle with every tenant's items (tenant_id per item);
#   bulk_save metadata.bulk_save of the same items, one call per tenant;
#   floor     a plain INSERT of the same rows with the triggers off (no checks, no history).
# Then the same import again (everything unchanged), right after and once the new rows
# are vacuumed and analysed. Prints items/s and the ratios: the goal
# is import within 2x bulk_save's time and an unchanged re-import at least 5x faster than
# the first. Needs the corpus: METADATA_CORPUS (default ../shared/corpus).
#
# Usage: bench/import.sh     Environment: METADATA_BENCH_PORT (default 54379),
# METADATA_BENCH_TENANTS (default 100), METADATA_CORPUS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${METADATA_BENCH_PORT:-54379}
tenants=${METADATA_BENCH_TENANTS:-100}
corpus=${METADATA_CORPUS:-$ROOT/../shared/corpus}
bundle=$(realpath "$corpus/hotcrm/bundle.json")

bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/lib.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/metadata-import.XXXXXX")
chmod 755 "$dir"
trap 'cluster_stop "$dir"; rm -rf "$dir"' EXIT
install_extension 2>"$dir/install.log" || { cat "$dir/install.log" >&2; exit 1; }
CLUSTER_SETTINGS="" cluster_start "$dir" "$port"
q() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# A template database: the extension, HotCRM's types (lenient) and system layers, and the
# overlay items of every tenant in a table.
q -c "CREATE DATABASE bench_tmpl"
q -d bench_tmpl -v bundle_file="$bundle" -v tenants="$tenants" > /dev/null <<'SQL'
SET client_min_messages = error;
CREATE EXTENSION metadata;
\set bundle `cat :bundle_file`
CREATE TABLE input AS SELECT :'bundle'::jsonb AS doc;
SELECT count(*) FROM (SELECT DISTINCT i ->> 'type' AS t FROM input, jsonb_array_elements(doc -> 'items') i) x,
       metadata.register_type(x.t, validation_mode => 'lenient');
SELECT metadata.bulk_save(jsonb_agg(i || '{"scope": "system"}')) FROM input, jsonb_array_elements(doc -> 'items') i;
CREATE TABLE overlay AS
SELECT 't' || t AS tenant_id, i ->> 'type' AS type, i ->> 'name' AS name,
       jsonb_build_object('label', 't' || t || ' ' || (i ->> 'name')) AS metadata
FROM input, jsonb_array_elements(doc -> 'items') i, generate_series(1, :tenants) t;
CREATE TABLE items AS
SELECT jsonb_build_object('items', jsonb_agg(jsonb_build_object('type', type, 'name', name, 'tenant_id', tenant_id,
                                                                'metadata', metadata) ORDER BY tenant_id, type, name)) AS bundle
FROM overlay;
SQL
rows=$(q -d bench_tmpl -c "SELECT count(*) FROM overlay")
for db in b_import b_bulk b_floor; do q -c "CREATE DATABASE $db TEMPLATE bench_tmpl"; done

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
t=$(date +%s%N)
q -d b_import -c "SELECT metadata.import(bundle) -> 'counts' FROM items" > "$dir/import.out" 2>/dev/null
import_ms=$(ms "$t")
t=$(date +%s%N)
q -d b_import -c "SELECT metadata.import(bundle) -> 'counts' FROM items" > "$dir/reimport.out" 2>/dev/null
reimport_ms=$(ms "$t")
# Once the freshly written rows have been vacuumed and analysed (as autovacuum does soon
# after a load; the first reads of new rows set their hint bits and plans see the new size).
q -d b_import -c "VACUUM ANALYZE metadata.sys_metadata"
t=$(date +%s%N)
q -d b_import -c "SELECT metadata.import(bundle) -> 'counts' FROM items" > "$dir/reimport2.out" 2>/dev/null
reimport2_ms=$(ms "$t")
t=$(date +%s%N)
q -d b_bulk > /dev/null 2>&1 <<'SQL'
DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT DISTINCT tenant_id FROM overlay ORDER BY 1 LOOP
        PERFORM set_config('metadata.tenant_id', t, true);
        PERFORM metadata.bulk_save(jsonb_agg(jsonb_build_object('type', type, 'name', name, 'metadata', metadata)))
        FROM overlay WHERE tenant_id = t;
    END LOOP;
END $$;
SQL
bulk_ms=$(ms "$t")
t=$(date +%s%N)
q -d b_floor > /dev/null <<'SQL'
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO metadata.sys_metadata (tenant_id, type, name, metadata, checksum)
SELECT tenant_id, type, name, metadata, metadata.checksum(metadata) FROM overlay;
COMMIT;
SQL
floor_ms=$(ms "$t")

rate() { awk -v n="$rows" -v ms="$1" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "bench: import machine nproc=$(nproc) durable=fsync,synchronous_commit rows=$rows (HotCRM x $tenants tenants)"
echo "  import      $(rate "$import_ms") items/s ($import_ms ms) $(cat "$dir/import.out")"
echo "  re-import   $(rate "$reimport_ms") items/s ($reimport_ms ms) $(cat "$dir/reimport.out"), right after the import"
echo "  re-import   $(rate "$reimport2_ms") items/s ($reimport2_ms ms) $(cat "$dir/reimport2.out"), after VACUUM ANALYZE"
echo "  bulk_save   $(rate "$bulk_ms") items/s ($bulk_ms ms)"
echo "  floor       $(rate "$floor_ms") items/s ($floor_ms ms, plain INSERT, triggers off)"
echo "  import/bulk_save time $(ratio "$import_ms" "$bulk_ms") (goal <= 2), first/unchanged re-import $(ratio "$import_ms" "$reimport_ms") right after, $(ratio "$import_ms" "$reimport2_ms") after VACUUM ANALYZE (goal >= 5), import/floor $(ratio "$import_ms" "$floor_ms")"
