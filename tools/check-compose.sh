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

# The runtime image copies dist/libs/<lib> one by one: a library the services import but the image
# leaves out builds fine and fails only when a container starts. Every lib but the test helpers counts.
for lib in libs/*/; do
  name=$(basename "$lib")
  [ "$name" = testing ] && continue
  grep -q "^COPY --from=build /app/dist/libs/$name dist/libs/$name\$" Dockerfile \
    || { echo "Dockerfile: the runtime image does not copy dist/libs/$name" >&2; exit 1; }
done
echo "Dockerfile copies every runtime library"
