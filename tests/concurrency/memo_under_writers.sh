#!/usr/bin/env bash
# Answers from memory are never stale (DESIGN §3 "Preloaded mode"): while writers change
# global and tenant layers, readers compare every answer of effective, effective_all and
# explain, as served (from memory when preloaded mode allows it), with a fresh read under
# the same snapshot (metadata.effective_cache = off, inside one STABLE function), in READ
# COMMITTED and in REPEATABLE READ transactions; any difference is an error. In preloaded
# mode at least one answer must have come from memory (else the test proves nothing), and
# the writers commit with metadata.feed_sync = off, so the feed worker numbers their
# changes behind them: afterwards the feed must be dense and, per item, in version order.
# Needs a running cluster (PGHOST, ...).
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
db=metadata_memo
work=$(mktemp -d)
trap 'rm -rf "$work"; "$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null' EXIT
"$PG_BIN/dropdb" --if-exists "$db" 2>/dev/null
"$PG_BIN/createdb" "$db"
psql_db() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
psql_db >/dev/null <<'SQL'
CREATE EXTENSION metadata;
SELECT metadata.register_type('object', validation_mode => 'off');
SELECT count(*) FROM generate_series(0, 9) i,
  LATERAL metadata.save('object', 'item' || i, jsonb_build_object('base', i, 'v', 0), scope => 'system');
DO $$
BEGIN
  FOR t IN 1..3 LOOP
    PERFORM set_config('metadata.tenant_id', 't' || t, true);
    PERFORM metadata.save('object', 'item' || i, jsonb_build_object('t', t), scope => 'platform')
    FROM generate_series(0, 9, 2) i;
  END LOOP;
  PERFORM set_config('metadata.tenant_id', 't1', true);
  PERFORM set_config('metadata.user_id', 'u1', true);
  PERFORM metadata.save('object', 'item' || i, jsonb_build_object('u', 1), scope => 'user')
  FROM generate_series(0, 9, 3) i;
END $$;
-- Compares each answer as served with a fresh read under the same snapshot (a STABLE
-- function takes no new snapshot, and a reader that wrote nothing has no transaction id, so
-- the extension's reads use that snapshot too); says "from memory" (a NOTICE, which pgbench
-- prints) when the first effective() came from memory (a hit without a miss: the whole
-- answer, not a fold).
CREATE FUNCTION check_answers(item text, with_all boolean) RETURNS int LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  a jsonb; b jsonb; all_a jsonb; all_b jsonb; ex_a text; ex_b text;
  h0 bigint; m0 bigint; h1 bigint; m1 bigint;
BEGIN
  SELECT memo_hits, memo_misses INTO h0, m0 FROM metadata.stats;
  a := metadata.effective('object', item);
  SELECT memo_hits - h0, memo_misses - m0 INTO h1, m1 FROM metadata.stats;
  IF with_all THEN
    SELECT jsonb_agg(jsonb_build_array(e.name, e.doc) ORDER BY e.name) INTO all_a FROM metadata.effective_all('object') e;
  END IF;
  SELECT string_agg(x.checksum || x.stale::text, ',' ORDER BY x.ordinal) INTO ex_a FROM metadata.explain('object', item) x;
  PERFORM set_config('metadata.effective_cache', 'off', true);
  b := metadata.effective('object', item);
  IF with_all THEN
    SELECT jsonb_agg(jsonb_build_array(e.name, e.doc) ORDER BY e.name) INTO all_b FROM metadata.effective_all('object') e;
  END IF;
  SELECT string_agg(x.checksum || x.stale::text, ',' ORDER BY x.ordinal) INTO ex_b FROM metadata.explain('object', item) x;
  PERFORM set_config('metadata.effective_cache', 'on', true);
  IF a IS DISTINCT FROM b THEN
    RAISE EXCEPTION 'stale effective(%) for tenant %: % served, % read', item, current_setting('metadata.tenant_id'), a, b;
  END IF;
  IF all_a IS DISTINCT FROM all_b THEN
    RAISE EXCEPTION 'stale effective_all for tenant % (hits %, misses %): % served, % read', current_setting('metadata.tenant_id'), h1, m1, all_a, all_b;
  END IF;
  IF ex_a IS DISTINCT FROM ex_b THEN
    RAISE EXCEPTION 'stale explain(%): % served, % read', item, ex_a, ex_b;
  END IF;
  IF h1 = 1 AND m1 = 0 THEN
    RAISE NOTICE 'from memory';
  END IF;
  RETURN 1;
END $fn$;
SQL

cat > "$work/write.sql" <<'SQL'
\set i random(0, 9)
\set t random(0, 3)
SELECT set_config('metadata.tenant_id', CASE WHEN :t = 0 THEN '' ELSE 't' || :t END, false);
SELECT 1 FROM metadata.save('object', 'item' || :i, jsonb_build_object('v', random()),
                            scope => CASE WHEN :t = 0 THEN 'system' ELSE 'platform' END);
\sleep 2 ms
SQL
read_prologue='\set i random(0, 9)
\set t random(1, 3)
\set u random(0, 1)
SELECT set_config('"'"'metadata.tenant_id'"'"', '"'"'t'"'"' || :t, false),
       set_config('"'"'metadata.user_id'"'"', CASE WHEN :u = 1 THEN '"'"'u1'"'"' ELSE '"'"''"'"' END, false);'
printf '%s\n%s\n' "$read_prologue" "SELECT check_answers('item' || :i, true);" > "$work/read_rc.sql"
printf '%s\n%s\n%s\n%s\n%s\n' "$read_prologue" "BEGIN ISOLATION LEVEL REPEATABLE READ;" \
  "SELECT check_answers('item' || :i, true);" \
  "SELECT check_answers('item' || ((:i + 1) % 10), true);" "COMMIT;" > "$work/read_rr.sql"

seconds=${MEMO_TEST_SECONDS:-6}
for isolation in rc rr; do
  PGOPTIONS="-c metadata.feed_sync=off" "$PG_BIN/pgbench" -n -c 2 -j 1 -T "$seconds" \
    -f "$work/write.sql" "$db" > "$work/write.out" 2>&1 &
  writers=$!
  ok=1
  "$PG_BIN/pgbench" -n -c 3 -j 1 -T "$seconds" -f "$work/read_$isolation.sql" "$db" \
    > "$work/read.out" 2>&1 || ok=0
  wait "$writers" || ok=0
  cat "$work/read.out" >> "$work/reads.log"
  grep -q "number of failed transactions: 0 " "$work/read.out" || ok=0
  if [ "$ok" = 0 ]; then
    echo "memo_under_writers ($isolation):" >&2; cat "$work/read.out" "$work/write.out" >&2; exit 1
  fi
  reads=$(awk '/number of transactions actually processed/ {print $NF}' "$work/read.out")
  writes=$(awk '/number of transactions actually processed/ {print $NF}' "$work/write.out")
  echo "memo_under_writers: $isolation: $reads reader transactions against $writes saves, every answer equal to a fresh read"
done

mode=$(psql_db -At -c "SELECT mode FROM metadata.stats")
served=$(grep -c "NOTICE:  from memory" "$work/reads.log" || true)
if [ "$mode" = preloaded ] && [ "$served" = 0 ]; then
  echo "memo_under_writers: preloaded mode served no answer from memory" >&2; exit 1
fi
echo "memo_under_writers: $mode mode: $served checks' first reads answered from memory"

psql_db -At -c "SELECT metadata.wait_for_feed('30 s') IS NOT NULL" | grep -qx t || {
  echo "memo_under_writers: the feed worker did not number the changes within 30 s" >&2; exit 1; }
read -r changes dense disordered < <(psql_db -At -F ' ' -c "
  SELECT count(*), min(seq) = 1 AND max(seq) = count(*) AND count(DISTINCT seq) = count(*),
         (SELECT count(*) FROM (SELECT seq, lag(seq) OVER (PARTITION BY item_id ORDER BY version) AS before
                                FROM metadata.sys_metadata_history) o WHERE o.before > o.seq)
  FROM metadata.sys_metadata_history")
if [ "$dense" != t ] || [ "$disordered" != 0 ]; then
  echo "memo_under_writers: feed of $changes changes: dense=$dense, out of version order: $disordered" >&2; exit 1
fi
echo "memo_under_writers: feed of $changes changes numbered 1..$changes, each item's in version order"
