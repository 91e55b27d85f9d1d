# shellcheck shell=bash
# The secrets of a state directory (.flashtix/secrets, or the bench's and chaos run's own): the API tokens,
# the webhook secret and the passwords of the embedded PostgreSQL and RabbitMQ. Sourced by ./flashtix; the
# containers' init-secrets makes its secrets with these functions too.

# The admin and service tokens, made once per state directory (.flashtix/secrets/, mode 0600): 32 bytes
# from the kernel's CSPRNG as hex. The services get only their SHA-256 digests; orders reads the service
# token from its file to call inventory. To rotate a token, remove its file and start again.
secrets_dir() { printf '%s/secrets\n' "$STATE"; }

ensure_secrets() {
  local dir name
  dir=$(secrets_dir)
  mkdir -p "$dir"
  chmod 700 "$dir"
  for name in admin service; do
    [[ -s $dir/$name-token ]] && continue
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$dir/$name-token.tmp" && printf '\n' >>"$dir/$name-token.tmp")
    mv "$dir/$name-token.tmp" "$dir/$name-token"
  done
}

token_sha256() { head -n 1 "$(secrets_dir)/$1-token" | tr -d '\n' | sha256sum | cut -d ' ' -f 1; }

# The secret notifications signs every webhook with (Standard Webhooks: whsec_ and the base64 of 32 random
# bytes), made once like the tokens; give it to the receiver to verify deliveries. FLASHTIX_WEBHOOK_SECRET_FILE
# in the environment names a file of your own instead.
webhook_secret_file() { printf '%s\n' "${FLASHTIX_WEBHOOK_SECRET_FILE:-$(secrets_dir)/webhook-secret}"; }

ensure_webhook_secret() {
  local file
  file=$(secrets_dir)/webhook-secret
  [[ -s $file ]] && return 0
  (umask 077 && printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64 -w 0)" >"$file.tmp")
  mv "$file.tmp" "$file"
}

# The passwords of the embedded PostgreSQL's flashuser (db-password) and of each service's broker user
# (amqp-<service>-password), beside the tokens and made the same way, once per state directory. To rotate
# one, remove its file and start again (README "Security").
db_password_file() { printf '%s/db-password\n' "$(secrets_dir)"; }
broker_password_file() { printf '%s/amqp-%s-password\n' "$(secrets_dir)" "$1"; }

ensure_passwords() {
  local dir file entry files
  dir=$(secrets_dir)
  mkdir -p "$dir"
  chmod 700 "$dir"
  files=("$(db_password_file)")
  for entry in "${SERVICES[@]}"; do
    files+=("$(broker_password_file "${entry%%:*}")")
  done
  for file in "${files[@]}"; do
    [[ -s $file ]] && continue
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$file.tmp" && printf '\n' >>"$file.tmp")
    mv "$file.tmp" "$file"
  done
}

# A password as its file holds it. Only characters that need no escaping in a URL, in SQL or in JSON, so
# that one written by hand is used as it is.
read_password() {
  local password
  [[ -s $1 ]] || die "${1#"$ROOT"/} is missing (./flashtix up makes it)"
  password=$(head -n 1 "$1")
  [[ $password =~ ^[A-Za-z0-9._~-]+$ ]] || die "${1#"$ROOT"/} may hold only letters, digits and . _ ~ -"
  printf '%s\n' "$password"
}

db_password() { read_password "$(db_password_file)"; }
