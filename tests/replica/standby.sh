#!/usr/bin/env bash
# A streaming standby answers as the primary does once replay has caught up (DESIGN §3
# "Preloaded mode"): changes arrive there by WAL replay, which commits nothing locally, so
# no change bucket moves on a standby; its answers must still never be stale. One standby
# session keeps reading an item (a memo that would trust the buckets would keep serving the
# first answer) while the primary changes it; after each catch-up the standby's answer must
# be the new one. The standby's feed is the primary's, writes there fail with 25006, and it
# starts no feed worker. With METADATA_CORPUS, every read function is compared on the
# HotCRM corpus while the primary writes, and a follower of the standby's feed must see the
# primary's. Needs a running cluster (PGHOST, PGPORT; its server settings are
# reused for the standby, METADATA_PRELOAD included).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/scripts/lib.sh"
db=metadata_standby
primary_host=$PGHOST primary_port=$PGPORT
standby_port=$((PGPORT + 7))
work=$(mktemp -d /tmp/metadata-standby.XXXXXX)
chmod 755 "$work"
cleanup() {
  cluster_stop "$work/standby"
  rm -rf "$work"
  PGHOST=$primary_host PGPORT=$primary_port "$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null || true
}
trap cleanup EXIT
on_primary() { PGHOST=$primary_host PGPORT=$primary_port "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
on_standby() { PGHOST=$work/standby PGPORT=$standby_port "$PG_BIN/psql" -X -q -At -d "$db" "$@"; }

PGHOST=$primary_host PGPORT=$primary_port "$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null
PGHOST=$primary_host PGPORT=$primary_port "$PG_BIN/createdb" "$db"
on_primary >/dev/null <<'SQL'
SET metadata.feed_sync = on;
CREATE EXTENSION metadata;
SELECT metadata.register_type('object', validation_mode => 'off');
SELECT 1 FROM metadata.save('object', 'account', '{"label": "Account", "v": 0}', scope => 'system');
SET metadata.tenant_id = 't1';
SELECT 1 FROM metadata.save('object', 'account', '{"v": 0}', scope => 'platform');
SQL

mkdir -p "$work/standby" && chown postgres: "$work/standby"
as_postgres "$PG_BIN/pg_basebackup" -h "$primary_host" -p "$primary_port" -U postgres \
  -D "$work/standby/data" -R -X stream -c fast >/dev/null
# The standby listens on its own socket and port (cluster_start passes both).
cluster_start "$work/standby" "$standby_port"
export PGHOST=$primary_host PGPORT=$primary_port

# Waits until the standby has replayed everything the primary has written so far.
catch_up() {
  local lsn
  lsn=$(on_primary -c "SELECT pg_current_wal_lsn()")
  for _ in $(seq 1 500); do
    [ "$(on_standby -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && return 0
    sleep 0.02
  done
  echo "standby: replay did not reach $lsn" >&2; return 1
}
catch_up
[ "$(on_standby -c "SELECT pg_is_in_recovery()")" = t ] || { echo "standby: not in recovery" >&2; exit 1; }

# One standby session reads the item after each change of the primary (the driver writes
# between its statements through \!); each answer must carry the change just replayed.
rounds=15
{
  echo "SET metadata.tenant_id = 't1';"
  echo "SELECT metadata.effective('object', 'account') IS NOT NULL AS warm, metadata.effective('object', 'account') IS NOT NULL AS warm2 \\gset"
  for i in $(seq 1 "$rounds"); do
    echo "\\! bash $work/change.sh $i"
    echo "SELECT 'round $i: ' || CASE WHEN (metadata.effective('object', 'account')->>'v')::int = $i THEN 'fresh' ELSE 'STALE ' || metadata.effective('object', 'account')::text END;"
  done
} > "$work/reads.sql"
cat > "$work/change.sh" <<EOF
set -e
PGHOST=$primary_host PGPORT=$primary_port "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
  -c "SET metadata.feed_sync = on" -c "SET metadata.tenant_id = 't1'" \
  -c "SELECT 1 FROM metadata.save('object', 'account', jsonb_build_object('v', \$1), scope => 'platform')" >/dev/null
lsn=\$(PGHOST=$primary_host PGPORT=$primary_port "$PG_BIN/psql" -X -At -d "$db" -c "SELECT pg_current_wal_lsn()")
for _ in \$(seq 1 500); do
  [ "\$(PGHOST=$work/standby PGPORT=$standby_port "$PG_BIN/psql" -X -At -d "$db" -c "SELECT pg_last_wal_replay_lsn() >= '\$lsn'::pg_lsn")" = t ] && exit 0
  sleep 0.02
done
exit 1
EOF
on_standby -f "$work/reads.sql" > "$work/reads.out"
fresh=$(grep -c ": fresh$" "$work/reads.out" || true)
if [ "$fresh" != "$rounds" ]; then
  echo "standby: $fresh of $rounds answers fresh after replay:" >&2; cat "$work/reads.out" >&2; exit 1
fi
echo "standby: $rounds changes on the primary, each seen by the standby's next effective() after replay"

# Every item in two tenant contexts and the feed, on both sides.
catch_up
for ctx in "" "t1"; do
  q="SET metadata.tenant_id = '$ctx'; SELECT md5(string_agg(name || doc::text, ',' ORDER BY name)) FROM metadata.effective_all('object');"
  [ "$(on_primary -c "$q")" = "$(on_standby -c "$q")" ] || { echo "standby: effective_all differs (tenant '$ctx')" >&2; exit 1; }
done
feed="SET metadata.tenant_id = 't1'; SELECT string_agg(seq || ' ' || op || ' ' || name || ' ' || version, ',' ORDER BY seq) FROM metadata.changes_since(0, 1000);"
[ "$(on_primary -c "$feed")" = "$(on_standby -c "$feed")" ] || { echo "standby: changes_since differs" >&2; exit 1; }
echo "standby: effective_all (global and tenant t1) and changes_since equal the primary's"

# The corpus under writes (with METADATA_CORPUS): the primary's writer runs rounds, one
# transaction each, and records its own answers after each (tests/replica/sql); meanwhile
# a standby session keeps computing the same answers under one snapshot, and a follower
# polls changes_since on the standby. Each standby answer must be the primary's at the
# round it shows, the last one the primary's last, and the follower's feed the primary's.
if [ -n "${METADATA_CORPUS:-}" ]; then
  on_primary -v bundle_file="$METADATA_CORPUS/hotcrm/bundle.json" -f "$ROOT/tests/replica/sql/corpus.sql" >/dev/null
  digest="BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT round || ' ' || digest FROM standby_test.digest(); COMMIT;"
  catch_up
  on_primary -c "$digest" > "$work/primary.txt"
  rounds=${STANDBY_ROUNDS:-12}
  (
    for r in $(seq 1 "$rounds"); do
      on_primary -v r="$r" -f "$ROOT/tests/replica/sql/round.sql" >/dev/null
      on_primary -c "$digest" >> "$work/primary.txt"
    done
    touch "$work/writer.done"
  ) &
  writer=$!
  (
    while [ ! -e "$work/writer.done" ]; do on_standby -c "$digest" >> "$work/standby.txt"; done
  ) &
  reader=$!
  follow() {  # appends the standby's changes after the last one seen to follow.txt
    local last
    last=$(tail -n 1 "$work/follow.txt" 2>/dev/null | cut -d ' ' -f 1)
    on_standby -F ' ' -c "SELECT seq, op, tenant_id, type, name, scope, owner, version, checksum
                          FROM metadata.changes_since(${last:-0}, 1000)" >> "$work/follow.txt"
  }
  : > "$work/follow.txt"
  while [ ! -e "$work/writer.done" ]; do follow; sleep 0.05; done
  wait "$writer" "$reader"
  on_primary -c "SELECT metadata.wait_for_feed('10 s') IS NOT NULL" >/dev/null
  catch_up
  on_standby -c "$digest" > "$work/standby.last"
  follow; follow
  seen=$(cut -d ' ' -f 1 "$work/standby.txt" | sort -un | wc -l)
  while read -r round sum; do
    grep -qx "$round $sum" "$work/primary.txt" || {
      echo "standby: the answers at round $round are not the primary's at that round" >&2; exit 1; }
  done < "$work/standby.txt"
  [ "$(cat "$work/standby.last")" = "$(tail -n 1 "$work/primary.txt")" ] || {
    echo "standby: after catch-up the answers are not the primary's last ones" >&2; exit 1; }
  [ "$seen" -ge 2 ] || { echo "standby: the reader saw only $seen round(s): no test" >&2; exit 1; }
  on_primary -F ' ' -c "SELECT seq, op, tenant_id, type, name, scope, owner, version, checksum
                        FROM metadata.changes_since(0, 10000)" > "$work/feed.txt"
  cmp -s "$work/feed.txt" "$work/follow.txt" || {
    echo "standby: the follower's feed differs from the primary's:" >&2
    diff "$work/feed.txt" "$work/follow.txt" | head >&2; exit 1; }
  items=$(on_primary -c "SELECT count(*) FROM standby_test.items")
  echo "standby: $items corpus items in 4 contexts (effective, effective_all, explain, validate, query, history, at_version, diff):" \
       "$(wc -l < "$work/standby.txt") standby answers at $seen of $((rounds + 1)) rounds, each the primary's at its round;" \
       "the follower's $(wc -l < "$work/follow.txt") changes are the primary's feed"
else
  echo "standby: corpus comparison skipped (set METADATA_CORPUS)"
fi

# The feed's replay lag is reported on the standby, and not on the primary.
read -r lag replayed < <(on_standby -F ' ' -c "SELECT feed_replay_lag IS NOT NULL, feed_replayed_at IS NOT NULL FROM metadata.stats")
[ "$lag $replayed" = "t t" ] || { echo "standby: stats has no replay lag on the standby ($lag $replayed)" >&2; exit 1; }
[ "$(on_primary -c "SELECT feed_replay_lag IS NULL AND feed_replayed_at IS NULL FROM metadata.stats")" = t ] || {
  echo "standby: stats reports a replay lag on the primary" >&2; exit 1; }
echo "standby: metadata.stats reports the feed's replay lag ($(on_standby -c "SELECT feed_replay_lag FROM metadata.stats"))"

state=$(on_standby -v VERBOSITY=verbose -c "SELECT 1 FROM metadata.save('object', 'account', '{\"v\": -1}', scope => 'system')" 2>&1 || true)
grep -q "25006" <<<"$state" || { echo "standby: a write did not fail with 25006: $state" >&2; exit 1; }
read -r mode pid < <(on_standby -F ' ' -c "SELECT mode, coalesce(feed_worker_pid, 0) FROM metadata.stats")
[ "$pid" = 0 ] || { echo "standby: a feed worker runs on the standby (pid $pid)" >&2; exit 1; }
echo "standby: a write fails with 25006 (read-only transaction); $mode mode, no feed worker on the standby"
