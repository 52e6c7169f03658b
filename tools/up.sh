#!/usr/bin/env bash
# Brings the whole suite up on this machine: installs what it needs, starts Postgres and NATS if they
# are not running, migrates, starts the seven services as separate processes, and prints the gateway
# URL and the admin key. Logs and pid files go to .ferry/. A service that dies is started again after
# a short back-off (tools/supervise.sh). `npm run down` stops the services.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES=(vm-operator inspector volume-daemon cleanup host-capability observer gateway)
STATE=.ferry
mkdir -p "$STATE/logs" "$STATE/pids"

bash tools/ensure-infra.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ferry}"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
export PORT="${PORT:-8080}"
db=$(node -e 'console.log(new URL(process.argv[1]).pathname.slice(1))' "$DATABASE_URL")
admin_url=$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/postgres"; console.log(u.toString())' "$DATABASE_URL")
if [ "$(psql "$admin_url" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  psql "$admin_url" -qc "CREATE DATABASE \"$db\"" >/dev/null
fi

if [ -z "${FERRY_ADMIN_API_KEY:-}" ]; then
  if [ ! -s "$STATE/admin-key" ]; then
    (umask 077; node -e '
      const c = require("node:crypto");
      const a = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
      const id = Array.from(c.randomBytes(12), (b) => a[b % a.length]).join("");
      console.log(`fry_${id}_${c.randomBytes(32).toString("base64url")}`);
    ' > "$STATE/admin-key")
  fi
  FERRY_ADMIN_API_KEY=$(cat "$STATE/admin-key")
fi
export FERRY_ADMIN_API_KEY

# The key that encrypts vCenter credentials at rest; kept, so a restarted inspector can resume a run.
if [ -z "${INSPECTOR_CREDENTIALS_KEY:-}" ]; then
  [ -s "$STATE/inspector-credentials-key" ] || (umask 077; node -e 'console.log(require("node:crypto").randomBytes(32).toString("base64"))' > "$STATE/inspector-credentials-key")
  INSPECTOR_CREDENTIALS_KEY=$(cat "$STATE/inspector-credentials-key")
fi
export INSPECTOR_CREDENTIALS_KEY
# The same for migrations (cleanup): a restarted cleanup goes on with a migration.
if [ -z "${CLEANUP_CREDENTIALS_KEY:-}" ]; then
  [ -s "$STATE/cleanup-credentials-key" ] || (umask 077; node -e 'console.log(require("node:crypto").randomBytes(32).toString("base64"))' > "$STATE/cleanup-credentials-key")
  CLEANUP_CREDENTIALS_KEY=$(cat "$STATE/cleanup-credentials-key")
fi
export CLEANUP_CREDENTIALS_KEY

bash tools/down.sh >/dev/null 2>&1 || true

for svc in "${SERVICES[@]}"; do
  node -r ./tools/register-paths.js "dist/apps/$svc/src/main.js" migrate >>"$STATE/logs/$svc.log" 2>&1 \
    || { echo "migrating $svc failed; see $STATE/logs/$svc.log" >&2; exit 1; }
done

# Each service runs under tools/supervise.sh, which starts it again if it dies (as compose's
# `restart: unless-stopped` does) and writes why to its log; the pid files are the supervisors'.
for svc in "${SERVICES[@]}"; do
  DB_MIGRATE_ON_START=false nohup bash tools/supervise.sh "$svc" "$STATE/logs/$svc.log" \
    node -r ./tools/register-paths.js "dist/apps/$svc/src/main.js" >/dev/null 2>&1 < /dev/null &
  echo $! > "$STATE/pids/$svc.pid"
done

url="http://127.0.0.1:$PORT/api/v1"
for _ in $(seq 1 100); do
  if curl -fsS "$url/health" >/dev/null 2>&1; then
    echo "Ferry is up."
    echo "  gateway:   $url"
    echo "  console:   http://127.0.0.1:$PORT/   (sign in with the admin key)"
    echo "  API docs:  http://127.0.0.1:$PORT/api/docs"
    echo "  admin key: $FERRY_ADMIN_API_KEY"
    echo "  logs:      $STATE/logs/   stop with: npm run down"
    exit 0
  fi
  sleep 0.3
done
echo "the suite did not become healthy; see $STATE/logs/ and: curl $url/health" >&2
curl -sS "$url/health" >&2 || true
exit 1
