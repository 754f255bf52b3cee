/**
 * Uploads and downloads in the browser. An upload sends the file in 512 KiB slices (read one at
 * a time) through fs.openWrite / writeChunk / commitWrite, so the file appears whole or not at
 * all and a failure aborts it. A download streams the file as binary frames into a Blob.
 */
import type { RpcClient } from '@kk/protocol';

const CHUNK = 512 * 1024;

export async function uploadFile(
  client: RpcClient,
  file: File,
  path: string,
  onProgress: (sent: number) => void,
): Promise<void> {
  const { uploadId } = await client.call('fs.openWrite', { path });
  let sent = 0;
  try {
    while (sent < file.size) {
      const bytes = new Uint8Array(await file.slice(sent, sent + CHUNK).arrayBuffer());
      await client.call('fs.writeChunk', { uploadId, data: toBase64(bytes), at: sent });
      sent += bytes.length;
      onProgress(sent);
    }
    await client.call('fs.commitWrite', { uploadId });
  } catch (error) {
    await client.call('fs.abortWrite', { uploadId }).catch(() => {});
    throw error;
  }
}

export async function downloadFile(
  client: RpcClient,
  path: string,
  onProgress: (got: number, total: number) => void,
): Promise<Blob> {
  const opened = await client.call('fs.readFile', { path, stream: true });
  const reader = client.openReader(opened.streamId!);
  const parts: Uint8Array[] = [];
  let got = 0;
  for await (const chunk of reader) {
    if (!(chunk instanceof Uint8Array)) continue;
    parts.push(chunk);
    got += chunk.byteLength;
    onProgress(got, opened.size);
  }
  await reader.done;
  return new Blob(parts as BlobPart[], { type: 'application/octet-stream' });
}

/** Hands a Blob to the browser as a file download. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
