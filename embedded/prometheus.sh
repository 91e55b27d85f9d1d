# shellcheck shell=bash
# The Prometheus of ./flashtix up --monitoring: one scrape job a service on the ports up started them on,
# the recording rules of deploy/prometheus, its data under the state directory. Sourced by ./flashtix.

PROMETHEUS_BIN=/usr/bin/prometheus
PROMETHEUS_START_TIMEOUT_SECONDS=30

prometheus_dir() { printf '%s/prometheus\n' "$STATE"; }

# The pid of the Prometheus up started. A recycled pid must not pass for it: its command line has to name
# this state directory's storage.
prometheus_pid() {
  local pid cmdline
  [[ -f $RUN/prometheus.pid ]] || return 1
  pid=$(<"$RUN/prometheus.pid")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == "$PROMETHEUS_BIN "*"--storage.tsdb.path=$(prometheus_dir)/data "* ]] || return 1
  printf '%s\n' "$pid"
}

# The port of the running Prometheus, else the one it would start on: a loopback port of its own, clear of
# 9090, where the prometheus package's own server listens wherever an init system starts it.
prometheus_port() {
  local port=${FLASHTIX_PROMETHEUS_PORT:-9190}
  if [[ -s $RUN/prometheus.port ]] && prometheus_pid >/dev/null; then
    port=$(<"$RUN/prometheus.port")
  fi
  check_port_number FLASHTIX_PROMETHEUS_PORT "$port"
  printf '%s\n' "$port"
}

# One scrape job a service, on the port up started it on, and the recording rules of deploy/prometheus.
prometheus_write_config() {
  local dir entry
  dir=$(prometheus_dir)
  mkdir -p "$dir"
  {
    cat <<EOF
# Written by ./flashtix up --monitoring at every start: one job a service, on the port up started it on.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - "$ROOT/deploy/prometheus/rules.yml"
scrape_configs:
EOF
    for entry in "${SERVICES[@]}"; do
      printf '  - job_name: %s\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' \
        "$(service_name "$entry")" "$(service_port "$entry")"
    done
  } >"$dir/prometheus.yml.tmp"
  mv "$dir/prometheus.yml.tmp" "$dir/prometheus.yml"
}

prometheus_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$1/-/ready" 2>/dev/null; }

prometheus_start() {
  local dir port pid deadline=$((SECONDS + PROMETHEUS_START_TIMEOUT_SECONDS))
  [[ -x $PROMETHEUS_BIN ]] || die "$PROMETHEUS_BIN is missing (./flashtix deps installs the prometheus package)"
  dir=$(prometheus_dir)
  prometheus_write_config
  if pid=$(prometheus_pid); then
    # The services' ports may have changed: SIGHUP makes it read its configuration again.
    kill -HUP "$pid"
    say "Prometheus already running (pid $pid) on 127.0.0.1:$(prometheus_port); its configuration reloaded"
    return 0
  fi
  rm -f "$RUN/prometheus.pid" "$RUN/prometheus.port"
  port=$(prometheus_port)
  if port_in_use "$port"; then
    die "port $port is in use; set FLASHTIX_PROMETHEUS_PORT=$((port + 1)) (or another free port)"
  fi
  say "starting Prometheus on 127.0.0.1:$port"
  printf -- '---- %s: ./flashtix up starts Prometheus on port %s\n' "$(date -u +%FT%TZ)" "$port" >>"$LOGS/prometheus.log"
  # setsid puts it in its own session, so it outlives this script and the terminal.
  setsid "$PROMETHEUS_BIN" "--config.file=$dir/prometheus.yml" "--storage.tsdb.path=$dir/data" \
    --storage.tsdb.retention.time=15d "--web.listen-address=127.0.0.1:$port" </dev/null >>"$LOGS/prometheus.log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$RUN/prometheus.pid"
  printf '%s\n' "$port" >"$RUN/prometheus.port"
  until prometheus_ready "$port" >/dev/null; do
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      printf '%sPrometheus did not answer http://127.0.0.1:%s/-/ready; last 15 lines of .flashtix/logs/prometheus.log:%s\n' \
        "$RED" "$port" "$RESET" >&2
      tail -n 15 "$LOGS/prometheus.log" >&2
      stop_pid Prometheus "$pid"
      rm -f "$RUN/prometheus.pid" "$RUN/prometheus.port"
      exit 1
    fi
    sleep 0.25
  done
}

prometheus_stop() {
  local pid
  if pid=$(prometheus_pid); then
    stop_pid Prometheus "$pid"
  fi
  rm -f "$RUN/prometheus.pid" "$RUN/prometheus.port"
}
