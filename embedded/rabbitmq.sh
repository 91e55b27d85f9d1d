# shellcheck shell=bash
# The embedded RabbitMQ node of ./flashtix (up, chaos): its directory under the state directory, its
# settings and environment (embedded/rabbitmq.conf and rabbitmq.env, shared with the test harness), its
# users (access/rabbitmq-users) and its own epmd. Sourced by ./flashtix; the test harness and the
# containers' init-secrets make the broker's users with rabbit_write_definitions.

# The server scripts themselves: /usr/sbin/rabbitmq-server and rabbitmqctl switch to the rabbitmq user
# and work in /var/lib/rabbitmq, the system node's home.
RABBIT_BIN=/usr/lib/rabbitmq/bin
RABBIT_NODENAME=flashtix@localhost
RABBIT_START_TIMEOUT_SECONDS=60
# A graceful stop flushes the message stores; it takes a few seconds, more with many queues.
RABBIT_STOP_TIMEOUT_SECONDS=30

rabbit_dir() { printf '%s/rabbitmq\n' "$STATE"; }

# "amqp dist epmd": the ports of the node up started (saved until down), else the ones it would start on.
# The defaults keep clear of a system node (5672 aside): its epmd is on 4369, its distribution on 25672.
rabbit_ports() {
  local amqp=${FLASHTIX_AMQP_PORT:-5672} dist=${FLASHTIX_RABBITMQ_DIST_PORT:-25673} epmd=${FLASHTIX_EPMD_PORT:-4370}
  if [[ -s $RUN/rabbitmq.ports ]]; then
    read -r amqp dist epmd <"$RUN/rabbitmq.ports"
  fi
  check_port_number FLASHTIX_AMQP_PORT "$amqp"
  check_port_number FLASHTIX_RABBITMQ_DIST_PORT "$dist"
  check_port_number FLASHTIX_EPMD_PORT "$epmd"
  printf '%s %s %s\n' "$amqp" "$dist" "$epmd"
}

amqp_port() {
  local ports
  ports=$(rabbit_ports)
  printf '%s\n' "${ports%% *}"
}

# The URL a service ($1) logs in with: its own broker user and password (access/rabbitmq-users), for its
# environment only, like pg_url. The trailing slash names the default vhost "/" (see src/core/amqp.cpp).
amqp_url() {
  local password
  password=$(read_password "$(broker_password_file "$1")")
  printf 'amqp://flashtix-%s:%s@127.0.0.1:%s/\n' "$1" "$password" "$(amqp_port)"
}

# Sets RABBIT_ENV to the arguments of env(1) that keep a node, and rabbitmqctl talking to it, inside
# .flashtix/rabbitmq: its own HOME (so its own Erlang cookie), config, plugin list, database, logs and
# ports (embedded/rabbitmq.env), and none of the RABBITMQ_* or ERL_* variables of the caller's shell.
rabbit_env() {
  local dir ports amqp dist epmd name line
  dir=$(rabbit_dir)
  ports=$(rabbit_ports)
  read -r amqp dist epmd <<<"$ports"
  RABBIT_ENV=()
  while read -r name; do
    if [[ $name == RABBITMQ_* || $name == ERL_* ]]; then
      RABBIT_ENV+=(-u "$name")
    fi
  done < <(compgen -e)
  while IFS= read -r line; do
    [[ -z $line || $line == '#'* ]] && continue
    # Quoted replacements: bash 5.2 would read an & in them as the matched text.
    line=${line//@DIR@/"$dir"}
    line=${line//@NODE@/"$RABBIT_NODENAME"}
    line=${line//@AMQP_PORT@/"$amqp"}
    line=${line//@DIST_PORT@/"$dist"}
    line=${line//@EPMD_PORT@/"$epmd"}
    RABBIT_ENV+=("$line")
  done <"$ROOT/embedded/rabbitmq.env"
}

# The node's files, from embedded/ as the test harness writes them, and its definitions.
rabbit_prepare() {
  local dir
  dir=$(rabbit_dir)
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  chmod 700 "$dir" "$dir/home"
  cp "$ROOT/embedded/enabled_plugins" "$ROOT/embedded/rabbitmq-env.conf" "$dir/"
  {
    cat "$ROOT/embedded/rabbitmq.conf"
    printf 'load_definitions = %s/definitions.json\n' "$dir"
  } >"$dir/rabbitmq.conf"
  rabbit_write_definitions "$(rabbit_dir)/definitions.json"
}

# RabbitMQ's password hash (rabbit_password_hashing_sha256): base64 of a 4-byte salt followed by the
# SHA-256 of the salt and the password. The password goes through a pipe, never onto a command line.
rabbit_password_hash() {
  local salt digest
  salt=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  digest=$({ printf '%b' "$(sed 's/../\\x&/g' <<<"$salt")"; printf '%s' "$1"; } | sha256sum | cut -c1-64)
  printf '%b' "$(sed 's/../\\x&/g' <<<"$salt$digest")" | base64 -w0
}

# The node's users, passwords and permissions (access/rabbitmq-users and the state directory's secrets), as
# the definitions file ($1) the node imports when it boots (mode 0600: it holds the password hashes).
rabbit_write_definitions() {
  local file=$1 user configure write read users='' permissions='' separator=''
  local password
  while read -r user configure write read; do
    [[ -z $user || $user == '#'* ]] && continue
    password=$(read_password "$(broker_password_file "${user#flashtix-}")")
    users+="$separator{\"name\": \"$user\", \"password_hash\": \"$(rabbit_password_hash "$password")\", \"hashing_algorithm\": \"rabbit_password_hashing_sha256\", \"tags\": \"\"}"
    # JSON strings: the patterns' backslashes doubled.
    permissions+="$separator{\"user\": \"$user\", \"vhost\": \"/\", \"configure\": \"${configure//\\/\\\\}\", \"write\": \"${write//\\/\\\\}\", \"read\": \"${read//\\/\\\\}\"}"
    separator=$',\n    '
  done <"$ROOT/access/rabbitmq-users"
  (umask 077 && cat >"$file.tmp" <<EOF
{
  "vhosts": [{"name": "/"}],
  "users": [
    $users
  ],
  "permissions": [
    $permissions
  ]
}
EOF
  )
  mv "$file.tmp" "$file"
}

rabbit_ctl() {
  rabbit_env
  env "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmqctl" -n "$RABBIT_NODENAME" -q "$@"
}

# After rabbit_start: the users of access/rabbitmq-users with the passwords of .flashtix/secrets, and no
# guest. A node booted by rabbit_start has them already; one that was running before (started by an older
# ./flashtix, which had guest and none of these users) gets them here.
rabbit_lock_down() {
  local users
  rabbit_write_definitions "$(rabbit_dir)/definitions.json"
  rabbit_ctl import_definitions "$(rabbit_dir)/definitions.json" >/dev/null
  users=$(rabbit_ctl list_users --no-table-headers | cut -f1)
  if grep -qx guest <<<"$users"; then
    say "removing RabbitMQ's guest user"
    rabbit_ctl delete_user guest >/dev/null
  fi
}

# The pid of the node's VM, from the pid file RabbitMQ writes. A recycled pid must not pass for it, so the
# command line has to name this node's HOME.
rabbit_pid() {
  local pidfile pid cmdline
  pidfile=$(rabbit_dir)/rabbitmq.pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *" -home $(rabbit_dir)/home "* ]] || return 1
  printf '%s\n' "$pid"
}

# The server script up launched, which runs the VM as its child; it outlives the VM only while booting.
rabbit_script_pid() {
  local pid cmdline
  [[ -f $RUN/rabbitmq.pid ]] || return 1
  pid=$(<"$RUN/rabbitmq.pid")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$RABBIT_BIN/rabbitmq-server"* ]] || return 1
  printf '%s\n' "$pid"
}

# Installing rabbitmq-server starts Debian's own node on 5672 (where an init system runs); name it when
# it is there.
amqp_port_in_use_hint() {
  if pgrep -u rabbitmq -x beam.smp >/dev/null 2>&1; then
    printf '\n  (most likely the node of the rabbitmq-server package, which runs; stop it with: service rabbitmq-server stop)'
  fi
}

rabbit_start() {
  local pid ports amqp dist epmd i log_offset launched
  if pid=$(rabbit_pid); then
    say "RabbitMQ already running (pid $pid) on 127.0.0.1:$(amqp_port)"
    return 0
  fi
  # Whatever a node that is gone left (a booting script, its epmd, its saved ports) goes first.
  rabbit_stop
  ports=$(rabbit_ports)
  read -r amqp dist epmd <<<"$ports"
  if port_in_use "$amqp"; then
    die "port $amqp is in use; set FLASHTIX_AMQP_PORT=$((amqp + 1)) (or another free port)$(amqp_port_in_use_hint)"
  fi
  if port_in_use "$dist"; then
    die "port $dist (RabbitMQ's Erlang distribution) is in use; set FLASHTIX_RABBITMQ_DIST_PORT=$((dist + 1)) (or another free port)"
  fi
  if port_in_use "$epmd"; then
    die "port $epmd (epmd, the Erlang port mapper) is in use; set FLASHTIX_EPMD_PORT=$((epmd + 1)) (or another free port)"
  fi
  rabbit_prepare
  # Saved before anything starts, so that down finds this epmd even if the node fails to boot.
  printf '%s\n' "$ports" >"$RUN/rabbitmq.ports"
  rabbit_env
  say "starting RabbitMQ on 127.0.0.1:$amqp"
  printf -- '---- %s: ./flashtix up starts RabbitMQ on port %s\n' "$(date -u +%FT%TZ)" "$amqp" >>"$LOGS/rabbitmq.log"
  log_offset=$(stat -c %s "$LOGS/rabbitmq.log")
  # Its own epmd on loopback, started first: a node that finds no epmd starts one on all interfaces.
  epmd -port "$epmd" -address 127.0.0.1 -daemon </dev/null >>"$LOGS/rabbitmq.log" 2>&1
  for ((i = 0; ; i++)); do
    epmd -port "$epmd" -names >/dev/null 2>&1 && break
    ((i < 50)) || die "epmd did not start on port $epmd; see .flashtix/logs/rabbitmq.log"
    sleep 0.1
  done
  # setsid puts the node in its own session, so it outlives this script and the terminal.
  env "${RABBIT_ENV[@]}" setsid "$RABBIT_BIN/rabbitmq-server" </dev/null >>"$LOGS/rabbitmq.log" 2>&1 &
  printf '%s\n' "$!" >"$RUN/rabbitmq.pid"
  # Until the forked shell has exec'd, its command line is still this script's, and rabbit_script_pid
  # would take the node for gone; on a busy machine that takes a moment.
  launched=$!
  for ((i = 0; i < 100; i++)); do
    alive "$launched" || break
    [[ $(tr '\0' ' ' <"/proc/$launched/cmdline" 2>/dev/null) == *"$RABBIT_BIN/rabbitmq-server"* ]] && break
    sleep 0.05
  done
  rabbit_wait "$amqp" "$log_offset"
}

rabbit_wait() {
  local amqp=$1 log_offset=$2 deadline=$((SECONDS + RABBIT_START_TIMEOUT_SECONDS)) why errors
  # The AMQP listener opens in the last step of the boot: once it accepts, the node is ready.
  until rabbit_pid >/dev/null && port_in_use "$amqp"; do
    if ! rabbit_script_pid >/dev/null; then
      why='RabbitMQ exited while starting'
    elif ((SECONDS >= deadline)); then
      why="RabbitMQ did not accept AMQP connections on 127.0.0.1:$amqp within ${RABBIT_START_TIMEOUT_SECONDS}s"
    else
      sleep 0.25
      continue
    fi
    printf '%s%s%s\n' "$RED" "$why" "$RESET" >&2
    # The cause comes first in a failed boot; a long crash report follows it.
    errors=$(tail -c +"$((log_offset + 1))" "$LOGS/rabbitmq.log" | grep -i -m 10 error || true)
    if [[ -n $errors ]]; then
      printf 'first errors of this start:\n%s\n' "$errors" >&2
    fi
    printf 'last 15 lines of .flashtix/logs/rabbitmq.log:\n' >&2
    tail -n 15 "$LOGS/rabbitmq.log" >&2
    rabbit_stop
    exit 1
  done
}

# Stops the node, the server script of a node still booting and the epmd up started, whichever there are.
rabbit_stop() {
  local pid ports epmd i
  if pid=$(rabbit_pid); then
    # SIGTERM is RabbitMQ's graceful shutdown, the same as rabbitmqctl stop.
    stop_pid RabbitMQ "$pid" "$RABBIT_STOP_TIMEOUT_SECONDS"
  fi
  if pid=$(rabbit_script_pid); then
    # The script passes SIGTERM on to a VM too early in its boot to have written its pid file; both are
    # in the script's process group.
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT_SECONDS * 10; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  # Only the epmd whose port up saved: never one that serves a system node.
  if [[ -s $RUN/rabbitmq.ports ]]; then
    ports=$(rabbit_ports)
    epmd=${ports##* }
    epmd -port "$epmd" -kill >/dev/null 2>&1 || true
  fi
  rm -f "$RUN/rabbitmq.pid" "$RUN/rabbitmq.ports"
}
