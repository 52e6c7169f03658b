#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: `docker compose config -q`, or Debian's
# docker-compose where the compose plugin is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
export FERRY_ADMIN_API_KEY="${FERRY_ADMIN_API_KEY:-fry_composecheck0_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}"
if docker compose version >/dev/null 2>&1; then
  docker compose config -q
else
  if ! command -v docker-compose >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "need docker compose or docker-compose" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
  fi
  docker-compose config -q
fi
echo "docker-compose.yml is valid"
