#!/usr/bin/env bash
# Usage: supervise.sh NAME LOGFILE COMMAND [ARG...]
# Runs one service and starts it again whenever it dies, as compose's `restart: unless-stopped` does:
# after 1 s, doubling to 30 s while it keeps dying, back to 1 s once it has run for a minute. Each
# death is written to the service's log with its exit code or signal (the process's own last words,
# e.g. an uncaught exception, are just above it). SIGTERM or SIGINT stops the service and this loop.
# Exit code 78 (EX_CONFIG: a setting is wrong) is not retried: it would fail the same way.
set -uo pipefail

name=$1 log=$2
shift 2

say() {
  printf '{"time":"%s","level":"%s","service":"%s","context":"supervise","msg":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$1" "$name" "$2" >>"$log"
}

child=''
stopping=0
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT

backoff=1
while :; do
  started=$(date +%s)
  "$@" >>"$log" 2>&1 </dev/null &
  child=$!
  wait "$child"
  code=$?
  # A trapped signal ends `wait` early: wait again until the service itself has exited.
  while kill -0 "$child" 2>/dev/null; do
    wait "$child"
    code=$?
  done
  child=''
  [ "$stopping" = 1 ] && exit 0

  ran=$(($(date +%s) - started))
  [ "$ran" -ge 60 ] && backoff=1
  if [ "$code" -gt 128 ]; then
    how="was killed by SIG$(kill -l $((code - 128)) 2>/dev/null || echo $((code - 128)))"
  else
    how="exited with code $code"
  fi
  if [ "$code" = 78 ]; then
    say error "$name $how (a configuration error; its log says which setting) after ${ran}s: not restarting"
    exit 78
  fi
  say error "$name $how after ${ran}s; starting it again in ${backoff}s"
  sleep "$backoff" &
  wait $! 2>/dev/null
  [ "$stopping" = 1 ] && exit 0
  backoff=$((backoff * 2 > 30 ? 30 : backoff * 2))
done
