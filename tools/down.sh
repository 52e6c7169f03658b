#!/usr/bin/env bash
# Stops the services `npm run up` started: SIGTERM to each supervisor (tools/supervise.sh), which
# passes it on, so each service finishes its in-flight work first and is not started again.
set -uo pipefail
cd "$(dirname "$0")/.."
for pidfile in .ferry/pids/*.pid; do
  [ -e "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null && echo "stopping $(basename "$pidfile" .pid) ($pid)"
  rm -f "$pidfile"
done
