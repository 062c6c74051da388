# Shared shell helpers for the project's scripts (source it; do not run it).
# A throwaway PostgreSQL 15 cluster run as the `postgres` user on a private socket
# directory and port: no system service is touched.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_CONFIG=${PG_CONFIG:-$PG_BIN/pg_config}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Builds the extension in release mode and installs it into the system PostgreSQL 15.
install_extension() {
  (cd "$ROOT" && cargo pgrx install --release -c "$PG_CONFIG" >/dev/null)
}

# Runs a command as the postgres user (PostgreSQL refuses to run as root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# cluster_start DIR PORT: initdb in DIR/data (if new) and start the server with its socket
# in DIR, listening on no TCP address. Exports PGHOST, PGPORT, PGUSER, PGDATABASE.
# CLUSTER_SETTINGS: extra server settings (default "-c fsync=off": throwaway data; set it to
# "" for durable commits, as the events benchmark does).
cluster_start() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
  fi
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir -p $port -c listen_addresses='' -c max_connections=50 ${CLUSTER_SETTINGS--c fsync=off}" \
    start >/dev/null || { cat "$dir/server.log"; return 1; }
  export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

# cluster_stop DIR: stop the server (if running).
cluster_stop() {
  as_postgres "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}
