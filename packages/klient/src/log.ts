import { type Logger, pino } from 'pino';
import type { KlientConfig } from './config.js';

export type { Logger };

/** Structured logs to stderr (stdout stays free for commands like `klient version`). */
export function createLogger(config: Pick<KlientConfig, 'logLevel' | 'kiteId'>): Logger {
  return pino(
    { level: config.logLevel, base: { service: 'klient', kiteId: config.kiteId } },
    pino.destination(2),
  );
}
