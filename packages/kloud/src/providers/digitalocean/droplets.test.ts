import { describe, expect, it } from 'vitest';
import {
  dropletName,
  kloudState,
  machineTag,
  tagDecode,
  tagEncode,
  taggedDroplet,
  tokenTag,
} from './droplets.js';

describe('droplet tags and names', () => {
  it('carries ids in tags as they are when DO allows them, escaped and read back exactly when not', () => {
    expect(machineTag('0191a2b3c4d50000a1b2c3d4e5f6')).toBe('kloud-machine-0191a2b3c4d50000a1b2c3d4e5f6');
    expect(tokenTag('7f3a-9b:c')).toBe('kloud-token-7f3a-9b:c');
    for (const id of ['m-1', 'a_b', 'über/x y', '_41', 'ok:fine-1']) {
      const encoded = tagEncode(id);
      expect(encoded).toMatch(/^[A-Za-z0-9:_-]+$/);
      expect(tagDecode(encoded)).toBe(id);
    }
    const droplet = { id: 1, name: 'x', status: 'off', tags: ['kloud', machineTag('a_b/c')] };
    expect(taggedDroplet(droplet)).toMatchObject({ instanceId: '1', state: 'Stopped', machineId: 'a_b/c' });
  });

  it('makes a hostname from the label, or from the machine id when the label has nothing usable', () => {
    expect(dropletName('Web Server #1', 'm1')).toBe('web-server-1');
    expect(dropletName('---', 'M_1')).toBe('kloud-m-1');
  });

  it('maps DO statuses to Kloud states', () => {
    expect(['new', 'active', 'off', 'archive', 'odd'].map(kloudState)).toEqual([
      'Starting',
      'Running',
      'Stopped',
      'Terminated',
      'Unknown',
    ]);
  });
});
