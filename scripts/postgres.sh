# Sourced by `make test`: start a throwaway PostgreSQL on 127.0.0.1 and export
# CANVASCRAFT_TEST_POSTGRES_URL so the store tests run on it too. Does nothing when the variable is
# already set or no PostgreSQL server is installed (those tests then skip).
if [ -z "${CANVASCRAFT_TEST_POSTGRES_URL:-}" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$pg_bin" ] && [ -x "$pg_bin/pg_ctl" ]; then
    pg_port=${CANVASCRAFT_TEST_POSTGRES_PORT:-55432}
    pg_dir=$(mktemp -d /tmp/canvascraft-pg.XXXXXX)
    pg_user=$(id -un)
    run_pg() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    if [ "$(id -u)" = "0" ]; then chown postgres "$pg_dir"; pg_user=postgres; fi
    if run_pg "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U "$pg_user" >/dev/null \
      && run_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
           -o "-h 127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off" start >/dev/null \
      && run_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U "$pg_user" canvascraft_test; then
      export CANVASCRAFT_TEST_POSTGRES_URL="postgresql+psycopg://$pg_user@127.0.0.1:$pg_port/canvascraft_test"
      trap 'run_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT
      echo "postgres: test server on 127.0.0.1:$pg_port"
    else
      echo "postgres: could not start a test server (see $pg_dir/log); PostgreSQL tests will skip" >&2
    fi
  fi
fi
