/**
 * Variables that are Klient's (and Kloud's) own configuration rather than the user's: they may
 * name credentials such as the kite.key, so processes Klient starts never inherit them.
 */
export const privateEnvPrefixes = ['KLIENT_', 'KLOUD_', 'KK_'] as const;

/** Klient's environment without its private variables: the base every started process gets. */
export function inheritedEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || privateEnvPrefixes.some((prefix) => name.startsWith(prefix))) continue;
    env[name] = value;
  }
  return env;
}
