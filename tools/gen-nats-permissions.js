// Writes deploy/nats/permissions.conf (the per-service NATS users) from the contracts' SERVICE_CALLS.
// Run through `npm run --silent gen:nats-permissions` (it builds first); a unit test fails when the
// file and the contracts disagree.
const { writeFileSync } = require('node:fs');
const path = require('node:path');
require('./register-paths');
const { natsPermissionsConf } = require('../dist/libs/platform/src/nats/nats-permissions');

const file = path.join(__dirname, '..', 'deploy', 'nats', 'permissions.conf');
writeFileSync(file, natsPermissionsConf());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
