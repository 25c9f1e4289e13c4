#!/usr/bin/env bash
# Start PgBouncer (Debian's package) on 127.0.0.1:$1 in transaction-pooling mode in front of
# the PostgreSQL at 127.0.0.1:5432; prints the pid file to stop it with. Run as root in CI.
set -euo pipefail
port=$1
if ! command -v pgbouncer >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
fi
dir=$(mktemp -d /tmp/pgbouncer-XXXXXX)
cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
echo '"postgres" ""' > "$dir/users.txt"
chown -R postgres "$dir"
runuser -u postgres -- pgbouncer -d "$dir/pgbouncer.ini"
for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p "$port" -q && break; sleep 0.2; done
echo "$dir/pgbouncer.pid"
