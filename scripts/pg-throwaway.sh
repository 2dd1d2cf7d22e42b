#!/usr/bin/env bash
# A throwaway PostgreSQL 15 + PostGIS 3 cluster on a free loopback port (issue 17), for the tests,
# the benchmarks and a try of the several-node mode. Debian's postgresql-15 and
# postgresql-15-postgis-3 (scripts/setup.sh installs them). As root the cluster runs as the
# `postgres` user (initdb refuses root).
#
#   scripts/pg-throwaway.sh start DIR   initdb (first time) + start; prints the server's URL,
#                                       postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/pg-throwaway.sh createdb DIR NAME    prints the new database's URL
#   scripts/pg-throwaway.sh stop DIR    stops it (the files stay in DIR; rm -rf DIR to forget)
set -euo pipefail
PGBIN=${VIGIL_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg-throwaway.sh start|createdb|stop DIR [NAME]}
dir=$(mkdir -p "${2:?DIR}" && cd "$2" && pwd)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port_of() { cat "$dir/port"; }
case $cmd in
  start)
    [ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL 15 in $PGBIN: run scripts/setup.sh" >&2; exit 1; }
    if [ ! -d "$dir/data" ]; then
      mkdir -p "$dir/sock"
      [ "$(id -u)" != 0 ] || chown -R postgres:postgres "$dir"
      as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" >"$dir/port"; [ "$(id -u)" != 0 ] || chown postgres:postgres "$dir/port"
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir/sock -c max_connections=300" \
      start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  createdb)
    name=${3:?NAME}
    psql -X -q -h 127.0.0.1 -p "$(port_of)" -U postgres -d postgres -c "CREATE DATABASE $name" >/dev/null
    echo "postgres://postgres@127.0.0.1:$(port_of)/$name"
    ;;
  stop)
    [ -d "$dir/data" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
