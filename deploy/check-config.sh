#!/usr/bin/env bash
# The deployment's configurations checked without a container engine (ctest: deploy_config_check): the
# scripts parse, HAProxy and Prometheus accept theirs, docker-compose accepts docker-compose.yml, every
# file the Dockerfile copies exists, no login is trusted, and the init container's secrets come out as
# each container expects them. HAProxy, Prometheus (promtool) and docker-compose are in ./flashtix's
# package list.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILED=0
CHECKED=0

# Runs one check; its output is shown only when it fails.
check() {
  local what=$1
  shift
  CHECKED=$((CHECKED + 1))
  if "$@" >"$WORK/out" 2>&1; then
    printf 'ok      %s\n' "$what"
  else
    printf 'FAILED  %s\n' "$what"
    sed 's/^/        /' "$WORK/out"
    FAILED=$((FAILED + 1))
  fi
}

need() {
  command -v "$1" >/dev/null || { printf '%s is missing (./flashtix deps installs it)\n' "$1"; return 1; }
}

scripts_parse() {
  local script
  for script in "$ROOT/flashtix" "$ROOT"/embedded/*.sh "$ROOT/bench/bench.sh" "$ROOT/chaos/chaos.sh" \
    "$ROOT/deploy/build-base-image.sh" "$ROOT/deploy/check-config.sh" "$ROOT"/deploy/container/*; do
    bash -n "$script" || { printf '%s does not parse\n' "$script"; return 1; }
  done
}

haproxy_config() {
  need haproxy && haproxy -c -f "$ROOT/deploy/haproxy.cfg"
}

prometheus_rules() {
  need promtool && promtool check rules "$ROOT/deploy/prometheus/rules.yml"
}

# The configuration ./flashtix up --monitoring writes, with its rule file, as promtool reads it.
prometheus_config() {
  need promtool || return 1
  # shellcheck disable=SC2016 # expanded by the inner bash
  bash -c 'source "$1"; STATE=$2; prometheus_write_config; promtool check config "$(prometheus_dir)/prometheus.yml"' \
    _ "$ROOT/flashtix" "$WORK/state"
}

compose_file() {
  need docker-compose && docker-compose --project-directory "$ROOT" -f "$ROOT/docker-compose.yml" config -q
}

# Every source of a COPY (but those from another stage) is in the repository and not left out of the
# build's context by .dockerignore, which keeps all but what it names with "!".
dockerfile_sources() {
  local line source bad=0 words
  while read -r line; do
    [[ $line == COPY* && $line != *--from=* ]] || continue
    read -ra words <<<"${line#COPY}"
    for source in "${words[@]:0:${#words[@]}-1}"; do
      [[ $source == \\ ]] && continue
      if [[ ! -e $ROOT/$source ]]; then
        printf 'Dockerfile copies %s, which does not exist\n' "$source"
        bad=1
      elif ! grep -qx "!${source%%/*}/\?" "$ROOT/.dockerignore"; then
        printf 'Dockerfile copies %s, which .dockerignore leaves out\n' "$source"
        bad=1
      fi
    done
  done < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$ROOT/Dockerfile")
  return "$bad"
}

no_trust() {
  local file
  for file in "$ROOT"/access/pg_hba*.conf; do
    if grep -Ev '^\s*(#|$)' "$file" | grep -qw trust; then
      printf '%s trusts a login\n' "$file"
      return 1
    fi
  done
}

# The init container's work, in a temporary directory: every container gets its files (mode 0400), the
# broker's definitions name exactly the users of access/rabbitmq-users, and a second run keeps the
# secrets it made and hands out the same.
container_secrets() {
  local init=$ROOT/deploy/container/init-secrets name file expected actual first
  "$init" --state "$WORK/secrets" --out "$WORK/out1" >/dev/null
  for file in postgres/db-password rabbitmq/definitions.json \
    {inventory,orders,payments,notifications}/{db-password,amqp-password,admin-token.sha256,service-token.sha256} \
    orders/service-token notifications/webhook-secret; do
    [[ -s $WORK/out1/$file ]] || { printf '%s was not handed out\n' "$file"; return 1; }
    [[ $(stat -c %a "$WORK/out1/$file") == 400 ]] || { printf '%s is not mode 0400\n' "$file"; return 1; }
  done
  for name in inventory payments notifications; do
    [[ ! -e $WORK/out1/$name/service-token ]] || { printf '%s got the service token\n' "$name"; return 1; }
  done
  for name in inventory orders payments; do
    [[ ! -e $WORK/out1/$name/webhook-secret ]] || { printf '%s got the webhook secret\n' "$name"; return 1; }
  done
  expected=$(grep -Ev '^\s*(#|$)' "$ROOT/access/rabbitmq-users" | awk '{print $1}' | sort | tr '\n' ' ')
  actual=$(python3 -c 'import json, sys; print(" ".join(sorted(u["name"] for u in json.load(open(sys.argv[1]))["users"])))' \
    "$WORK/out1/rabbitmq/definitions.json")
  [[ "$actual " == "$expected" ]] || { printf 'broker users %s, access/rabbitmq-users has %s\n' "$actual" "$expected"; return 1; }
  [[ $(head -n 1 "$WORK/out1/orders/service-token" | tr -d '\n' | sha256sum | cut -c1-64) == \
    $(cat "$WORK/out1/inventory/service-token.sha256") ]] || { printf 'the service token and its digest differ\n'; return 1; }
  first=$(cat "$WORK/out1/postgres/db-password")
  "$init" --state "$WORK/secrets" --out "$WORK/out2" >/dev/null
  [[ $(cat "$WORK/out2/postgres/db-password") == "$first" ]] || { printf 'a second run made a new password\n'; return 1; }
  [[ $("$init" --state "$WORK/secrets" print db-password) == "$first" ]] || { printf 'print db-password differs\n'; return 1; }
}

check 'the scripts parse (bash -n)' scripts_parse
check 'deploy/haproxy.cfg (haproxy -c)' haproxy_config
check 'deploy/prometheus/rules.yml (promtool check rules)' prometheus_rules
check 'the configuration of up --monitoring (promtool check config)' prometheus_config
check 'docker-compose.yml (docker-compose config)' compose_file
check 'the files the Dockerfile copies' dockerfile_sources
check 'no trust in access/pg_hba*.conf' no_trust
check 'the init container hands out the secrets' container_secrets

if ((FAILED)); then
  printf '%d passed, %d failed\n' "$((CHECKED - FAILED))" "$FAILED"
  exit 1
fi
printf '%d passed, 0 failed\n' "$CHECKED"
