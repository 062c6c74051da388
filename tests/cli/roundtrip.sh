#!/usr/bin/env bash
# The `metadata` command line (cli/) round-tripping a real app through git: HotCRM (or,
# without METADATA_CORPUS, the example CRM) is loaded as system layers with a tenant's
# overlays, pulled into a git repository, two files are edited, and then:
#   - `git diff` shows exactly those two files;
#   - `metadata diff` reports exactly two updates, with the edited members;
#   - `metadata push` applies exactly them (two new versions, everything else unchanged);
#   - a second pull leaves the work tree clean (export is stable), and a second push
#     writes nothing.
# Needs a running cluster with the extension (PGHOST, PGPORT, PGUSER).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DB=metadata_cli
if [ -n "${METADATA_CORPUS:-}" ]; then
  BUNDLE=$METADATA_CORPUS/hotcrm/bundle.json
else
  BUNDLE=$ROOT/examples/crm/bundle.json
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; "$PG_BIN/dropdb" --if-exists "$DB" 2>/dev/null' EXIT
fail() { echo "cli: FAIL: $*" >&2; exit 1; }
trap 'echo "cli: FAIL: line $LINENO: $BASH_COMMAND exited with $?" >&2' ERR

cargo build --quiet --manifest-path "$ROOT/cli/Cargo.toml"
metadata() { "$ROOT/cli/target/debug/metadata" --tenant acme "$@"; }
export PGDATABASE=$DB
"$PG_BIN/dropdb" --if-exists "$DB" 2>/dev/null
"$PG_BIN/createdb" "$DB"
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -v bundle_file="$BUNDLE" > /dev/null <<'SQL'
SET client_min_messages = error;
CREATE EXTENSION metadata;
\set bundle `cat :bundle_file`
CREATE TEMP TABLE input AS SELECT :'bundle'::jsonb AS doc;
SELECT count(*) FROM (SELECT DISTINCT i ->> 'type' AS t FROM input, jsonb_array_elements(doc -> 'items') i) x,
       metadata.register_type(x.t, validation_mode => 'lenient');
SELECT metadata.bulk_save(jsonb_agg(i || '{"scope": "system"}')) FROM input, jsonb_array_elements(doc -> 'items') i;
SET metadata.tenant_id = 'acme';
SELECT metadata.bulk_save(jsonb_agg(jsonb_build_object('type', i ->> 'type', 'name', i ->> 'name',
         'metadata', jsonb_build_object('label', 'Acme ' || (i ->> 'name')))))
FROM input, jsonb_array_elements(doc -> 'items') WITH ORDINALITY AS x(i, n) WHERE n % 4 = 0;
SQL

repo=$WORK/repo
git init -q "$repo"
metadata pull "$repo/metadata" > "$WORK/pull.out"
git -C "$repo" add -A && git -C "$repo" -c user.email=ci@example -c user.name=ci commit -qm pulled
files=$(git -C "$repo" ls-files | wc -l)

# Two edits: a label of the system layer of the first object, and a member of a tenant overlay.
# (Globs, not `ls | head`: under pipefail, head closing the pipe early can kill ls with
# SIGPIPE and end the script without a word.)
systems=("$repo"/metadata/object/*.system.json)
overlays=("$repo"/metadata/*/*.platform.acme.json)
first=${systems[0]}
overlay=${overlays[0]}
[ -f "$first" ] && [ -f "$overlay" ] || fail "the pull wrote no object system layer or acme overlay"
python3 - "$first" "$overlay" <<'PY'
import json, sys
for path, (key, value) in zip(sys.argv[1:], [("label", "Edited in git"), ("description", "An overlay edited in git")]):
    item = json.load(open(path))
    item["metadata"][key] = value
    open(path, "w").write(json.dumps(item, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
PY
changed=$(git -C "$repo" diff --name-only | wc -l)
[ "$changed" = 2 ] || fail "git diff shows $changed files, not the 2 edited"
lines=$(git -C "$repo" diff --numstat | awk '{a += $1; d += $2} END {print a "+" d "-"}')

metadata diff "$repo/metadata" > "$WORK/diff.out" || fail "metadata diff failed: $(cat "$WORK/diff.out")"
grep -q "^diff: 2 updated, $((files - 2)) unchanged (dry run: nothing written)$" "$WORK/diff.out" \
  || fail "metadata diff did not report exactly the two edits: $(cat "$WORK/diff.out")"
grep -q '"Edited in git"' "$WORK/diff.out" && grep -q '"An overlay edited in git"' "$WORK/diff.out" \
  || fail "metadata diff does not show the edited members: $(cat "$WORK/diff.out")"

before=$("$PG_BIN/psql" -X -At -c "SELECT count(*) FROM metadata.sys_metadata_history")
metadata push "$repo/metadata" > "$WORK/push.out" || fail "metadata push failed: $(cat "$WORK/push.out")"
grep -q "^push: 2 updated, $((files - 2)) unchanged (written)$" "$WORK/push.out" \
  || fail "push did not apply exactly the two edits: $(cat "$WORK/push.out")"
after=$("$PG_BIN/psql" -X -At -c "SELECT count(*) FROM metadata.sys_metadata_history")
[ $((after - before)) = 2 ] || fail "push wrote $((after - before)) history rows, not 2"

# Round trip: pulling again changes nothing in the work tree but the two edits (already
# there), and pushing again writes nothing.
git -C "$repo" -c user.email=ci@example -c user.name=ci commit -qam edited
metadata pull "$repo/metadata" > /dev/null
[ -z "$(git -C "$repo" status --porcelain)" ] || fail "a pull after the push changed files: $(git -C "$repo" status --porcelain | head)"
metadata push "$repo/metadata" > "$WORK/push2.out"
grep -q "^push: $files unchanged (written)$" "$WORK/push2.out" || fail "a second push was not a no-op: $(cat "$WORK/push2.out")"
echo "cli: $files files pulled into git; 2 edited ($lines lines), diffed and pushed as exactly 2 updates; pull and push again change nothing"
