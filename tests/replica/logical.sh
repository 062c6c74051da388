#!/usr/bin/env bash
# A logical replica (CREATE PUBLICATION / CREATE SUBSCRIPTION, docs/scale-out.md "Logical
# replicas"): a second cluster with the extension installed subscribes to the metadata
# tables of a first one. The initial copy of the HotCRM data and a stream of changes must
# arrive as they are: the subscriber's triggers do not re-number, re-version or re-history
# replicated rows, its feed carries the publisher's seq, and every read function answers
# there as on the publisher (tests/replica/sql/digest.sql). In preloaded mode a subscriber
# session that remembered an answer must not serve it after an applied change.
# Starts its own two clusters (ports PGPORT+8 and +9, METADATA_PRELOAD and CLUSTER_SETTINGS
# as the test cluster's); needs METADATA_CORPUS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/scripts/lib.sh"
if [ -z "${METADATA_CORPUS:-}" ]; then
  echo "logical: skipped (set METADATA_CORPUS)"; exit 0
fi
db=metadata_logical
base_port=${PGPORT:-54321}
work=$(mktemp -d /tmp/metadata-logical.XXXXXX)
chmod 755 "$work"
cleanup() { cluster_stop "$work/pub"; cluster_stop "$work/sub"; rm -rf "$work"; }
trap cleanup EXIT
settings="${CLUSTER_SETTINGS--c fsync=off} -c wal_level=logical"
CLUSTER_SETTINGS=$settings cluster_start "$work/pub" $((base_port + 8))
CLUSTER_SETTINGS=$settings cluster_start "$work/sub" $((base_port + 9))
on_pub() { PGHOST=$work/pub PGPORT=$((base_port + 8)) "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
on_sub() { PGHOST=$work/sub PGPORT=$((base_port + 9)) "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
PGHOST=$work/pub PGPORT=$((base_port + 8)) "$PG_BIN/createdb" "$db"
PGHOST=$work/sub PGPORT=$((base_port + 9)) "$PG_BIN/createdb" "$db"

on_pub -c "CREATE EXTENSION metadata" -v bundle_file="$METADATA_CORPUS/hotcrm/bundle.json" \
  -f "$ROOT/tests/replica/sql/corpus.sql" >/dev/null
on_pub -f "$ROOT/tests/replica/sql/publication.sql" >/dev/null
# The subscriber: the extension, the test's own tables (schema only), the subscription.
on_sub -c "CREATE EXTENSION metadata" >/dev/null
PGHOST=$work/pub PGPORT=$((base_port + 8)) "$PG_BIN/pg_dump" -s -n standby_test "$db" | on_sub >/dev/null
on_sub -c "CREATE SUBSCRIPTION metadata_sub CONNECTION 'host=$work/pub port=$((base_port + 8)) user=postgres dbname=$db' PUBLICATION metadata" 2>/dev/null

# Waits until the subscriber has what the publisher has: every table copied and the feed
# and history alike.
state="SELECT coalesce(max(seq), 0) || ' ' || count(*) || ' ' || coalesce(max(id), 0) FROM metadata.sys_metadata_history"
caught_up() {
  local want
  want=$(on_pub -c "SELECT metadata.wait_for_feed('10 s') IS NOT NULL" -c "$state" | tail -n 1)
  for _ in $(seq 1 1500); do
    [ "$(on_sub -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ] &&
      [ "$(on_sub -c "$state")" = "$want" ] && return 0
    sleep 0.02
  done
  echo "logical: the subscriber did not catch up ($want)" >&2; return 1
}
# The publisher and the subscriber must answer alike: every read function in four contexts,
# the whole feed, and the history with its positions.
digest="BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT round || ' ' || digest FROM standby_test.digest(); COMMIT;"
feed="SELECT md5(string_agg(concat_ws(' ', seq, op, tenant_id, type, name, scope, owner, version, checksum), ',' ORDER BY seq)) FROM metadata.changes_since(0, 10000)"
history="SELECT count(*) || ' ' || md5(string_agg(concat_ws(' ', id, item_id, version, seq, checksum, changed_at, sequenced_at), ',' ORDER BY id)) FROM metadata.sys_metadata_history"
compare() {
  local q
  for q in "$digest" "$feed" "$history" "SELECT count(*) FROM metadata.sys_metadata_reference"; do
    [ "$(on_pub -c "$q")" = "$(on_sub -c "$q")" ] || {
      echo "logical: $1: the subscriber answers otherwise: $q" >&2; exit 1; }
  done
}
caught_up
compare "after the initial copy"
echo "logical: initial copy of $(on_sub -c "SELECT count(*) FROM metadata.sys_metadata") rows: every read function, the feed and the history (same seq, versions, ids) equal the publisher's"

# A stream of rounds (tests/replica/sql/round.sql); one subscriber session reads the round
# marker after each one is applied, having read it before (a remembered answer).
rounds=${LOGICAL_ROUNDS:-10}
cat > "$work/round.sh" <<EOF
set -e
PGHOST=$work/pub PGPORT=$((base_port + 8)) "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
  -v r="\$1" -f "$ROOT/tests/replica/sql/round.sql" >/dev/null
source "$ROOT/scripts/lib.sh"
$(declare -f on_pub on_sub caught_up)
work=$work base_port=$base_port db=$db state="$state"
caught_up
EOF
{
  echo "SELECT metadata.effective('standby_round', 'marker') IS NOT NULL AS warm \\gset"
  echo "SELECT metadata.effective('standby_round', 'marker') IS NOT NULL AS warm \\gset"
  for r in $(seq 1 "$rounds"); do
    echo "\\! bash $work/round.sh $r"
    echo "SELECT 'round $r: ' || CASE WHEN metadata.effective('standby_round', 'marker') ->> 'r' = '$r' THEN 'fresh' ELSE 'STALE' END;"
  done
} > "$work/reads.sql"
on_sub -f "$work/reads.sql" > "$work/reads.out"
fresh=$(grep -c ": fresh$" "$work/reads.out" || true)
[ "$fresh" = "$rounds" ] || { echo "logical: $fresh of $rounds answers fresh after apply:" >&2; cat "$work/reads.out" >&2; exit 1; }
compare "after $rounds rounds of changes"
mode=$(on_sub -c "SELECT mode FROM metadata.stats")
echo "logical: $rounds rounds of changes applied: each seen by a subscriber session's next effective() ($mode mode); every read function, the feed and the history equal the publisher's"
