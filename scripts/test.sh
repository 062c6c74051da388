#!/usr/bin/env bash
# Runs every test of the project on a machine set up by scripts/setup.sh (which it runs):
#   1. unit tests of the pure core (plain `cargo test`),
#   2. #[pg_test] tests inside a Postgres backend (`cargo pgrx test`, as the postgres user),
#   3. SQL regression tests (pg_regress) against the installed extension on a throwaway
#      cluster, isolation specs of the races (tests/isolation), a pg_dump/pg_restore round
#      trip, ALTER EXTENSION UPDATE from every frozen
#      release (tests/upgrade), concurrent writers, client tests over real
#      connections (tests/client), the ObjectStack client (tests/objectstack), the Python
#      follower (tests/python), the command line round trip through git
#      (tests/cli), answers from memory against concurrent writers, a streaming standby
#      and a logical replica (tests/replica), and, when METADATA_CORPUS points at
#      shared/corpus, the corpus tests (the standby's corpus comparison and the logical
#      replica need it too);
#   4. the SQL, isolation, client, memory, standby, logical replica and corpus suites again
#      in preloaded mode (shared_preload_libraries = 'metadata').
# Prints one line "tests: N passed, M failed" per suite kind at the end; exits non-zero on
# any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
cd "$ROOT"

bash scripts/setup.sh

PORT=${METADATA_TEST_PORT:-54349}
WORK=$(mktemp -d /tmp/metadata-test.XXXXXX)
chmod 755 "$WORK"
trap 'cluster_stop "$WORK/cluster"; rm -rf "$WORK"' EXIT

suites_passed=0
suites_failed=0
run_suite() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then
    suites_passed=$((suites_passed + 1))
  else
    echo "!! $name FAILED"
    suites_failed=$((suites_failed + 1))
  fi
}

unit_tests() {
  cargo test --lib --quiet core::
}

pg_tests() {
  mkdir -p "$WORK/pgtest" && chown postgres: "$WORK/pgtest"
  cargo pgrx test pg15 --runas postgres --pgdata "$WORK/pgtest/data"
}

# regress NAME INPUTDIR ARGS...: runs pg_regress tests (tests/regress/run.sh) in a new
# database metadata_NAME; prints the diffs on failure.
regress() {
  local name=$1 inputdir=$2; shift 2
  bash tests/regress/run.sh "metadata_$name" "$inputdir" "$WORK/$name" "$@"
}

sql_tests() {
  regress regress tests/regress --schedule=tests/regress/schedule
}

# Races, with Postgres' isolationtester (tests/isolation/specs).
isolation_tests() {
  bash tests/isolation/run.sh "$WORK/isolation"
}

dump_tests() {
  bash tests/dump/dump_restore.sh
}

# ALTER EXTENSION metadata UPDATE from every frozen release, on real data (tests/upgrade).
upgrade_tests() {
  bash tests/upgrade/upgrade.sh
}

concurrency_tests() {
  bash tests/concurrency/no_lost_update.sh &&
    PGDATA_DIR=$WORK/cluster/data bash tests/concurrency/feed_after_crash.sh &&
    bash tests/concurrency/import_killed.sh
}

# Rust tests over real client connections (tests/client, postgres crate): LISTEN/NOTIFY
# events, changes_since after a reconnect, read-modify-write loops, and the attack suite
# (roles, tenants, row level security), which prints its count of refused attempts.
client_tests() {
  "$PG_BIN/dropdb" --if-exists metadata_client 2>/dev/null
  "$PG_BIN/createdb" metadata_client
  METADATA_TEST_DSN="host=$PGHOST port=$PGPORT user=postgres dbname=metadata_client" \
    cargo test --quiet --manifest-path tests/client/Cargo.toml -- --nocapture
}

# The Python change-feed follower (examples/python), in a venv of its pinned requirements.
python_tests() {
  bash tests/python/test_follow.sh
}

# The ObjectStack client (clients/objectstack): ObjectStack's contract suite, the loader
# under MetadataManager, watch across a terminated connection (npm ci, vitest).
objectstack_tests() {
  bash tests/objectstack/run.sh
}

# The metadata command line (cli/): pull into git, edit, diff, push (tests/cli).
cli_tests() {
  bash tests/cli/roundtrip.sh
}

# Answers from memory against concurrent writers (tests/concurrency/memo_under_writers.sh).
memo_tests() {
  bash tests/concurrency/memo_under_writers.sh
}

# A streaming standby of the test cluster (tests/replica/standby.sh).
standby_tests() {
  bash tests/replica/standby.sh
}

# A logical replica: publication and subscription between two clusters of its own
# (tests/replica/logical.sh; needs METADATA_CORPUS).
logical_tests() {
  bash tests/replica/logical.sh
}

corpus_tests() {
  METADATA_CORPUS=$(cd "$METADATA_CORPUS" && pwd) regress corpus tests/corpus hotcrm schemas
}

run_suite "unit tests (cargo test)" unit_tests
run_suite "#[pg_test] tests (cargo pgrx test)" pg_tests
install_extension
cluster_start "$WORK/cluster" "$PORT"
run_suite "SQL regression tests (pg_regress)" sql_tests
run_suite "isolation specs (pg_isolation_regress)" isolation_tests
run_suite "pg_dump/pg_restore round trip" dump_tests
run_suite "upgrade from every release (ALTER EXTENSION UPDATE)" upgrade_tests
run_suite "concurrent writers, a crash under load (pgbench), a killed import" concurrency_tests
run_suite "client tests (cargo test, tests/client)" client_tests
run_suite "ObjectStack client (clients/objectstack, tests/objectstack)" objectstack_tests
run_suite "Python follower (examples/python, tests/python)" python_tests
run_suite "command line: pull, edit in git, diff, push (cli, tests/cli)" cli_tests
run_suite "answers from memory against concurrent writers (pgbench)" memo_tests
run_suite "a streaming standby (pg_basebackup)" standby_tests
run_suite "a logical replica (publication, subscription)" logical_tests
if [ -n "${METADATA_CORPUS:-}" ]; then
  run_suite "corpus tests (pg_regress, METADATA_CORPUS=$METADATA_CORPUS)" corpus_tests
else
  echo "== corpus tests skipped: set METADATA_CORPUS=path/to/shared/corpus to run them"
fi

# The second pass: preloaded mode (shared_preload_libraries = 'metadata', a feed worker per
# database, answers from shared change buckets). metadata.feed_sync = on makes each commit
# wait for its feed positions, so the suites' expected feeds hold as in plain mode; the
# memo test's writers turn it off to leave the numbering to the worker.
echo "== preloaded mode: the cluster restarts with shared_preload_libraries = 'metadata'"
cluster_stop "$WORK/cluster"
export METADATA_PRELOAD=1 CLUSTER_SETTINGS="-c fsync=off -c metadata.feed_sync=on"
cluster_start "$WORK/cluster" "$PORT"
run_suite "preloaded: SQL regression tests (pg_regress)" sql_tests
run_suite "preloaded: isolation specs (pg_isolation_regress)" isolation_tests
run_suite "preloaded: client tests (cargo test, tests/client)" client_tests
run_suite "preloaded: answers from memory against concurrent writers" memo_tests
run_suite "preloaded: a streaming standby" standby_tests
run_suite "preloaded: a logical replica" logical_tests
if [ -n "${METADATA_CORPUS:-}" ]; then
  run_suite "preloaded: corpus tests (pg_regress)" corpus_tests
fi

echo "suites: $suites_passed passed, $suites_failed failed"
[ "$suites_failed" = 0 ]
