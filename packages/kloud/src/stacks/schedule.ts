/**
 * Runs a task per node once every node it depends on has succeeded, independent nodes in
 * parallel (up to `concurrency`). `reverse` runs dependents first (teardown order). A failed
 * node's dependents are skipped, never started, and the rest carries on.
 */
export interface ScheduleNode {
  name: string;
  dependsOn: readonly string[];
}

export type NodeOutcome =
  | { status: 'succeeded' }
  | { status: 'failed'; error: unknown }
  | { status: 'skipped'; reason: string };

export interface ScheduleOptions {
  concurrency?: number;
  reverse?: boolean;
}

export async function runInOrder(
  nodes: readonly ScheduleNode[],
  task: (name: string) => Promise<void>,
  options: ScheduleOptions = {},
): Promise<Map<string, NodeOutcome>> {
  const names = new Set(nodes.map((n) => n.name));
  // waitsFor[x] = nodes that must finish before x; only edges between scheduled nodes count.
  const waitsFor = new Map<string, Set<string>>(nodes.map((n) => [n.name, new Set<string>()]));
  for (const n of nodes) {
    for (const dep of n.dependsOn) {
      if (!names.has(dep)) continue;
      if (options.reverse) waitsFor.get(dep)!.add(n.name);
      else waitsFor.get(n.name)!.add(dep);
    }
  }
  const outcomes = new Map<string, NodeOutcome>();
  const running = new Set<string>();
  const limit = Math.max(1, options.concurrency ?? Number.POSITIVE_INFINITY);

  return new Promise((resolve) => {
    const pump = (): void => {
      let progressed = true;
      while (progressed) {
        progressed = false;
        for (const [name, deps] of waitsFor) {
          if (outcomes.has(name) || running.has(name)) continue;
          const bad = [...deps].find((d) => {
            const o = outcomes.get(d);
            return o !== undefined && o.status !== 'succeeded';
          });
          if (bad) {
            outcomes.set(name, { status: 'skipped', reason: `"${bad}" did not complete` });
            progressed = true;
            continue;
          }
          if (running.size >= limit) continue;
          if ([...deps].every((d) => outcomes.get(d)?.status === 'succeeded')) {
            running.add(name);
            task(name).then(
              () => finish(name, { status: 'succeeded' }),
              (error: unknown) => finish(name, { status: 'failed', error }),
            );
            progressed = true;
          }
        }
      }
      if (outcomes.size === waitsFor.size) resolve(outcomes);
      else if (running.size === 0) {
        // Only reachable with a cycle among the given nodes: refuse what cannot be ordered.
        for (const name of waitsFor.keys())
          if (!outcomes.has(name)) outcomes.set(name, { status: 'skipped', reason: 'dependency cycle' });
        resolve(outcomes);
      }
    };
    const finish = (name: string, outcome: NodeOutcome): void => {
      running.delete(name);
      outcomes.set(name, outcome);
      pump();
    };
    pump();
  });
}
