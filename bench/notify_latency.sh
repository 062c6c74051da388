#!/usr/bin/env bash
# Benchmark of the delay from a commit to its doorbell (not a test: it prints figures), in
# plain mode and in preloaded mode (the feed worker numbers and rings after the commit),
# same run, on a durable cluster: bench/notify_latency.py with N saves (METADATA_BENCH_N,
# default 500), in a venv of examples/python/requirements.txt (psycopg 3, from PyPI).
#
# Usage: bench/notify_latency.sh      Environment: METADATA_BENCH_PORT (default 54369).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${METADATA_BENCH_PORT:-54369}
n=${METADATA_BENCH_N:-500}

bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/lib.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/metadata-latency.XXXXXX")
chmod 755 "$dir"
trap 'cluster_stop "$dir"; rm -rf "$dir"' EXIT
install_extension 2>"$dir/install.log" || { cat "$dir/install.log" >&2; exit 1; }
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/examples/python/requirements.txt"

CLUSTER_SETTINGS="" cluster_start "$dir" "$port"
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION metadata" \
  -c "SELECT metadata.register_type('object', validation_mode => 'off')" >/dev/null
dsn="host=$dir port=$port user=postgres dbname=postgres"
"$dir/venv/bin/python" "$ROOT/bench/notify_latency.py" "$dsn" "$n" plain
cluster_stop "$dir"
METADATA_PRELOAD=1 CLUSTER_SETTINGS="" cluster_start "$dir" "$port"
"$dir/venv/bin/python" "$ROOT/bench/notify_latency.py" "$dsn" "$n" preloaded
