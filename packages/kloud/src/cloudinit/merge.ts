/**
 * Deep-merges a user's #cloud-config into the one Kloud writes. Kloud's parts win nothing
 * silently: where the two would disagree (the same file, the same user with other settings, the
 * same key with another value) the merge refuses and names every place, so the user fixes the
 * template at plan time instead of finding a machine without Klient.
 */
import type { Problem } from '../errors.js';

export type CloudConfig = Record<string, unknown>;

export interface MergeRules {
  /** Paths nobody else may write (Kloud's own files, even the ones its script writes). */
  reservedPaths: ReadonlySet<string>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function userName(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (isPlainObject(entry) && typeof entry.name === 'string') return entry.name;
  return undefined;
}

function filePath(entry: unknown): string | undefined {
  return isPlainObject(entry) && typeof entry.path === 'string' ? entry.path : undefined;
}

function mergeWriteFiles(ours: unknown[], theirs: unknown[], rules: MergeRules, problems: Problem[]) {
  const taken = new Set([...rules.reservedPaths, ...ours.map(filePath).filter((p) => p !== undefined)]);
  for (const entry of theirs) {
    const path = filePath(entry);
    if (path !== undefined && taken.has(path)) {
      problems.push({
        path: `write_files[${path}]`,
        message: `${path} is written by Kloud (Klient's install); user data must not write it`,
      });
    }
  }
  return [...ours, ...theirs];
}

function mergeUsers(ours: unknown[], theirs: unknown[], problems: Problem[]) {
  const byName = new Map(ours.map((entry) => [userName(entry), entry]));
  const merged = [...ours];
  for (const entry of theirs) {
    const name = userName(entry);
    const mine = byName.get(name);
    if (mine === undefined) {
      merged.push(entry);
    } else if (!sameValue(mine, entry)) {
      problems.push({
        path: `users[${name}]`,
        message: `user ${name} is created by Kloud with other settings; leave it out of user data or use another name`,
      });
    }
  }
  return merged;
}

function mergeAt(path: string, ours: unknown, theirs: unknown, rules: MergeRules, problems: Problem[]) {
  if (path === 'write_files' && Array.isArray(ours) && Array.isArray(theirs)) {
    return mergeWriteFiles(ours, theirs, rules, problems);
  }
  if (path === 'users' && Array.isArray(ours) && Array.isArray(theirs)) {
    return mergeUsers(ours, theirs, problems);
  }
  // Command lists and package lists: Kloud's entries run first, then the user's.
  if (Array.isArray(ours) && Array.isArray(theirs)) return [...ours, ...theirs];
  if (isPlainObject(ours) && isPlainObject(theirs)) return mergeObjects(path, ours, theirs, rules, problems);
  if (!sameValue(ours, theirs)) {
    problems.push({
      path,
      message: `Kloud sets ${path} to ${JSON.stringify(ours)}; user data must not change it`,
    });
  }
  return ours;
}

function mergeObjects(
  prefix: string,
  ours: Record<string, unknown>,
  theirs: Record<string, unknown>,
  rules: MergeRules,
  problems: Problem[],
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...ours };
  for (const [key, value] of Object.entries(theirs)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    merged[key] = key in ours ? mergeAt(path, ours[key], value, rules, problems) : value;
  }
  return merged;
}

/** The merged config and every conflict found (empty when the merge is clean). */
export function mergeCloudConfig(
  ours: CloudConfig,
  theirs: CloudConfig,
  rules: MergeRules,
): { config: CloudConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  if ('merge_how' in theirs || 'merge_type' in theirs) {
    problems.push({
      path: 'merge_how' in theirs ? 'merge_how' : 'merge_type',
      message: 'Kloud merges user data with its own config itself; remove the merge directive',
    });
  }
  // A user who writes a reserved file through write_files is caught above; one who lists it
  // without a path, or with a different shape, is left to cloud-init's own schema check.
  const config = mergeObjects('', ours, theirs, rules, problems);
  return { config, problems };
}
