/**
 * An interactive view of a terminal session on this process's own terminal: raw mode, the
 * session's current screen first (rebuilt by Klient, so full-screen programs look right), then
 * live output; keys go to the session, window size changes are sent as resizes, and Ctrl-] d
 * detaches while the session keeps running. Resolves with what ended it.
 */
import type { RpcClient } from '@kk/protocol/client/client.js';
import type { StreamReader } from '@kk/protocol/streams/reader.js';
import { DetachKey } from './detach-key.js';

export type AttachEnd =
  | { reason: 'exit'; exitCode: number | null; signal: string | null }
  | { reason: 'detached' }
  | { reason: 'shutdown' };

export interface TerminalIo {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
}

export async function attachInteractive(
  client: RpcClient,
  sessionId: string,
  io: TerminalIo,
  readOnly: boolean,
): Promise<AttachEnd> {
  // Raw before anything of the session shows, so keys typed at once are neither echoed nor
  // line-buffered here; they wait in stdin until the attachment is ready.
  const raw = io.input.isTTY === true;
  if (raw) io.input.setRawMode(true);
  try {
    return await attachAndRun(client, sessionId, io, readOnly);
  } finally {
    if (raw) io.input.setRawMode(false);
  }
}

async function attachAndRun(
  client: RpcClient,
  sessionId: string,
  io: TerminalIo,
  readOnly: boolean,
): Promise<AttachEnd> {
  const size = () => ({ cols: clamp(io.output.columns ?? 80, 2), rows: clamp(io.output.rows ?? 24, 1) });
  const attached = await client.call('terminal.attach', { sessionId, readOnly, ...size() });
  const reader: StreamReader = client.openReader(attached.streamId);
  reader.onData((event) => {
    const e = event as { type: string; screen?: string; data?: string };
    // A screen rebuilds the whole view on a reset terminal: reset ours first.
    if (e.type === 'screen') io.output.write(`\x1bc${e.screen}`);
    else if (e.type === 'output') io.output.write(e.data!);
  });

  io.input.setEncoding('utf8');
  const keys = new DetachKey();
  let detaching = false;
  // Keys are sent in order, one call after the other, so a paste arrives as typed.
  let sending: Promise<unknown> = Promise.resolve();
  const onKeys = (chunk: string) => {
    for (const action of keys.feed(chunk)) {
      if (action.type === 'detach') {
        detaching = true;
        void client.call('terminal.detach', { sessionId }).catch(() => reader.cancel('detached'));
        return;
      }
      if (!readOnly && !detaching)
        sending = sending.then(() =>
          client.call('terminal.input', { sessionId, data: action.data }).catch(() => {}),
        );
    }
  };
  const onResize = () => {
    if (!readOnly) void client.call('terminal.resize', { sessionId, ...size() }).catch(() => {});
  };
  io.input.on('data', onKeys);
  io.output.on('resize', onResize);
  io.input.resume();
  try {
    const end = (await reader.done) as AttachEnd;
    return end ?? { reason: 'detached' };
  } catch (error) {
    if (detaching) return { reason: 'detached' };
    throw error;
  } finally {
    io.input.off('data', onKeys);
    io.output.off('resize', onResize);
    io.input.pause();
  }
}

function clamp(value: number, min: number): number {
  return Math.max(min, Math.min(1000, value));
}
