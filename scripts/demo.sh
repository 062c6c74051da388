#!/usr/bin/env bash
# scripts/demo.sh [BUNDLE]: the project's main job, a demo of layered metadata.
#
# On a fresh Debian 12 machine with a Rust toolchain: installs what is needed
# (scripts/setup.sh), builds and installs the extension, starts a throwaway PostgreSQL 15
# cluster, installs BUNDLE (default examples/crm/bundle.json, an ObjectStack-style CRM) as
# the package crm (its `system` scope), applies tenant and user overlays, and prints how the
# layers resolve: item counts, effective documents per context, explain, a stale overlay
# after a base saved by hand, a draft with preview and publish, history, diff, rollback and
# the change feed, optimistic concurrency, JSON Schema validation (invalid documents of the
# bundle, a refused overlay, a locked path), tenant isolation by row level security, bad
# input rejected with its SQLSTATE, the catalog, the command line through git,
# dependencies, a package upgrade merged over the tenants' customisations (a dry run
# with conflicts, their resolution), and the caches' figures, the feed's bounds and
# history retention. Each section is one SQL file of examples/demo.
#
# Overlays: examples/crm/overlays.json for the default bundle; for any other bundle they
# are generated in SQL from the bundle itself. METADATA_DEMO_OVERLAYS=FILE overrides both
# (a JSON array of {tenant_id, user_id, items: [bulk_save items]}).
# METADATA_DEMO_PORT: port of the throwaway cluster (default 54329; it listens on a
# private socket directory only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEFAULT_BUNDLE=$ROOT/examples/crm/bundle.json
BUNDLE=${1:-$DEFAULT_BUNDLE}
if [ ! -f "$BUNDLE" ] || [ ! -r "$BUNDLE" ]; then
  echo "demo: cannot read bundle file '$BUNDLE'" >&2
  exit 2
fi
BUNDLE=$(realpath "$BUNDLE")
OVERLAYS=${METADATA_DEMO_OVERLAYS:-}
if [ -z "$OVERLAYS" ] && [ "$BUNDLE" = "$(realpath "$DEFAULT_BUNDLE")" ]; then
  OVERLAYS=$ROOT/examples/crm/overlays.json
fi
if [ -n "$OVERLAYS" ]; then
  if [ ! -f "$OVERLAYS" ] || [ ! -r "$OVERLAYS" ]; then
    echo "demo: cannot read overlays file '$OVERLAYS'" >&2
    exit 2
  fi
  OVERLAYS=$(realpath "$OVERLAYS")
fi
PORT=${METADATA_DEMO_PORT:-54329}

DIR=$(mktemp -d /tmp/metadata-demo.XXXXXX)
chmod 755 "$DIR"
cleanup() { cluster_stop "$DIR"; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== setup: Debian packages and cargo-pgrx (scripts/setup.sh), then build and install the extension"
bash "$ROOT/scripts/setup.sh"
echo "   cargo pgrx install --release (the first build takes a few minutes; later ones are cached)"
if ! install_extension 2>"$DIR/build.log"; then
  cat "$DIR/build.log" >&2
  echo "demo: building or installing the extension failed" >&2
  exit 1
fi
echo "   cargo build --release of the metadata command line (cli/)"
cargo build --release --quiet --manifest-path "$ROOT/cli/Cargo.toml"
# Preloaded mode (shared_preload_libraries = 'metadata': the feed worker, answers from
# shared change buckets); metadata.feed_sync = on lets every section read its own changes
# in the feed at once, as in plain mode; section 21 turns it off to show the worker.
METADATA_PRELOAD=1 CLUSTER_SETTINGS="-c fsync=off -c metadata.feed_sync=on" cluster_start "$DIR" "$PORT"
echo "   throwaway cluster on port $PORT, socket directory $DIR, preloaded mode"

# The sections: one SQL file each (examples/demo/NN_*.sql), run in order in one psql session
# (no psqlrc, quiet, stop at the first error, no "(N rows)" footers). Every section starts
# from a clean session state (examples/demo/_section.sql); the items it shows are picked
# once (03_pick.sql). File contents reach psql through environment variables read by
# \set ... `cat`,
# never through the command line.
overlays_from_file=false
[ -n "$OVERLAYS" ] && overlays_from_file=true
sections=()
for f in "$ROOT"/examples/demo/[0-9][0-9]_*.sql; do sections+=(-f "$f"); done
DEMO_BUNDLE_FILE=$BUNDLE DEMO_OVERLAYS_FILE=$OVERLAYS DEMO_DIR=$DIR \
  DEMO_CLI=$ROOT/cli/target/release/metadata DEMO_CLI_SCRIPT=$ROOT/examples/demo/cli.sh \
  psql -X -q -v ON_ERROR_STOP=1 -P footer=off -P null='—' \
    -v bundle_file="$BUNDLE" -v overlays_file="$OVERLAYS" -v overlays_from_file="$overlays_from_file" \
    "${sections[@]}"

echo
echo "== done (the throwaway cluster is removed on exit)"
