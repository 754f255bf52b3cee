/**
 * The client side of the bench's Klient transfers, in a process of its own, as `kd cp` runs in
 * its own process. It never starts a child process: each fork write-protects the whole heap of
 * the process that forks, so the bench process (which starts `sync` and `sftp` between runs)
 * would pay thousands of copy-on-write faults in the next transfer, a cost a real `kd cp` never
 * has. Started with the Klient's URL and a token in the environment; each IPC message
 * `{ id, kind: 'read' | 'write', remote, local, size }` is answered with `{ id, seconds }` or
 * `{ id, error }`.
 */
import { tuneMemoryForStreaming } from '@kk/allocator';
import { download } from '@kk/cli/transfer/download.js';
import { upload } from '@kk/cli/transfer/upload.js';
import { connect } from '@kk/protocol/node.js';

export interface TransferRequest {
  id: number;
  kind: 'read' | 'write';
  remote: string;
  local: string;
  size: number;
}

export type TransferReply = { id: number; seconds: number } | { id: number; error: string };

// As kd's main does.
tuneMemoryForStreaming();
const client = connect(process.env.KLIENT_URL!, process.env.KLIENT_TOKEN!, { reconnect: false });

async function transfer(request: TransferRequest): Promise<number> {
  const started = performance.now();
  if (request.kind === 'read') {
    const { size } = await download(client, request.remote, { file: request.local });
    if (size !== request.size) throw new Error(`fs.readFile streamed ${size} bytes of ${request.size}`);
  } else {
    const written = await upload(client, { file: request.local, size: request.size }, request.remote);
    if (written.size !== request.size)
      throw new Error(`fs.commitWrite wrote ${written.size} bytes of ${request.size}`);
  }
  return (performance.now() - started) / 1000;
}

process.on('message', (request: TransferRequest) => {
  transfer(request).then(
    (seconds) => process.send!({ id: request.id, seconds } satisfies TransferReply),
    (error: unknown) => process.send!({ id: request.id, error: String(error) } satisfies TransferReply),
  );
});
process.on('disconnect', () => {
  client.close();
  process.exit(0);
});
await client.call('klient.ping', {});
process.send!({ id: 0, seconds: 0 } satisfies TransferReply);
