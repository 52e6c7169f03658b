#!/usr/bin/env bash
# Runs every test: the console's component tests (Vitest), unit, integration (real Postgres and NATS)
# and end-to-end (spawned services, and the console in Debian's chromium).
# Usage: npm test                 # everything
#        npm test -- --selectProjects unit
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/ensure-infra.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
mkdir -p tmp
status=0
# The web console's component tests (Vitest, jsdom), then every jest project.
npx vitest run --config apps/console/vite.config.ts || status=$?
npx jest --runInBand --json --outputFile=tmp/jest-results.json "$@" || status=$?
# One plain closing line that any CI can read.
node -e '
  const r = require("./tmp/jest-results.json");
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit "$status"
