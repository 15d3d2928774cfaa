#!/usr/bin/env bash
# Throwaway PostgreSQL and S3 (moto) servers for the team-store tests, on 127.0.0.1.
#
#   eval "$(.ci/services.sh start)"   # start both; prints the `export` lines for the tests
#   python -m pytest tests/test_store_contract.py
#   .ci/services.sh stop              # stop both and delete their data
#
# PostgreSQL is Debian's `postgresql` package (installed when missing, with apt-get as root or
# through sudo). initdb refuses to run as root, so as root the cluster belongs to the
# `postgres` user. Durability is switched off (fsync, synchronous_commit): the data is thrown
# away. moto_server comes from `pip install 'moto[server]'` (in the `test` extra).
# State (data directory, logs, pids, the env file) lives in $NAIAD_SERVICES_DIR
# (default /tmp/naiad-services); `start` twice reuses running servers.
set -euo pipefail

STATE=${NAIAD_SERVICES_DIR:-/tmp/naiad-services}
ENV_FILE=$STATE/env

log() { echo "services: $*" >&2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_pg_owner() {  # run a command as the owner of the cluster
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

install_postgres() {
    [ -n "$(pg_bin)" ] && return
    log "installing postgresql (apt-get)"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

start_postgres() {
    local bin port root
    bin=$(pg_bin)
    root=$STATE/pg
    port=$(free_port)
    rm -rf "$root"
    mkdir -p "$root"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$root"
    as_pg_owner "'$bin/initdb' -D '$root/data' -U postgres -A trust -E UTF8 --no-locale" >/dev/null
    as_pg_owner "'$bin/pg_ctl' -D '$root/data' -l '$root/log' -w -t 60 -o \
        \"-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off\" start" >/dev/null
    "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE naiad LOGIN PASSWORD 'naiad'" -c "CREATE DATABASE naiad_test OWNER naiad" >/dev/null
    echo "$bin" >"$STATE/pg.bin"
    echo "export NAIAD_TEST_POSTGRES=postgresql://naiad:naiad@127.0.0.1:$port/naiad_test" >>"$ENV_FILE"
    log "PostgreSQL on 127.0.0.1:$port (database naiad_test, user naiad)"
}

start_moto() {
    local port
    command -v moto_server >/dev/null || {
        log "moto_server is not on PATH: pip install 'moto[server]' (or activate the venv)"
        return 1
    }
    port=$(free_port)
    nohup moto_server -H 127.0.0.1 -p "$port" >"$STATE/moto.log" 2>&1 &
    echo $! >"$STATE/moto.pid"
    for _ in $(seq 100); do
        python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" \
            2>/dev/null && break
        sleep 0.1
    done
    {
        echo "export NAIAD_TEST_S3=http://127.0.0.1:$port"
        echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
        echo "export AWS_ACCESS_KEY_ID=testing"
        echo "export AWS_SECRET_ACCESS_KEY=testing"
        echo "export AWS_DEFAULT_REGION=us-east-1"
    } >>"$ENV_FILE"
    log "S3 (moto) on 127.0.0.1:$port (any bucket name; credentials 'testing')"
}

running() {
    [ -f "$ENV_FILE" ] || return 1
    [ -f "$STATE/moto.pid" ] && kill -0 "$(cat "$STATE/moto.pid")" 2>/dev/null || return 1
    [ -f "$STATE/pg/data/postmaster.pid" ] || return 1
}

stop() {
    if [ -f "$STATE/pg.bin" ] && [ -f "$STATE/pg/data/postmaster.pid" ]; then
        as_pg_owner "'$(cat "$STATE/pg.bin")/pg_ctl' -D '$STATE/pg/data' -m fast -w stop" >/dev/null || true
        log "PostgreSQL stopped"
    fi
    if [ -f "$STATE/moto.pid" ]; then
        kill "$(cat "$STATE/moto.pid")" 2>/dev/null || true
        log "moto stopped"
    fi
    rm -rf "$STATE"
}

case "${1:-}" in
start)
    if running; then
        log "already running (state in $STATE)"
    else
        stop 2>/dev/null
        mkdir -p "$STATE"
        : >"$ENV_FILE"
        install_postgres
        start_postgres
        start_moto
    fi
    cat "$ENV_FILE"
    ;;
stop) stop ;;
env) cat "$ENV_FILE" ;;
*)
    echo "usage: $0 start|stop|env   (start prints export lines: eval \"\$($0 start)\")" >&2
    exit 2
    ;;
esac
