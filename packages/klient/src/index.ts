export { lastActivity, markActivity, secondsSinceActivity } from './activity.js';
export { ConfigError, type KlientConfig, loadConfig, settings } from './config.js';
export { type RunningKlient, startKlient } from './server.js';
export { VERSION } from './version.js';
