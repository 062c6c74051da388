#!/usr/bin/env bash
# pg_dump / pg_restore keep every stored layer exactly (DESIGN §1): rows (ids, versions,
# checksums, audit), history and the change feed position, the dependency edges, user-registered and changed
# built-in types, and the effective documents they resolve to. Both formats: custom
# (restored by pg_restore) and plain SQL (restored by psql); neither restore adds a history
# row or a feed position (the restore is recognised by row_security = off, metadata._restoring).
# Needs a running cluster (PGHOST, PGPORT, PGUSER) with the extension installed.
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d)
drop_dbs() {
  for db in metadata_dump_src metadata_dump_dst metadata_dump_plain; do
    "$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null
  done
}
trap 'rm -rf "$work"; drop_dbs' EXIT
q() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At -d "$@"; }

drop_dbs
"$PG_BIN/createdb" metadata_dump_src
q metadata_dump_src >/dev/null <<'SQL'
CREATE EXTENSION metadata;
SELECT metadata.register_type('widget', 'ui');
-- A changed built-in type must survive too.
SELECT metadata.register_type('object', validation_mode => 'off', locked_paths => '{/name}');
SELECT metadata.save('object', 'account', '{"label": "Account", "fields": {"name": {"type": "text"}}}', scope => 'system');
SELECT metadata.save('object', 'account', '{"label": "Account 2", "fields": {"name": {"type": "text"}}}', scope => 'system');
SELECT metadata.save('widget', 'clock', '{"tz": "UTC"}', scope => 'system');
-- A dependency edge (a view naming the object).
SELECT metadata.register_type('view', validation_mode => 'off');
SELECT metadata.save('view', 'accounts', '{"object": "account"}', scope => 'system');
-- A package, upgraded once (the registry keeps both versions).
SELECT metadata.install_package('{"package": {"id": "hr", "version": "1"}, "items": [{"type": "widget", "name": "staff", "metadata": {"n": 1}}]}');
SELECT metadata.upgrade_package('hr', '{"package": {"id": "hr", "version": "2"}, "items": [{"type": "widget", "name": "staff", "metadata": {"n": 2}}]}');
SET metadata.tenant_id = 'acme';
SELECT metadata.save('object', 'account', '{"label": "Customer"}');
SELECT metadata.save('object', 'account', '{"label": "Customer (next)"}', state => 'draft');
SELECT metadata.save('object', 'lead', '{"label": "Lead"}');
SELECT metadata.delete('object', 'lead');
SET metadata.user_id = 'u42';
SELECT metadata.save('object', 'account', '{"fields": {"name": {"width": 200}}}', scope => 'user');
SQL

snapshot() {
  q "$1" <<'SQL'
SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM metadata.sys_metadata t;
SELECT count(*), md5(string_agg(h::text, '|' ORDER BY h.id)) FROM metadata.sys_metadata_history h;
SELECT head FROM metadata.sys_metadata_feed;
SELECT string_agg(concat_ws(':', id, version, state, checksum, manifest, installed_by), ',' ORDER BY id, version)
FROM metadata.sys_metadata_package;
SELECT string_agg(concat_ws(':', id, version, items), ',') FROM metadata.packages();
SELECT string_agg(concat_ws(':', type, name, path, target_type, target_name), ',' ORDER BY type, name, path)
FROM metadata.sys_metadata_reference;
SELECT string_agg(type || '/' || name, ',') FROM metadata.dependents('object', 'account');
SELECT string_agg(format('%s:%s:%s', name, validation_mode, locked_paths), ',' ORDER BY name)
FROM metadata.sys_metadata_type WHERE NOT builtin OR customised;
SELECT count(*) FROM metadata.sys_metadata_type;
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'u42';
SELECT metadata.effective('object', 'account');
SELECT metadata.effective('object', 'account', preview => true);
SELECT string_agg(format('%s:%s', ordinal, stale), ',') FROM metadata.explain('object', 'account');
SQL
}

snapshot metadata_dump_src > "$work/before"
"$PG_BIN/pg_dump" -Fc -d metadata_dump_src -f "$work/dump"
"$PG_BIN/createdb" metadata_dump_dst
"$PG_BIN/pg_restore" --exit-on-error -d metadata_dump_dst "$work/dump"
snapshot metadata_dump_dst > "$work/after"
"$PG_BIN/pg_dump" -Fp -d metadata_dump_src -f "$work/dump.sql"
"$PG_BIN/createdb" metadata_dump_plain
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d metadata_dump_plain -f "$work/dump.sql" >/dev/null
snapshot metadata_dump_plain > "$work/after.plain"

failed=0
for format in custom plain; do
  after=$work/after
  [ "$format" = plain ] && after=$work/after.plain
  if diff -u "$work/before" "$after"; then
    echo "dump_restore: $(wc -l < "$work/before") facts identical after pg_dump -F$format and its restore"
  else
    echo "dump_restore: stored metadata changed across pg_dump -F$format and its restore" >&2
    failed=1
  fi
  grep -q '"Customer (next)"' "$after" || { echo "dump_restore: draft lost ($format)" >&2; failed=1; }
done
exit $failed
