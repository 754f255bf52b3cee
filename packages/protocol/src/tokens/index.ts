export * from './claims.js';
export * from './issue.js';
export * from './keyset.js';
export * from './verify.js';
