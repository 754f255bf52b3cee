/** Parsers for option values; each error names the option and says what it wants. */
import { cliErrors } from '../errors.js';

export function parseEnvPairs(pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw cliErrors.usage(`--env ${pair}: give KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `5m`, `2h`, or plain seconds. */
export function parseDuration(value: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw cliErrors.usage(`${option} ${value}: give a duration like 30s, 5m or 1h`);
  const ms = Math.round(Number(m[1]) * units[m[2] ?? 's']!);
  if (ms < 1) throw cliErrors.usage(`${option} ${value}: must be at least 1ms`);
  return ms;
}
