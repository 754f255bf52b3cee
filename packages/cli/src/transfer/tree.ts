/**
 * `kd cp -r`: a directory tree either way, file by file through the single-file transfers (so each
 * file appears whole or not at all), directories made first with their modes. Symlinks and special
 * files are not followed or copied; they are reported, so nothing is skipped silently.
 */
import { mkdir, opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { download } from './download.js';
import { type TransferObserver, upload } from './upload.js';

export interface TreeResult {
  files: number;
  bytes: number;
  /** Paths that were neither files nor directories (symlinks, sockets…). */
  skipped: string[];
}

/** Total bytes of the regular files under a local directory, for the progress bar. */
export async function localTreeSize(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of await opendir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await localTreeSize(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}

export async function uploadTree(
  client: RpcClient,
  localDir: string,
  remoteDir: string,
  observer: TransferObserver = {},
): Promise<TreeResult> {
  const result: TreeResult = { files: 0, bytes: 0, skipped: [] };
  const walk = async (local: string, remote: string) => {
    const mode = (await stat(local)).mode & 0o777;
    await client.call('fs.createDirectory', { path: remote, recursive: true, mode });
    for await (const entry of await opendir(local)) {
      const from = join(local, entry.name);
      const to = `${remote.replace(/\/+$/, '')}/${entry.name}`;
      if (entry.isDirectory()) await walk(from, to);
      else if (entry.isFile()) {
        const info = await stat(from);
        const before = result.bytes;
        await upload(client, { file: from, size: info.size, mode: info.mode & 0o777 }, to, {
          signal: observer.signal,
          onProgress: (done) => observer.onProgress?.(before + done, undefined),
        });
        result.files += 1;
        result.bytes += info.size;
      } else result.skipped.push(from);
    }
  };
  await walk(localDir, remoteDir);
  return result;
}

export async function downloadTree(
  client: RpcClient,
  remoteDir: string,
  localDir: string,
  observer: TransferObserver = {},
): Promise<TreeResult> {
  const result: TreeResult = { files: 0, bytes: 0, skipped: [] };
  const walk = async (remote: string, local: string, mode: number) => {
    await mkdir(local, { recursive: true, mode });
    let cursor: string | undefined;
    do {
      const page = await client.call('fs.readDirectory', { path: remote, cursor });
      for (const entry of page.entries) {
        const to = join(local, entry.name);
        if (entry.type === 'directory') await walk(entry.path, to, entry.mode & 0o777);
        else if (entry.type === 'file') {
          const before = result.bytes;
          const got = await download(
            client,
            entry.path,
            { file: to, mode: entry.mode & 0o777 },
            {
              signal: observer.signal,
              onProgress: (done) => observer.onProgress?.(before + done, undefined),
            },
          );
          result.files += 1;
          result.bytes += got.size;
        } else result.skipped.push(entry.path);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  };
  const top = await client.call('fs.getInfo', { path: remoteDir });
  await walk(top.path, localDir, top.mode & 0o777);
  return result;
}
