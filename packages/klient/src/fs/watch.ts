import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FsWatchEvent } from '@kk/protocol/catalogue/fs.js';
import { type FSWatcher, watch } from 'chokidar';
import { describe } from './entry.js';

export type { FsWatchEvent };

export interface WatchOptions {
  /** Hands one event to the caller; the next waits until it resolves (backpressure). */
  deliver: (event: FsWatchEvent) => Promise<void>;
  /** Events may queue while delivery is slow; past this the watch fails (the listing is stale). */
  maxQueued: number;
  /**
   * The watch cannot go on: the queue overflowed, the watcher failed, or the directory itself
   * was removed or moved away (`gone`). It has already stopped.
   */
  onFail: (reason: 'overflow' | 'error' | 'gone', err?: unknown) => void;
}

/**
 * Watches one directory (not its subtree) for entries added, removed and changed. Events are
 * delivered one at a time in the order they happened; a consumer slower than the directory
 * overflows the queue and the watch fails, like inotify's IN_Q_OVERFLOW, rather than growing
 * memory without bound. Resolves once the watcher is armed, so no change after that is missed.
 */
export async function watchDirectory(
  dir: string,
  options: WatchOptions,
): Promise<{ close(): Promise<void> }> {
  const watcher: FSWatcher = watch(dir, { depth: 0, ignoreInitial: true, persistent: true });
  const queue: Array<{ type: FsWatchEvent['type']; path: string }> = [];
  let draining = false;
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    queue.length = 0;
    await watcher.close();
  };

  const fail = (reason: 'overflow' | 'error' | 'gone', err?: unknown) => {
    if (closed) return;
    void close().then(() => options.onFail(reason, err));
  };

  const drain = async () => {
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0 && !closed) {
        const { type, path } = queue.shift()!;
        const event: FsWatchEvent = { type, name: basename(path), path };
        if (type !== 'removed') {
          try {
            event.entry = await describe(path);
          } catch {
            continue; // gone again before we looked; its `removed` event follows
          }
        }
        await options.deliver(event);
      }
    } catch (err) {
      fail('error', err);
    } finally {
      draining = false;
    }
  };

  const enqueue = (type: FsWatchEvent['type']) => (path: string) => {
    if (closed) return;
    if (path === dir) return type === 'removed' ? fail('gone') : undefined;
    if (queue.length >= options.maxQueued) return fail('overflow');
    queue.push({ type, path });
    void drain();
  };

  watcher.on('add', enqueue('added'));
  watcher.on('addDir', enqueue('added'));
  watcher.on('unlink', enqueue('removed'));
  watcher.on('unlinkDir', enqueue('removed'));
  watcher.on('change', enqueue('changed'));
  watcher.on('error', (err) => fail('error', err));
  // chokidar reports the watched directory's own removal only sometimes (not when it was
  // empty); a rename event on it is the cue to look whether it is still there.
  watcher.on('raw', (event, _path, details) => {
    if (event !== 'rename' || (details as { watchedPath?: string })?.watchedPath !== dir || closed) return;
    stat(dir).then(
      (s) => (s.isDirectory() ? undefined : fail('gone')),
      () => fail('gone'),
    );
  });
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { close };
}
