import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordInputs, recordStillHolds, writeRecord } from '../scripts/klient-executable/freshness.js';

describe('klient executable: build freshness record', () => {
  let dir: string;
  let a: string;
  let b: string;
  let record: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kk-freshness-'));
    a = join(dir, 'main.ts');
    b = join(dir, 'dep.ts');
    record = join(dir, 'record.json');
    await writeFile(a, 'import "./dep.js";');
    await writeFile(b, 'export {};');
    await writeRecord(record, await recordInputs(a, [a, b, b]));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds while every input has the content it was built from', async () => {
    expect(await recordStillHolds(record, a)).toBe(true);
    // Touching a file without changing it is not a change.
    await writeFile(b, 'export {};');
    expect(await recordStillHolds(record, a)).toBe(true);
  });

  it('fails when an input changed or vanished', async () => {
    await writeFile(b, 'export const x = 1;');
    expect(await recordStillHolds(record, a)).toBe(false);
    await rm(b);
    expect(await recordStillHolds(record, a)).toBe(false);
  });

  it('fails for another entry or Node, a missing record or one that is not JSON', async () => {
    expect(await recordStillHolds(record, b)).toBe(false);
    await writeRecord(record, { ...(await recordInputs(a, [a, b])), node: 'v0.0.0' });
    expect(await recordStillHolds(record, a)).toBe(false);
    expect(await recordStillHolds(join(dir, 'none.json'), a)).toBe(false);
    await writeFile(record, '{ torn');
    expect(await recordStillHolds(record, a)).toBe(false);
  });
});
