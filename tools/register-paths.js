// Resolves the @ferry/* aliases of tsconfig.base.json to the compiled files under dist/, so that
// `node -r ./tools/register-paths.js dist/apps/<app>/src/main.js` runs without a bundler.
const path = require('node:path');
const { register } = require('tsconfig-paths');
const { compilerOptions } = require('../tsconfig.base.json');

const paths = {};
for (const [alias, targets] of Object.entries(compilerOptions.paths)) {
  paths[alias] = targets.map((t) => t.replace(/\.ts$/, '.js'));
}
register({ baseUrl: path.join(__dirname, '..', 'dist'), paths, addMatchAll: false });
