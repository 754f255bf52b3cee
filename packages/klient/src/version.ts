/** Klient's version, compiled in so the single executable needs no package.json beside it. */
export const VERSION = '0.1.0';
