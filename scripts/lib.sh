# Shared by scripts/run and scripts/test: installs what the project needs, when missing.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

# What the application itself needs: PDFs in Chinese (WeasyPrint), translations.
RUN_PACKAGES=(fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 gettext)
# What the test suite adds: the real engines, a browser, PDF text extraction.
TEST_PACKAGES=(postgresql redis-server chromium poppler-utils dovecot-imapd)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "Need root (or sudo) to run: $*" >&2; return 1
  fi
}

ensure_system_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  if ! python3 -c "import venv, ensurepip" 2>/dev/null; then missing+=(python3-venv); fi
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}

ensure_venv() {
  if [ ! -x "$PY" ]; then
    say "Creating the virtual environment in $VENV"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.requirements.sha256" want
  want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing Python packages (requirements.txt)"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -r "$ROOT/requirements.txt"
    echo "$want" > "$stamp"
  fi
}

compile_translations() {
  if compgen -G "$ROOT/locale/*/LC_MESSAGES/*.po" >/dev/null; then
    (cd "$ROOT" && "$PY" manage.py compilemessages -v0 --ignore=.venv)
  fi
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Throwaway servers on loopback, in a temporary folder: start_postgres DIR, start_redis
# DIR and start_imap DIR export DATABASE_URL / REDIS_URL / TEST_IMAP_URL; stop_services
# stops what was started.
PG_DATA="" REDIS_PORT="" IMAP_CONFIG=""

run_as_pg() {  # initdb refuses root: as root, run the cluster as the postgres user
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local dir="$1/pg" port
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  port="$(free_port)"
  mkdir -p "$dir"
  chmod 755 "$1"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  say "Starting a throwaway PostgreSQL on 127.0.0.1:$port"
  run_as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >/dev/null
  PG_DATA="$dir/data"
  run_as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$dir/log" -w start -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 ${PG_EXTRA_OPTIONS:-}" \
    >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

start_redis() {
  REDIS_PORT="$(free_port)"
  say "Starting a throwaway Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize yes --dir "$1" --logfile "$1/redis.log" --pidfile "$1/redis.pid"
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
}

start_imap() {  # Dovecot, IMAP without TLS on loopback, one user, maildir in DIR
  local dir="$1/imap" port user group login_user mail_user mail_group
  port="$(free_port)"
  mkdir -p "$dir/mail"
  chmod 755 "$1" "$dir"
  if [ "$(id -u)" = 0 ]; then
    # Dovecot's own unprivileged users run its processes; mail is never handled as root.
    user=dovecot group=dovecot login_user=dovenull mail_user=nobody mail_group=nogroup
    chown nobody:nogroup "$dir/mail"
  else
    user="$(id -un)" group="$(id -gn)"
    login_user="$user" mail_user="$user" mail_group="$group"
  fi
  printf 'intake:{PLAIN}intake-pass:%s:%s::%s::\n' "$(id -u "$mail_user")" \
    "$(getent group "$mail_group" | cut -d: -f3)" "$dir/mail" > "$dir/users"
  cat > "$dir/dovecot.conf" <<CONF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = $user
default_internal_group = $group
default_login_user = $login_user
first_valid_uid = 1
mail_location = maildir:$dir/mail/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $dir/users
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
  say "Starting a throwaway IMAP server (Dovecot) on 127.0.0.1:$port"
  /usr/sbin/dovecot -c "$dir/dovecot.conf"
  IMAP_CONFIG="$dir/dovecot.conf"
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1
  done
  export TEST_IMAP_URL="imap://intake:intake-pass@127.0.0.1:$port/INBOX"
}

stop_services() {
  if [ -n "$PG_DATA" ]; then
    run_as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    PG_DATA=""
  fi
  if [ -n "$REDIS_PORT" ]; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    REDIS_PORT=""
  fi
  if [ -n "$IMAP_CONFIG" ]; then
    /usr/sbin/dovecot -c "$IMAP_CONFIG" stop >/dev/null 2>&1 || true
    IMAP_CONFIG=""
  fi
}
