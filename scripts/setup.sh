#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine with a Rust toolchain:
# Debian packages (PostgreSQL 15 server + headers, clang for bindgen, sudo) and cargo-pgrx,
# then initialises pgrx for the system PostgreSQL 15. Idempotent: skips what is present.
set -euo pipefail

PGRX_VERSION=0.18.1
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

need_apt=()
for pkg in postgresql-15 postgresql-server-dev-15 libclang-dev clang pkg-config sudo; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  echo "setup: installing cargo-pgrx $PGRX_VERSION"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

if ! grep -q "pg15" "${PGRX_HOME:-$HOME/.pgrx}/config.toml" 2>/dev/null; then
  echo "setup: cargo pgrx init --pg15 $PG_CONFIG"
  cargo pgrx init --pg15 "$PG_CONFIG"
fi
