/** @kk/web: the browser UI, and what a server needs to serve it. */
export { type WebAsset, webAssets } from './server/assets.js';
export { registerWeb } from './server/register.js';
