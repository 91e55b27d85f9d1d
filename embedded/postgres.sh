# shellcheck shell=bash
# The embedded PostgreSQL 15 of ./flashtix (up, bench, chaos): its data directory under the state directory
# (or /var/tmp), its settings (embedded/postgresql.conf, shared with the test harness), who may log in
# (access/pg_hba.conf), flashuser and the flashtix database. Sourced by ./flashtix.

# initdb and postgres refuse to run as root, so root runs them as the postgres system user. cd / first:
# the postgres user may not be allowed into the current directory.
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# The real data directory: .flashtix/pg may be a symlink to /var/tmp (see pg_prepare_datadir).
pg_datadir() { readlink -f "$STATE/pg" || printf '%s\n' "$STATE/pg"; }

# The socket directory sits beside the real data directory, so the postgres user can always reach it.
pg_socketdir() { printf '%s/sock\n' "$(dirname "$(pg_datadir)")"; }

pg_pidfile_line() { sed -n "${1}p" "$(pg_datadir)/postmaster.pid" 2>/dev/null; }

pg_running() {
  local pid
  pid=$(pg_pidfile_line 1)
  [[ -n $pid ]] && alive "$pid"
}

# The port of the running cluster (from postmaster.pid), else the one it would start on.
pg_port() {
  local port=${FLASHTIX_PG_PORT:-5432}
  if pg_running; then
    port=$(pg_pidfile_line 4)
  fi
  check_port_number FLASHTIX_PG_PORT "$port"
  printf '%s\n' "$port"
}

# flashuser's URL with its password, for the services' environment only: never on a command line (ps shows
# those), never printed (mask_password).
pg_url() {
  local password
  password=$(db_password)
  printf 'postgresql://flashuser:%s@127.0.0.1:%s/flashtix\n' "$password" "$(pg_port)"
}

# Root runs postgres as the postgres user, which needs to traverse every ancestor of the data directory.
# A clone under /root (mode 700) is out of its reach; so is a socket path longer than the kernel's
# 107 bytes. Then the cluster lives in /var/tmp and .flashtix/pg links to it.
pg_needs_outside_dir() {
  local socket=$STATE/sock/.s.PGSQL.65535
  ((EUID == 0)) || return 1
  if ! runuser -u postgres -- test -x "$STATE"; then
    return 0
  fi
  ((${#socket} > 107))
}

pg_prepare_datadir() {
  local base=$STATE
  if [[ ! -e $STATE/pg ]] && pg_needs_outside_dir; then
    base=/var/tmp/flashtix-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
    note "the postgres user cannot reach $STATE, so the cluster lives in $base/pg (linked from .flashtix/pg)"
    mkdir -p "$base"
    chmod 700 "$base"
    ((EUID != 0)) || chown postgres:postgres "$base"
    ln -sfn "$base/pg" "$STATE/pg"
  fi
  mkdir -p "$base/pg" "$base/sock"
  chmod 700 "$base/pg" "$base/sock"
  ((EUID != 0)) || chown postgres:postgres "$base/pg" "$base/sock"
}

# Root runs PostgreSQL as the postgres user; when that user cannot reach the checkout, pg_init would put
# the cluster under the /var/tmp directory of ./flashtix up's own cluster. The bench and the chaos run
# each get their own ($1: bench or chaos).
own_cluster_dir() { printf '/var/tmp/flashtix-%s-%s\n' "$1" "$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"; }

own_cluster_prepare() {
  local base
  pg_needs_outside_dir || return 0
  base=$(own_cluster_dir "$1")
  mkdir -p "$base/pg" "$base/sock"
  chmod 700 "$base" "$base/pg" "$base/sock"
  chown postgres:postgres "$base" "$base/pg" "$base/sock"
  ln -sfn "$base/pg" "$STATE/pg"
}

pg_write_config() {
  local datadir=$1 sockdir=$2
  # The settings the test harness's clusters have too, then where this one's socket goes.
  {
    printf '\n'
    cat "$ROOT/embedded/postgresql.conf"
    printf "unix_socket_directories = '%s'\n" "${sockdir//\'/\'\'}"
  } >>"$datadir/postgresql.conf"
}

# Who may log in (access/pg_hba.conf, shared with the test harness): the superuser over the private socket
# as the account that runs this script, everyone else with a password over TCP. Written at every start,
# so that a cluster made by an older ./flashtix, which trusted every local login, is locked down too.
# Succeeds when it changed something.
pg_write_access() {
  local datadir hba ident
  datadir=$(pg_datadir)
  hba=$(<"$ROOT/access/pg_hba.conf")
  ident=$(printf '# FlashTix: the account that runs ./flashtix logs in as the superuser (access/pg_hba.conf).\n# MAPNAME  SYSTEM-USERNAME  PG-USERNAME\nowner      %s  postgres' "$(id -un)")
  if [[ $(<"$datadir/pg_hba.conf") == "$hba" && $(<"$datadir/pg_ident.conf") == "$ident" ]]; then
    return 1
  fi
  # Redirections keep the files' owner (postgres, when root runs this), so the server can still read them.
  printf '%s\n' "$hba" >"$datadir/pg_hba.conf"
  printf '%s\n' "$ident" >"$datadir/pg_ident.conf"
}

pg_init() {
  local datadir options
  [[ -e $STATE/pg/PG_VERSION ]] && return 0
  pg_prepare_datadir
  datadir=$(pg_datadir)
  # Left in /var/tmp by a .flashtix/ that was removed: keep its data rather than fail on a non-empty dir.
  if [[ -e $datadir/PG_VERSION ]]; then
    note "reusing the cluster already in $datadir"
    return 0
  fi
  say "initialising PostgreSQL 15 in $datadir"
  # Its pg_hba.conf is replaced before the first start (pg_write_access).
  mapfile -t options < <(grep -Ev '^[[:space:]]*(#|$)' "$ROOT/embedded/initdb.options")
  as_pg "$PG_BIN/initdb" -D "$datadir" "${options[@]}" >/dev/null
  pg_write_config "$datadir" "$(pg_socketdir)"
}

# Installing postgresql-15 creates and starts Debian's own cluster on 5432; name it when it is the one.
port_in_use_hint() {
  local version cluster port status
  command -v pg_lsclusters >/dev/null || return 0
  while read -r version cluster port status _; do
    if [[ $port == "$1" && $status == online ]]; then
      printf '\n  (the Debian cluster %s/%s listens there; stop it with: pg_ctlcluster %s %s stop)' \
        "$version" "$cluster" "$version" "$cluster"
    fi
  done < <(pg_lsclusters -h 2>/dev/null)
}

pg_start() {
  local port
  if pg_running; then
    if pg_write_access; then
      say "PostgreSQL already running on port $(pg_port); reloading its access rules"
      as_pg "$PG_BIN/pg_ctl" reload -D "$(pg_datadir)" -s
    else
      say "PostgreSQL already running on port $(pg_port)"
    fi
    return 0
  fi
  pg_write_access || true
  port=$(pg_port)
  if port_in_use "$port"; then
    die "port $port is in use; set FLASHTIX_PG_PORT=$((port + 1)) (or another free port)$(port_in_use_hint "$port")"
  fi
  say "starting PostgreSQL on 127.0.0.1:$port"
  # Without -l, pg_ctl hands the server's output to its stdout: the log file is opened here, by us,
  # so the postgres user needs no write access to .flashtix/logs.
  if ! as_pg "$PG_BIN/pg_ctl" start -D "$(pg_datadir)" -w -s -o "-p $port" >>"$LOGS/postgres.log"; then
    # The reason is in the server's log, not in pg_ctl's answer: show its end here.
    tail -n 15 "$LOGS/postgres.log" | sed 's/^/  | /' >&2
    die "PostgreSQL did not start; see ${LOGS#"$ROOT"/}/postgres.log"
  fi
}

superuser_psql() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socketdir)" -p "$(pg_port)" -U postgres "$@"
}

pg_create_role_and_db() {
  local password
  # As the superuser over the private socket. \gexec runs each generated statement: CREATE ROLE and
  # CREATE DATABASE have no IF NOT EXISTS.
  superuser_psql -d postgres >/dev/null <<'EOF'
SELECT 'CREATE ROLE flashuser LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'flashuser')\gexec
SELECT 'CREATE DATABASE flashtix OWNER flashuser'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'flashtix')\gexec
EOF
  # The password of .flashtix/secrets/db-password, set at every start: the same one again changes nothing,
  # a new one (a rotation, or an older ./flashtix's 'flashpass') replaces it. Through psql's input, not its
  # command line; and a failed statement is not logged, since this one carries the password. (db_password
  # admits no quote.)
  password=$(db_password)
  superuser_psql -d postgres >/dev/null <<EOF
SET log_min_error_statement = panic;
SET password_encryption = 'scram-sha-256';
ALTER ROLE flashuser PASSWORD '$password';
EOF
}

# The WAL segments embedded/postgresql.conf keeps ready for a sale (min_wal_size over 16 MB), made once.
WAL_SEGMENTS_KEPT=64
pg_preallocate_wal() {
  local segments
  # A cluster made by an older ./flashtix has initdb's sizes (the last line of a setting wins): add them
  # as they stand in embedded/postgresql.conf (both take effect on a reload).
  if [[ $(grep '^min_wal_size' "$(pg_datadir)/postgresql.conf" | tail -n 1) != \
    "$(grep '^min_wal_size' "$ROOT/embedded/postgresql.conf")" ]]; then
    grep -E '^(min|max)_wal_size' "$ROOT/embedded/postgresql.conf" >>"$(pg_datadir)/postgresql.conf"
    superuser_psql -d postgres -c 'SELECT pg_reload_conf()' >/dev/null
  fi
  segments=$(find "$(pg_datadir)/pg_wal" -maxdepth 1 -regextype posix-extended -regex '.*/[0-9A-F]{24}' | wc -l)
  ((segments >= WAL_SEGMENTS_KEPT)) && return 0
  say "preparing $WAL_SEGMENTS_KEPT WAL segments (once per cluster)"
  superuser_psql -d postgres -f "$ROOT/embedded/preallocate-wal.sql" >/dev/null
}

pg_stop() {
  pg_running || return 0
  say "stopping PostgreSQL"
  as_pg "$PG_BIN/pg_ctl" stop -D "$(pg_datadir)" -m fast -w -s
}

# As flashuser over TCP, with its password in the environment.
flashuser_psql() {
  local password
  password=$(db_password)
  PGPASSWORD=$password "$PG_BIN/psql" -X -h 127.0.0.1 -p "$(pg_port)" -U flashuser -d flashtix "$@"
}
