/** What a memory setting did to this process: applied, or left as it was and why. */
export type TuningResult = { applied: true } | { applied: false; reason: string };

/** For a log line: `true`, or the reason the setting was not applied. */
export const tuningSummary = (result: TuningResult): true | string => (result.applied ? true : result.reason);

/**
 * A process-wide setting applied once: the first call runs `apply`, unless `env`=0 in the
 * environment turned it off (the result then says so and what stays: `whenOff`); later calls
 * return the first result.
 */
export function oncePerProcess(env: string, whenOff: string, apply: () => TuningResult): () => TuningResult {
  let result: TuningResult | undefined;
  return () => {
    result ??=
      process.env[env] === '0' ? { applied: false, reason: `turned off by ${env}=0: ${whenOff}` } : apply();
    return result;
  };
}
