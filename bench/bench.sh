# shellcheck shell=bash
# ./flashtix bench: the flash-sale scenarios of bench/ against a PostgreSQL and services of its own (under
# .flashtix/bench, on free ports), so it never disturbs what ./flashtix up runs. Sourced by ./flashtix when
# the bench command runs; it starts the cluster and the services with the helpers of up.

# Only ./flashtix bench draws its history.
BENCH_PACKAGES=(gnuplot-nox)
# Only ./flashtix bench --screenshot drives a browser.
SCREENSHOT_PACKAGES=(chromium python3-websocket)

BENCH_SCENARIOS=(ceiling hot-orders hot-reserve sellout spread buyer-limit tiers)
BENCH_CONNECTIONS=64
BENCH_SELLOUT_CONNECTIONS=256
BENCH_SELLOUT_TICKETS=10000
BENCH_SELLOUT_DEMAND=4 # requests per ticket in sellout
BENCH_HOT_TICKETS=10000000 # more than a run can sell
BENCH_SPREAD_EVENTS=1000
BENCH_SPREAD_TICKETS=1000000
BENCH_QUANTITY=1
BENCH_TICKETS_PER_BUYER=4 # the event's max_tickets_per_buyer in buyer-limit
# tiers: one event of BENCH_HOT_TICKETS with three ticket types, "name:price_minor:quota:max_per_order", the
# first its default. The quotas add up to more than the event holds, so the types share its capacity; each
# is far above what a run sells (a third of the orders each), so no type sells out.
BENCH_TIERS_TYPES=(General:4500:6000000:4 Tribune:8900:3000000:4 VIP:19900:2000000:2)
BENCH_TIERS_OPENS_AFTER_MS=2000 # the sale opens this long after wrk starts
BENCH_TIERS_REFRESH_MS=200      # before it, each connection asks once every this long
BENCH_CEILING_SECONDS=10
BENCH_DEFAULT_SECONDS=20
# After its deadline each connection waits for its last answer; a run that has not drained after this
# many more seconds is ended anyway and its missing answers count as errors.
BENCH_DRAIN_LIMIT_SECONDS=30
BENCH_SELLOUT_LIMIT_SECONDS=600
BENCH_WRK_TIMEOUT_SECONDS=5

bench_usage() {
  cat <<'EOF2'
usage: ./flashtix bench [scenario...] [--duration S] [--runs N] [--profile]

  scenarios (all by default, in this order): ceiling hot-orders hot-reserve sellout spread buyer-limit tiers
  --duration S   seconds of load for every scenario but sellout (default 10 for ceiling, 20 others; in
                 tiers, counted from the sale's opening)
  --runs N       run every scenario N times and report medians (default 1)
  --profile      sample CPU per process and PostgreSQL waits in every scenario (default: hot-orders only)
  --screenshot   sellout: the live sale page in headless Chromium, photographed while the tickets go

See bench/README.md.
EOF2
}


# Stops whatever an earlier bench left running and starts from an empty state directory.
bench_reset_state() {
  if [[ -d $STATE ]]; then
    service_stop orders
    service_stop inventory
    if [[ -e $STATE/pg/postmaster.pid ]]; then
      pg_stop
    fi
  fi
  rm -rf "$STATE" "$(own_cluster_dir bench)"
  mkdir -p "$LOGS" "$RUN" "$BENCH_OUT"
}

# Runs on every exit, Ctrl-C included: nothing the bench started outlives it.
bench_cleanup() {
  local status=$? pid
  trap - EXIT INT TERM
  for pid in "${BENCH_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  service_stop orders || true
  service_stop inventory || true
  pg_stop || true
  exit "$status"
}

bench_admin_psql() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socketdir)" -p "$(pg_port)" -U postgres -d flashtix "$@"
}

bench_admin_conninfo() { printf 'host=%s port=%s user=postgres dbname=flashtix\n' "$(pg_socketdir)" "$(pg_port)"; }

bench_start() {
  local pg_port inventory_port orders_port durable
  pg_port=$(free_port 25432)
  inventory_port=$(free_port 18001)
  orders_port=$(free_port 18002 "$inventory_port")
  # The helpers of ./flashtix up read these, so they start the bench's own copies.
  export FLASHTIX_PG_PORT=$pg_port FLASHTIX_INVENTORY_PORT=$inventory_port FLASHTIX_ORDERS_PORT=$orders_port
  # The bench measures the buyer's path (reserve and record). No broker listens on this port: the
  # order events wait in the outbox (emptied between scenarios) and never reach a broker that
  # ./flashtix up may be running.
  FLASHTIX_AMQP_PORT=$(free_port 15672 "$pg_port" "$inventory_port" "$orders_port")
  export FLASHTIX_AMQP_PORT
  # The whole crowd is wrk on 127.0.0.1: the per-address limit on anonymous calls still runs for every
  # request, with a bucket too large to refuse any.
  export FLASHTIX_RATE_LIMIT_PER_SECOND=1000000000 FLASHTIX_RATE_LIMIT_BURST=1000000000
  own_cluster_prepare bench
  ensure_passwords
  pg_init
  cat >>"$(pg_datadir)/postgresql.conf" <<'EOF2'

# ./flashtix bench: every figure is quoted with durable commits.
fsync = on
synchronous_commit = on
full_page_writes = on
log_lock_waits = on
EOF2
  if ((BENCH_PROFILE)); then
    # --profile also counts the time of every statement; a bench without it pays nothing for that.
    printf "shared_preload_libraries = 'pg_stat_statements'\n" >>"$(pg_datadir)/postgresql.conf"
  fi
  pg_start
  pg_create_role_and_db
  pg_preallocate_wal
  if ((BENCH_PROFILE)); then
    bench_admin_psql -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null
  fi
  durable=$(bench_admin_psql -Atc "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')")
  [[ $durable == 'on on' ]] || die "the bench cluster must run with fsync = on and synchronous_commit = on, has: $durable"
  service_start inventory:18001
  service_start orders:18002
  service_wait inventory:18001
  service_wait orders:18002
  BENCH_INVENTORY_URL=http://127.0.0.1:$inventory_port
  BENCH_ORDERS_URL=http://127.0.0.1:$orders_port
  say "bench cluster: PostgreSQL 15 on 127.0.0.1:$pg_port (fsync = on, synchronous_commit = on)," \
    "inventory on :$inventory_port, orders on :$orders_port"
}

# Every scenario starts from empty tables and a fresh checkpoint, so runs do not inherit each other's rows
# or an unlucky checkpoint. The migration bookkeeping stays.
bench_reset_db() {
  bench_admin_psql >/dev/null <<'EOF2'
SELECT 'TRUNCATE ' || string_agg(format('%I.%I', schemaname, tablename), ', ')
  FROM pg_tables
 WHERE schemaname IN ('inventory', 'orders', 'payments', 'notifications') AND tablename <> 'schema_migrations'
HAVING count(*) > 0\gexec
VACUUM ANALYZE;
CHECKPOINT;
EOF2
}

# Creates $1 events of $2 tickets each, at most $3 per buyer (no limit without); prints the first id
# (the ids are consecutive).
bench_create_events() {
  local count=$1 tickets=$2 per_buyer=${3:-NULL} row first n last
  row=$(flashuser_psql -q -At -v ON_ERROR_STOP=1 -F ' ' -c "
    WITH e AS (INSERT INTO inventory.events (name, total_tickets, available_tickets, max_tickets_per_buyer)
               SELECT 'bench event ' || g, $tickets, $tickets, $per_buyer FROM generate_series(1, $count) g
               RETURNING id)
    SELECT min(id), count(*), max(id) FROM e")
  read -r first n last <<<"$row"
  ((n == count && last - first + 1 == count)) || die "could not create $count consecutive events (got: $row)"
  printf '%s\n' "$first"
}

# tiers: one event of BENCH_HOT_TICKETS whose default type and two more are BENCH_TIERS_TYPES; prints the
# event id and the types' ids, comma-separated ("12 40,41,42"). The event's trigger made its default type;
# it becomes the first of the list.
bench_create_tiers_event() {
  local event spec name price quota max types=() ids
  event=$(bench_create_events 1 "$BENCH_HOT_TICKETS")
  for spec in "${BENCH_TIERS_TYPES[@]}"; do
    IFS=: read -r name price quota max <<<"$spec"
    types+=("('$name', $price, $quota, $max, ${#types[@]})")
  done
  ids=$(flashuser_psql -q -At -v ON_ERROR_STOP=1 -c "
    WITH spec (name, price_minor, quota, max_per_order, n) AS (VALUES $(IFS=,; printf '%s' "${types[*]}")),
    first AS (UPDATE inventory.ticket_types t
                 SET name = s.name, price_minor = s.price_minor, quota = s.quota, available_tickets = s.quota,
                     sold_tickets = 0, min_per_order = 1, max_per_order = s.max_per_order
                FROM spec s
               WHERE t.event_id = $event AND t.is_default AND s.n = 0
              RETURNING t.id),
    others AS (INSERT INTO inventory.ticket_types
                 (event_id, name, is_default, price_minor, min_per_order, max_per_order, quota, available_tickets,
                  sold_tickets)
               SELECT $event, name, false, price_minor, 1, max_per_order, quota, quota, 0 FROM spec WHERE n > 0
               ORDER BY n
               RETURNING id)
    SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM first UNION ALL SELECT id FROM others) i")
  [[ $ids =~ ^[0-9]+(,[0-9]+){2}$ ]] || die "could not give event $event its ticket types (got: $ids)"
  printf '%s %s\n' "$event" "$ids"
}

# The share of the machine's CPU in use over one second, in percent: other work skews every figure.
bench_machine_busy() {
  local before after total=0 idle i
  read -ra before </proc/stat
  sleep 1
  read -ra after </proc/stat
  # cpu user nice system idle iowait irq softirq steal
  for i in 1 2 3 4 5 6 7 8; do
    total=$((total + after[i] - before[i]))
  done
  idle=$((after[4] - before[4] + after[5] - before[5]))
  printf '%s\n' "$((total > 0 ? 100 * (total - idle) / total : 0))"
}

bench_log_size() { stat -c %s "$LOGS/$1.log" 2>/dev/null || echo 0; }

# Warnings and errors the services logged since the given offsets: "name:offset" pairs.
bench_log_findings() {
  local entry name offset lines
  for entry in "$@"; do
    name=${entry%%:*}
    offset=${entry##*:}
    lines=$(tail -c +"$((offset + 1))" "$LOGS/$name.log" | grep -E '^[0-9TZ:.-]+ (warn|error) ' || true)
    [[ -n $lines ]] || continue
    printf '    %s logged %s warning/error line(s); the first ones:\n' "$name" "$(wc -l <<<"$lines")"
    sed -n '1,5p' <<<"$lines" | cut -c1-300 | sed 's/^/      /'
  done
}

# One scenario, once: fresh tables, wrk until every connection has its last answer, then the books.
# Waits (at most 30 s) until a helper started beside the load writes its ready file ($1), or its process
# ($2) has ended: either way the load can start.
bench_wait_ready() {
  local i
  for ((i = 0; i < 300; i++)); do
    if [[ -e $1 ]] || ! alive "$2"; then
      return 0
    fi
    sleep 0.1
  done
}

bench_scenario() {
  local scenario=$1 run=$2 mode url connections=$BENCH_CONNECTIONS duration_ms=0 requests=0
  local first_event=0 events=1 limit expect_sold='' threads out done_dir wrk_pid profile_pid='' screenshot_pid=''
  local rps check_rc=0 result_rc=0 finished i entry busy ceiling_args=() inventory_log orders_log buyers=0
  local ticket_types='' opens_ms=0 tiers_args=()
  threads=$(nproc)
  case $scenario in
    ceiling)
      mode=health url=$BENCH_ORDERS_URL/health duration_ms=$((${BENCH_DURATION:-$BENCH_CEILING_SECONDS} * 1000))
      ;;
    hot-orders | hot-reserve)
      duration_ms=$((${BENCH_DURATION:-$BENCH_DEFAULT_SECONDS} * 1000))
      ;;
    buyer-limit)
      # hot-orders with a per-buyer limit on the event: every order names its buyer, each a new one.
      duration_ms=$((${BENCH_DURATION:-$BENCH_DEFAULT_SECONDS} * 1000)) buyers=1
      ;;
    sellout)
      connections=$BENCH_SELLOUT_CONNECTIONS requests=$((BENCH_SELLOUT_TICKETS * BENCH_SELLOUT_DEMAND))
      expect_sold=$BENCH_SELLOUT_TICKETS
      ;;
    spread)
      duration_ms=$((${BENCH_DURATION:-$BENCH_DEFAULT_SECONDS} * 1000)) events=$BENCH_SPREAD_EVENTS
      ;;
    tiers)
      # hot-orders on an event with three ticket types, whose sale opens once the crowd is there: the
      # duration counts from the opening.
      duration_ms=$((${BENCH_DURATION:-$BENCH_DEFAULT_SECONDS} * 1000))
      ;;
  esac
  case $scenario in
    hot-reserve) mode=reserve url=$BENCH_INVENTORY_URL/inventory/reserve ;;
    hot-orders | sellout | spread | buyer-limit | tiers) mode=orders url=$BENCH_ORDERS_URL/orders ;;
  esac

  bench_reset_db
  case $scenario in
    hot-orders | hot-reserve) first_event=$(bench_create_events 1 "$BENCH_HOT_TICKETS") ;;
    buyer-limit) first_event=$(bench_create_events 1 "$BENCH_HOT_TICKETS" "$BENCH_TICKETS_PER_BUYER") ;;
    sellout) first_event=$(bench_create_events 1 "$BENCH_SELLOUT_TICKETS") ;;
    spread) first_event=$(bench_create_events "$BENCH_SPREAD_EVENTS" "$BENCH_SPREAD_TICKETS") ;;
    tiers)
      read -r first_event ticket_types <<<"$(bench_create_tiers_event)"
      [[ -n $ticket_types ]] || die "could not create the event of tiers"
      ;;
  esac

  if ((duration_ms > 0)); then
    limit=$((duration_ms / 1000 + BENCH_DRAIN_LIMIT_SECONDS))
    printf '  %s (run %s): %s connections, %s s%s\n' "$scenario" "$run" "$connections" "$((duration_ms / 1000))" \
      "$( ((events > 1)) && printf ', %s events' "$events")$([[ -n $ticket_types ]] &&
        printf ' from the opening, %s ticket types (%s); the sale opens %s ms after the load starts' \
          "${#BENCH_TIERS_TYPES[@]}" "${BENCH_TIERS_TYPES[*]%%:*}" "$BENCH_TIERS_OPENS_AFTER_MS")"
  else
    limit=$BENCH_SELLOUT_LIMIT_SECONDS
    printf '  %s (run %s): %s connections, %s requests for %s tickets\n' "$scenario" "$run" "$connections" \
      "$requests" "$BENCH_SELLOUT_TICKETS"
  fi
  out=$BENCH_OUT/run$run-$scenario
  done_dir=$out.done
  mkdir -p "$done_dir"
  inventory_log=$(bench_log_size inventory)
  orders_log=$(bench_log_size orders)
  busy=$(bench_machine_busy)
  if ((busy > 15)); then
    note "$busy% of the machine was busy with other work just before $scenario: its figures will be low and noisy"
  fi

  if ((BENCH_PROFILE)); then
    bench_admin_psql -c 'SELECT pg_stat_statements_reset()' >/dev/null
  fi
  if [[ $scenario == hot-orders ]] || ((BENCH_PROFILE)); then
    # Started first and told wrk's pid once wrk runs, so that its own start-up is not in the window.
    python3 "$ROOT/bench/bench.py" profile --pid-file "$out.wrk.pid" \
      --pid "inventory=$(service_pid inventory)" --pid "orders=$(service_pid orders)" \
      --postmaster "$(pg_pidfile_line 1)" --psql "$PG_BIN/psql" --database-url "$(bench_admin_conninfo)" \
      --ready-file "$out.profile.ready" --out "$out.profile.json" &
    profile_pid=$!
    BENCH_PIDS+=("$profile_pid")
    bench_wait_ready "$out.profile.ready" "$profile_pid"
  fi

  if ((BENCH_SCREENSHOT)) && [[ $scenario == sellout ]]; then
    # The sale page in headless Chromium, connected before the crowd arrives; it takes its screenshot once
    # the page shows tickets held and tickets left.
    /usr/bin/python3 "$ROOT/bench/sale_screenshot.py" --url "$BENCH_INVENTORY_URL/?events=$first_event" \
      --out "$BENCH_HISTORY/sellout-page-run$run.png" --ready-file "$out.page.ready" --seconds 60 \
      >"$out.page.json" 2>"$out.page.log" &
    screenshot_pid=$!
    BENCH_PIDS+=("$screenshot_pid")
    bench_wait_ready "$out.page.ready" "$screenshot_pid"
  fi

  if [[ -n $ticket_types ]]; then
    # The sale opens a fixed time after wrk starts. The event row is read by the batch that holds it, and no
    # request has touched the event yet, so the services see this window from the first request on.
    opens_ms=$(($(date +%s%3N) + BENCH_TIERS_OPENS_AFTER_MS))
    flashuser_psql -q -v ON_ERROR_STOP=1 \
      -c "UPDATE inventory.events SET sales_start = to_timestamp($opens_ms / 1000.0) WHERE id = $first_event"
    limit=$((limit + BENCH_TIERS_OPENS_AFTER_MS / 1000 + 1))
  fi
  wrk -t "$threads" -c "$connections" -d "${limit}s" --timeout "${BENCH_WRK_TIMEOUT_SECONDS}s" \
    -s "$ROOT/bench/flashsale.lua" "$url" -- \
    "mode=$mode" "threads=$threads" "duration_ms=$duration_ms" "requests=$requests" \
    "first_event=$first_event" "events=$events" "quantity=$BENCH_QUANTITY" "buyers=$buyers" \
    "ticket_types=$ticket_types" "opens_ms=$opens_ms" "refresh_ms=$BENCH_TIERS_REFRESH_MS" \
    "nonce=$(date +%s)-$run" "done_dir=$done_dir" >"$out.wrk" 2>&1 &
  wrk_pid=$!
  BENCH_PIDS+=("$wrk_pid")
  printf '%s\n' "$wrk_pid" >"$out.wrk.pid"

  # wrk itself only stops at -d: end it (SIGINT, which makes it report) once every thread has drained.
  # Builtins only in this loop: it runs during the measurement.
  while alive "$wrk_pid"; do
    finished=0
    for entry in "$done_dir"/*; do
      if [[ -e $entry ]]; then finished=$((finished + 1)); fi
    done
    if ((finished >= threads)); then
      for ((i = 0; i < 20; i++)); do
        if ((i % 5 == 0)); then
          kill -INT "$wrk_pid" 2>/dev/null || true
        fi
        alive "$wrk_pid" || break
        sleep 0.1
      done
    fi
    sleep 0.25
  done
  wait "$wrk_pid" || true
  [[ -z $profile_pid ]] || wait "$profile_pid" || true
  if ((BENCH_PROFILE)); then
    # Read now: the ledger check below runs as the services' role, and is not part of the load.
    python3 "$ROOT/bench/bench.py" statements --psql "$PG_BIN/psql" --database-url "$(bench_admin_conninfo)" \
      --save "$out.statements.json"
  fi
  if [[ -n $screenshot_pid ]]; then
    if wait "$screenshot_pid"; then
      printf '  the sale page during the sell-out: %s (%s)\n' "${BENCH_HISTORY#"$ROOT"/}/sellout-page-run$run.png" \
        "$(cat "$out.page.json")"
    else
      note "the sale page screenshot failed: $(tail -n 3 "$out.page.log")"
    fi
  fi
  BENCH_PIDS=()

  # Compensations after failures run off the request path; give them a moment to land.
  sleep 1
  for entry in inventory orders; do
    if ! service_pid "$entry" >/dev/null; then
      printf '%s%s died during %s; last 30 lines of %s:%s\n' "$RED" "$entry" "$scenario" "$LOGS/$entry.log" "$RESET" >&2
      tail -n 30 "$LOGS/$entry.log" >&2
      die "a service crashed; the bench cannot go on"
    fi
  done

  (FLASHTIX_DATABASE_URL=$(pg_url) cmd_check) >"$out.check" 2>&1 || check_rc=$?
  if ((check_rc != 0)); then
    sed 's/^/    /' "$out.check"
  fi
  if [[ $scenario != ceiling && -n ${BENCH_CEILING_RPS[$run]:-} ]]; then
    ceiling_args=(--ceiling-rps "${BENCH_CEILING_RPS[$run]}")
  fi
  if [[ -n $ticket_types ]]; then
    tiers_args=(--ticket-types "$ticket_types")
  fi
  if [[ $scenario == tiers && -n ${BENCH_HOT_ORDERS_RPS[$run]:-} ]]; then
    tiers_args+=(--hot-orders-rps "${BENCH_HOT_ORDERS_RPS[$run]}")
  fi
  python3 "$ROOT/bench/bench.py" result --scenario "$scenario" --run "$run" --mode "$mode" \
    --wrk-output "$out.wrk" --quantity "$BENCH_QUANTITY" --cores "$(nproc)" --connections "$connections" \
    --timeout-s "$BENCH_WRK_TIMEOUT_SECONDS" --machine-busy-before "$busy" \
    "${ceiling_args[@]}" "${tiers_args[@]}" ${expect_sold:+--expect-sold "$expect_sold"} --check-rc "$check_rc" \
    --psql "$PG_BIN/psql" --database-url "$(bench_admin_conninfo)" --results "$BENCH_OUT/results.jsonl" || result_rc=$?
  if [[ $scenario == ceiling || $scenario == hot-orders ]]; then
    rps=$(python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print([r for r in rows if r["scenario"] == sys.argv[3] and r["run"] == int(sys.argv[2])][-1]["requests_per_s"])' \
      "$BENCH_OUT/results.jsonl" "$run" "$scenario")
    if [[ $scenario == ceiling ]]; then BENCH_CEILING_RPS[run]=$rps; else BENCH_HOT_ORDERS_RPS[run]=$rps; fi
  fi
  if [[ -s $out.profile.json ]]; then
    python3 "$ROOT/bench/bench.py" show-profile --profile "$out.profile.json" --scenario "$scenario" \
      --ok "$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["ok"])' \
        "$BENCH_OUT/results.jsonl")" | sed 's/^/  /'
  fi
  if ((BENCH_PROFILE)); then
    python3 "$ROOT/bench/bench.py" statements --saved "$out.statements.json" \
      --ok "$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["ok"])' \
        "$BENCH_OUT/results.jsonl")" | sed 's/^/  /'
  fi
  bench_log_findings "inventory:$inventory_log" "orders:$orders_log"
  ((result_rc == 0)) || BENCH_BROKEN=1
}

cmd_bench() {
  local scenarios=() runs=1 run scenario name commit
  BENCH_DURATION='' BENCH_PROFILE=0 BENCH_SCREENSHOT=0 BENCH_BROKEN=0 BENCH_PIDS=() BENCH_CEILING_RPS=() BENCH_HOT_ORDERS_RPS=()
  while (($#)); do
    case $1 in
      --duration) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--duration needs a whole number of seconds"; BENCH_DURATION=$2; shift ;;
      --duration=*) BENCH_DURATION=${1#*=}; [[ $BENCH_DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration needs a whole number of seconds" ;;
      --runs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"; runs=$2; shift ;;
      --runs=*) runs=${1#*=}; [[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number" ;;
      --profile) BENCH_PROFILE=1 ;;
      --screenshot) BENCH_SCREENSHOT=1 ;;
      -h | --help) bench_usage; return 0 ;;
      -*) bench_usage >&2; exit 2 ;;
      *)
        [[ " ${BENCH_SCENARIOS[*]} " == *" $1 "* ]] || die "unknown scenario '$1' (one of: ${BENCH_SCENARIOS[*]})"
        scenarios+=("$1")
        ;;
    esac
    shift
  done
  # The listed order, whatever order they were named in.
  local selected=()
  for name in "${BENCH_SCENARIOS[@]}"; do
    if ((${#scenarios[@]} == 0)) || [[ " ${scenarios[*]} " == *" $name "* ]]; then
      selected+=("$name")
    fi
  done

  cmd_deps "${BENCH_PACKAGES[@]}"
  if ((BENCH_SCREENSHOT)); then
    cmd_deps "${SCREENSHOT_PACKAGES[@]}"
  fi
  command -v python3 >/dev/null || die "python3 is needed to summarise the results"
  say "building (Release) in $RELEASE_DIR"
  mkdir -p "$STATE"
  # The compiler's output goes to a log, shown only when the build fails, so the figures stay readable.
  if ! build_services >"$STATE/bench-build.log" 2>&1; then
    tail -n 40 "$STATE/bench-build.log" >&2
    die "build failed; the whole output is in .flashtix/bench-build.log"
  fi

  BENCH_STARTED=$(date -u +%FT%TZ)
  BENCH_HISTORY=$ROOT/.flashtix/bench-history
  mkdir -p "$BENCH_HISTORY"
  # From here on the helpers of ./flashtix up work on the bench's state directory.
  STATE=$ROOT/.flashtix/bench
  LOGS=$STATE/logs
  RUN=$STATE/run
  BENCH_OUT=$STATE/results
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  bench_reset_state
  bench_start

  printf '\n%sFlashTix bench%s: %s, %s runs, %s cores, load average %s\n' "$BOLD" "$RESET" "${selected[*]}" "$runs" \
    "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  for ((run = 1; run <= runs; run++)); do
    for scenario in "${selected[@]}"; do
      bench_scenario "$scenario" "$run"
    done
  done

  if commit=$(git rev-parse --short HEAD 2>/dev/null); then
    git diff --quiet HEAD 2>/dev/null || commit="$commit+changes"
  else
    commit="uncommitted tree"
  fi
  python3 "$ROOT/bench/bench.py" report --results "$BENCH_OUT/results.jsonl" --runs "$runs" \
    --commit "$commit" --date "$(date -u +%F)" || BENCH_BROKEN=1
  printf '\nraw results: %s\n' "${BENCH_OUT#"$ROOT"/}"
  # Kept across benches (the bench's own state is wiped at every start), so that a slowdown shows.
  mkdir -p "$BENCH_HISTORY"
  python3 "$ROOT/bench/bench.py" history --results "$BENCH_OUT/results.jsonl" --history "$BENCH_HISTORY/results.jsonl" \
    --bench "$BENCH_STARTED" --commit "$commit" --date "$(date -u +%F)" || true
  python3 "$ROOT/bench/bench.py" chart --history "$BENCH_HISTORY/results.jsonl" --out "$BENCH_HISTORY/bench.svg" ||
    note "the chart could not be drawn"
  if ((BENCH_BROKEN)); then
    printf '%sthe ledger did not balance in at least one scenario%s\n' "$RED" "$RESET" >&2
    exit 1
  fi
}
