#!/usr/bin/env bash
# Starts a throwaway MariaDB server for the test suite: temp data dir, free loopback port,
# root over TCP without a password. Prints the go-sql-driver DSN (without a database name)
# on stdout. Stop it with: throwaway-mariadb.sh stop DIR
#   usage: throwaway-mariadb.sh start DIR | stop DIR
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

case "$cmd" in
start)
  command -v mariadbd >/dev/null || PATH=$PATH:/usr/sbin
  command -v mariadbd >/dev/null || { echo "mariadbd not installed" >&2; exit 3; }
  mkdir -p "$dir"
  chmod 777 "$dir" # mariadbd runs as the mysql user when started by root
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
  user_opt=()
  [ "$(id -u)" = 0 ] && user_opt=(--user=mysql)
  mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; exit 1; }
  mariadbd --no-defaults "${user_opt[@]}" --datadir="$dir/data" --socket="$dir/mysql.sock" \
    --pid-file="$dir/mysql.pid" --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --innodb-buffer-pool-size=256M --innodb-log-file-size=256M --innodb-flush-log-at-trx-commit=1 \
    --max-connections=500 --log-error="$dir/error.log" >/dev/null 2>&1 &
  for _ in $(seq 1 100); do
    if mariadb-admin --protocol=tcp -h127.0.0.1 -P"$port" -uroot ping >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      echo "root@tcp(127.0.0.1:$port)/"
      exit 0
    fi
    sleep 0.2
  done
  echo "mariadbd did not start; log:" >&2; tail -20 "$dir/error.log" >&2; exit 1 ;;
stop)
  if [ -f "$dir/mysql.pid" ]; then kill "$(cat "$dir/mysql.pid")" 2>/dev/null || true; fi
  for _ in $(seq 1 50); do [ -f "$dir/mysql.pid" ] || break; sleep 0.2; done
  rm -rf "$dir" ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
