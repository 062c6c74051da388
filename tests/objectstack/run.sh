#!/usr/bin/env bash
# Tests of the ObjectStack client (clients/objectstack, npm package @metadata-pg/objectstack):
# ObjectStack's MetadataRepository contract suite, the loader under MetadataManager, and
# watch() across a terminated connection.
# Needs a running cluster with the extension installed: PGHOST and PGPORT (PGUSER defaults
# to postgres; scripts/test.sh's cluster_start exports all three), node >= 20 and npm with
# the registry reachable (npm ci installs from the committed package-lock.json). Creates
# the template database $METADATA_TEMPLATE (default os_tmpl; dropped first if it exists)
# with the extension; the tests clone it (one database per contract clause) and drop their
# clones. Set METADATA_CORPUS=path/to/shared/corpus to load HotCRM documents. Prints one
# summary line; exits non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
: "${PGHOST:?set PGHOST (socket directory or host of a cluster with the extension)}"
: "${PGPORT:?set PGPORT}"
export PGHOST PGPORT PGUSER=${PGUSER:-postgres}
export METADATA_TEMPLATE=${METADATA_TEMPLATE:-os_tmpl}
[ -n "${METADATA_CORPUS:-}" ] && export METADATA_CORPUS=$(cd "$METADATA_CORPUS" && pwd)

WORK=$(mktemp -d /tmp/metadata-objectstack.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "objectstack client tests: FAIL: $*" >&2; exit 1; }

"$PG_BIN/dropdb" --if-exists --force "$METADATA_TEMPLATE" >/dev/null 2>&1 \
  || fail "cannot drop database $METADATA_TEMPLATE"
"$PG_BIN/createdb" "$METADATA_TEMPLATE" || fail "cannot create database $METADATA_TEMPLATE on $PGHOST:$PGPORT"
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$METADATA_TEMPLATE" -c "CREATE EXTENSION metadata" \
  || fail "CREATE EXTENSION metadata failed in $METADATA_TEMPLATE"

cd "$ROOT/clients/objectstack"
timeout 600 npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm-ci.log" 2>&1 \
  || { cat "$WORK/npm-ci.log" >&2; fail "npm ci failed"; }

rc=0
timeout 600 npm test -- --reporter=default --reporter=json --outputFile.json="$WORK/results.json" || rc=$?
"$PG_BIN/dropdb" --if-exists --force "$METADATA_TEMPLATE" >/dev/null 2>&1 || true

[ -f "$WORK/results.json" ] || fail "vitest wrote no results (exit $rc)"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const all = r.testResults.flatMap((f) => f.assertionResults.map((a) => ({ file: f.name, ...a })));
const contract = all.filter((a) => a.file.endsWith("repository.contract.test.js"));
const ok = (xs) => xs.filter((a) => a.status === "passed").length;
console.log(`objectstack client tests: ${ok(all)} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped` +
  ` (MetadataRepository contract suite: ${ok(contract)}/${contract.length} passed)`);
' "$WORK/results.json"
[ "$rc" = 0 ] || fail "npm test exited with $rc"
