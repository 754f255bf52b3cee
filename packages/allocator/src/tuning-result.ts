/** What a memory setting did to this process: applied, or left as it was and why. */
export type TuningResult = { applied: true } | { applied: false; reason: string };

/** For a log line: `true`, or the reason the setting was not applied. */
export const tuningSummary = (result: TuningResult): true | string => (result.applied ? true : result.reason);
