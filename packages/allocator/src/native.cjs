// Loads this package's compiled addon by name, with node-pty's loader signature. Kept as a
// CommonJS file of its own so the klient executable's bundler can swap this one export for its
// loader of addons carried as executable assets (scripts/klient-executable/bundle.ts).
const { join } = require('node:path');

exports.loadNativeModule = (name) => {
  const dir = join(__dirname, '..', 'build', 'Release');
  return { dir, module: require(join(dir, `${name}.node`)) };
};
