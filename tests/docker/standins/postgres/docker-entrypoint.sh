#!/bin/sh
# First start: create the cluster, the user and the database the environment names; then run
# the server as the postgres user, listening on every interface of the container.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD est requis}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    $as_postgres initdb --username="$user" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$db" != "postgres" ]; then
        echo "CREATE DATABASE \"$db\" OWNER \"$user\"" \
            | $as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
    fi
fi
if [ "$1" = "postgres" ]; then
    shift
    exec $as_postgres postgres -c listen_addresses='*' "$@"
fi
exec "$@"
