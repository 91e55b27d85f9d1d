# shellcheck shell=bash
# ./flashtix chaos: a seeded fault run on its own cluster, broker and ports (chaos/chaos.py does the run;
# the infrastructure's faults come back here as `flashtix __chaos ACTION`). Sourced by ./flashtix when the
# chaos or __chaos command runs; it starts the cluster and the broker with the helpers of up.

chaos_usage() {
  cat <<'USAGE'
usage: ./flashtix chaos [--seed N] [--duration S] [--no-build] [--bin-dir DIR]

A sell-out through the whole flow with two instances of every service, while the seed picks faults:
kill -9 and restart of service instances, PostgreSQL stopped fast or its postmaster killed, the broker
killed, an inventory instance paused past its callers' deadline. Then the books are checked; one JSON
summary is printed, and the exit status is 1 on any violation (with the seed to replay it).
  --seed N       the run to replay (default: a random one, printed)
  --duration S   seconds of load and faults (default 60)
  --no-build     use build/release as it is
  --bin-dir DIR  the service binaries to run (the suite's short run uses its build's); implies --no-build
USAGE
}

# The chaos run's own state, cluster and broker, beside the bench's; ./flashtix up's are untouched.
chaos_state() {
  STATE=$ROOT/.flashtix/chaos
  LOGS=$STATE/logs
  RUN=$STATE/run
}

# Stops whatever an earlier run left and starts from an empty state directory.
chaos_reset_state() {
  if [[ -d $STATE ]]; then
    rabbit_stop || true
    pg_stop || true
  fi
  rm -rf "$STATE" "$(own_cluster_dir chaos)"
  mkdir -p "$LOGS" "$RUN"
  own_cluster_prepare chaos
}

chaos_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  rabbit_stop >/dev/null 2>&1 || true
  pg_stop >/dev/null 2>&1 || true
  exit "$status"
}

cmd_chaos() {
  local seed=$(((RANDOM << 15) | RANDOM)) duration=60 build=1 bin_dir=$ROOT/$RELEASE_DIR/bin ports=() port args
  while (($#)); do
    case $1 in
      --seed) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--seed needs a whole number"; seed=$2; shift ;;
      --duration) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--duration needs a whole number of seconds"; duration=$2; shift ;;
      --no-build) build=0 ;;
      --bin-dir) [[ -x ${2:-}/flashtix-orders ]] || die "--bin-dir needs a directory with the service binaries"; bin_dir=$2; build=0; shift ;;
      -h | --help) chaos_usage; return 0 ;;
      *) chaos_usage >&2; exit 2 ;;
    esac
    shift
  done
  command -v python3 >/dev/null || die "python3 is needed for the chaos run"
  if ((build)); then
    cmd_deps >&2
    say >&2 "building (Release) in $RELEASE_DIR"
    mkdir -p "$STATE"
    if ! build_services >"$STATE/chaos-build.log" 2>&1; then
      tail -n 40 "$STATE/chaos-build.log" >&2
      die "build failed; the whole output is in .flashtix/chaos-build.log"
    fi
  fi
  chaos_state
  # Exported: `flashtix __chaos` (run by chaos.py) finds the same cluster and broker through them.
  FLASHTIX_PG_PORT=$(free_port 26432)
  FLASHTIX_AMQP_PORT=$(free_port 16672 "$FLASHTIX_PG_PORT")
  FLASHTIX_RABBITMQ_DIST_PORT=$(free_port 26674 "$FLASHTIX_PG_PORT" "$FLASHTIX_AMQP_PORT")
  FLASHTIX_EPMD_PORT=$(free_port 14370 "$FLASHTIX_PG_PORT" "$FLASHTIX_AMQP_PORT" "$FLASHTIX_RABBITMQ_DIST_PORT")
  export FLASHTIX_PG_PORT FLASHTIX_AMQP_PORT FLASHTIX_RABBITMQ_DIST_PORT FLASHTIX_EPMD_PORT
  port=19001
  while ((${#ports[@]} < 8)); do
    port=$(free_port "$port" "$FLASHTIX_PG_PORT" "$FLASHTIX_AMQP_PORT" "$FLASHTIX_RABBITMQ_DIST_PORT" \
      "$FLASHTIX_EPMD_PORT" "${ports[@]}")
    ports+=("$port")
    port=$((port + 1))
  done
  trap chaos_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Standard output is the JSON summary alone; what the set-up says goes to standard error.
  {
    chaos_reset_state
    ensure_passwords
    pg_init
    pg_start
    pg_create_role_and_db
    rabbit_start
  } >&2
  say >&2 "chaos run: seed $seed, ${duration}s, PostgreSQL on :$FLASHTIX_PG_PORT, RabbitMQ on :$FLASHTIX_AMQP_PORT," \
    "services on :${ports[0]}-${ports[7]}; logs in ${LOGS#"$ROOT"/}"
  args=(--ctl "$SELF" --bin-dir "$bin_dir" --logs "$LOGS"
    --ledger-sql "$ROOT/db/checks/ledger.sql" --seed "$seed" --duration "$duration"
    --psql "$(chaos_psql_json)"
    --ports "{\"inventory\": [${ports[0]}, ${ports[1]}], \"orders\": [${ports[2]}, ${ports[3]}], \"payments\": [${ports[4]}, ${ports[5]}], \"notifications\": [${ports[6]}, ${ports[7]}]}")
  # The chaos run's own tokens (in its state directory), handed to every instance chaos.py starts.
  ensure_secrets
  # The database's and each service's broker URL, with their passwords: in the environment, not on
  # chaos.py's command line.
  FLASHTIX_DATABASE_URL=$(pg_url)
  FLASHTIX_AMQP_URL_INVENTORY=$(amqp_url inventory) FLASHTIX_AMQP_URL_ORDERS=$(amqp_url orders)
  FLASHTIX_AMQP_URL_PAYMENTS=$(amqp_url payments) FLASHTIX_AMQP_URL_NOTIFICATIONS=$(amqp_url notifications)
  export FLASHTIX_DATABASE_URL FLASHTIX_AMQP_URL_INVENTORY FLASHTIX_AMQP_URL_ORDERS FLASHTIX_AMQP_URL_PAYMENTS \
    FLASHTIX_AMQP_URL_NOTIFICATIONS
  FLASHTIX_ADMIN_TOKEN_SHA256=$(token_sha256 admin) FLASHTIX_SERVICE_TOKEN_SHA256=$(token_sha256 service) \
    FLASHTIX_INVENTORY_TOKEN_FILE=$(secrets_dir)/service-token python3 "$ROOT/chaos/chaos.py" "${args[@]}"
}

# psql as the superuser over the private socket, tab-separated rows only, as a JSON list for chaos.py.
chaos_psql_json() {
  printf '["%s", "-X", "-q", "-A", "-t", "-F", "\\t", "-v", "ON_ERROR_STOP=1", "-h", "%s", "-p", "%s", "-U", "postgres", "-d", "flashtix"]\n' \
    "$PG_BIN/psql" "$(pg_socketdir)" "$(pg_port)"
}

# The faults chaos.py injects into the infrastructure, on the chaos run's own cluster and broker.
cmd_chaos_action() {
  local pid i
  chaos_state
  case ${1:-} in
    pg-stop-fast) as_pg "$PG_BIN/pg_ctl" stop -D "$(pg_datadir)" -m fast -w -s ;;
    pg-kill)
      pid=$(head -n 1 "$(pg_datadir)/postmaster.pid")
      kill -KILL "$pid"
      ;;
    pg-start)
      # After a kill -9 the server's children may still hold its shared memory for a moment.
      for ((i = 0; ; i++)); do
        (pg_start) >/dev/null 2>&1 && break
        ((i < 60)) || die "PostgreSQL did not start again; see ${LOGS#"$ROOT"/}/postgres.log"
        sleep 0.5
      done
      ;;
    rabbit-kill) pid=$(rabbit_pid) && kill -KILL "$pid" ;;
    rabbit-start) rabbit_start >/dev/null ;;
    queues)
      # Every queue and its messages (ready and unacknowledged), one "name count" a line.
      rabbit_ctl list_queues --no-table-headers name messages | awk 'NF == 2 { print $1, $2 }'
      ;;
    *) die "unknown chaos action '${1:-}'" ;;
  esac
}
