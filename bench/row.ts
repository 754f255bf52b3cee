/** One line of the benchmark table: our figure, and the peer's from the same run when there is one. */
export interface BenchRow {
  /** What was measured, e.g. `ping round trip p50`. */
  figure: string;
  value: number;
  unit: string;
  /** The peer measured in the same run, e.g. `raw ws echo`. */
  peer?: string;
  peerValue?: number;
  /** How to read the ratio: `lower` when smaller is better (latency), `higher` for throughput. */
  better?: 'lower' | 'higher';
  /** Free text: the goal, the bound, the conditions. */
  note?: string;
}

/** Median and percentiles of a sample; sorts a copy. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}
