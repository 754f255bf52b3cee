/**
 * The JSON-RPC 2.0 specification's own examples, replayed by an independent client written in
 * Python (standard library only, its own WebSocket framing), against our server.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HandlerMap } from '@kk/protocol';
import { createRpcServer } from '@kk/protocol/node.js';
import { specCatalogue, specHandlers } from '@kk/protocol/testing/harness.js';
import { describe, expect, it } from 'vitest';

describe('JSON-RPC 2.0 conformance, checked by an independent Python client', () => {
  it('answers every example of the specification to the letter', async () => {
    const server = await createRpcServer({
      authenticate: async (token) => {
        if (token !== 'spec-token') throw new Error('bad token');
        return { sub: 'spec', scope: 'readonly' };
      },
      methods: specHandlers as unknown as HandlerMap,
      catalogue: specCatalogue,
    });
    try {
      const script = fileURLToPath(new URL('./ws_jsonrpc_client.py', import.meta.url));
      const child = spawn('python3', [script, server.url, 'spec-token']);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(out).toContain('passed, 0 failed');
      expect(code).toBe(0);
    } finally {
      await server.close();
    }
  });
});
