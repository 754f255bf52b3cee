// Loads the compiled relay addon. CommonJS of its own so the path is resolved from this file.
const { join } = require('node:path');

exports.loadRelayAddon = () => require(join(__dirname, '..', 'build', 'Release', 'relay.node'));
