import { constants, type Stats } from 'node:fs';
import {
  access,
  chmod,
  chown,
  copyFile,
  type FileHandle,
  lstat,
  mkdir,
  open,
  realpath,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Checksum, type RunningChecksum, runningChecksum } from '@kk/protocol/node/checksum.js';
import { writeAllAt } from '@kk/protocol/node/file-chunks.js';
import { errnoOf, errors } from '../errors.js';
import { checksumFile, hashFile } from './hash.js';
import { withPathLock } from './path-lock.js';
import { type TempFileJournal, tempFileName, unrecorded } from './pending-writes.js';

export interface WriteOptions {
  mode?: number;
  append: boolean;
  offset?: number;
  ifMatch?: string;
  ifNotExists: boolean;
  createParents: boolean;
  /** What commit reports of the content (sha256 by default). */
  checksum?: Checksum;
}

export interface WriteResult {
  path: string;
  size: number;
  /** The content's checksum, of the kind the write was begun with (`WriteOptions.checksum`). */
  checksum: string;
  mtime: number;
}

/** What the target was when the write began; a change by the time of the commit is a conflict. */
interface Base {
  stats: Stats;
}

const DEFAULT_MODE = 0o644;

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** A symlink is written through (the link stays a link); anything else is written in place. */
async function resolveTarget(path: string): Promise<string> {
  try {
    if ((await lstat(path)).isSymbolicLink()) return await realpath(path);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
  return path;
}

async function checkPreconditions(
  target: string,
  options: WriteOptions,
  base: Base | undefined,
): Promise<Stats | undefined> {
  const current = await statOrUndefined(target);
  if (current?.isDirectory()) throw errors.invalidParams(`${target}: is a directory, expected a file`);
  if (current && !current.isFile())
    throw errors.invalidParams(`${target}: not a regular file; refusing to replace it`);
  if (current && !base && !(await writable(target))) {
    throw errors.forbidden(`${target}: permission denied (the file is not writable)`, { path: target });
  }
  if (options.ifNotExists && current)
    throw errors.conflict(`${target}: already exists (ifNotExists)`, { path: target });
  if (options.ifMatch !== undefined) {
    if (!current)
      throw errors.conflict(`${target}: does not exist, so it cannot match ifMatch`, { path: target });
    const hash = await hashFile(target);
    if (hash !== options.ifMatch) {
      throw errors.conflict(
        `${target}: changed since it was read (ifMatch does not match); read it again and retry`,
        {
          path: target,
          hash,
        },
      );
    }
  }
  if (base && !sameFile(base.stats, current)) {
    throw errors.conflict(`${target}: changed while the write was in progress; retry`, { path: target });
  }
  return current;
}

async function writable(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Bytes written between background flushes of a large write (see AtomicWrite.flushEarly). */
const FLUSH_EVERY = 32 * 1024 * 1024;

function sameFile(a: Stats, b: Stats | undefined): boolean {
  return b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * One write to one file, crash-safe: bytes go to a temp file in the target's directory, and
 * only `commit()` (fsync, rename over the target, fsync the directory) makes them the file.
 * Killed at any moment, the target holds the old content or the new, never a mix. Append and
 * offset writes start the temp file as a copy of the current content (a reflink where the
 * filesystem can) so they are just as atomic; a change to the target between start and
 * commit is refused as a conflict instead of being overwritten.
 *
 * Temp files are named `.<name>.klient-<random>.tmp`; one left by a crash is inert, and removed
 * at the next start when the write was begun with a journal (pending-writes.ts).
 */
export class AtomicWrite {
  private written = 0;
  private position = 0;
  private finished = false;
  /** Commit or abort was asked for: later chunks will be refused, so they are not checksummed. */
  private sealed = false;
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * While the temp file holds exactly the bytes received from byte 0 (a plain replace), their
   * checksum is the file's: kept as they arrive, so commit need not read a large file back.
   */
  private running: RunningChecksum | undefined;
  /** A background flush of what is written so far (see `flushEarly`), and how it ended. */
  private flushing: Promise<void> | undefined;
  private flushError: unknown;
  private flushedUpTo = 0;

  private constructor(
    readonly target: string,
    private readonly temp: string,
    private readonly handle: FileHandle,
    private readonly options: WriteOptions,
    private readonly base: Base | undefined,
    private readonly existing: Stats | undefined,
    /** Drops the journal's record of the temp file, once it is renamed or removed. */
    private readonly forget: () => Promise<void>,
  ) {}

  /**
   * Starts a write to `path`. With a `journal`, the temp file is recorded there before it is
   * created, so one left by a crash is removed at the next start (pending-writes.ts).
   */
  static async begin(path: string, options: WriteOptions, journal?: TempFileJournal): Promise<AtomicWrite> {
    const target = await resolveTarget(path);
    if (options.createParents) await mkdir(dirname(target), { recursive: true });
    const existing = await checkPreconditions(target, options, undefined);
    const temp = join(dirname(target), tempFileName(basename(target)));
    const keepsContent = options.append || options.offset !== undefined;
    const forget = await (journal ?? unrecorded).record(temp);
    let handle: FileHandle;
    try {
      if (keepsContent && existing)
        await copyFile(target, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      handle = await open(temp, keepsContent && existing ? 'r+' : 'wx', 0o600);
    } catch (err) {
      await unlink(temp).catch(() => {});
      await forget();
      throw blameTarget(err, temp, target);
    }
    const write = new AtomicWrite(
      target,
      temp,
      handle,
      options,
      keepsContent && existing ? { stats: existing } : undefined,
      existing,
      forget,
    );
    if (options.append) write.position = existing?.size ?? 0;
    else if (options.offset !== undefined) write.position = options.offset;
    if (write.position === 0 && !write.base) write.running = runningChecksum(write.checksum);
    return write;
  }

  /** What commit reports of the content. */
  get checksum(): Checksum {
    return this.options.checksum ?? 'sha256';
  }

  /** Bytes received so far (not counting content kept from the old file). */
  get received(): number {
    return this.written;
  }

  /**
   * Append bytes to what this write has received. Calls are applied in the order they were made
   * even when a caller pipelines them; `at`, when given, must equal the bytes received so far,
   * so a retried or reordered chunk is refused instead of being written twice.
   */
  write(bytes: Uint8Array, at?: number): Promise<void> {
    // Checksummed now, in call order, so a pipelining caller's next chunk is hashed while the
    // thread pool writes this one. A chunk that is then refused or fails to write voids the running
    // checksum, and commit reads the file instead; after commit or abort was asked for, nothing is added.
    if (!this.sealed) this.running?.update(bytes);
    return this.serially(async () => {
      if (this.finished) throw errors.invalidState('this write is already committed or aborted');
      if (at !== undefined && at !== this.written) {
        this.running = undefined;
        throw errors.invalidState(
          `chunk is for byte ${at} but ${this.written} bytes were received; resend from there`,
          {
            received: this.written,
          },
        );
      }
      try {
        await writeAllAt(this.handle, bytes, this.position);
      } catch (err) {
        this.running = undefined;
        throw err;
      }
      this.position += bytes.length;
      this.written += bytes.length;
      this.flushEarly();
    });
  }

  /**
   * Starts writing the received bytes out to disk in the background every FLUSH_EVERY bytes,
   * while more arrive, so the fsync at commit has only the tail left to wait for instead of the
   * whole file. A failure is kept and reported by commit, which must not succeed after it.
   */
  private flushEarly(): void {
    if (this.flushing || this.written - this.flushedUpTo < FLUSH_EVERY) return;
    this.flushedUpTo = this.written;
    this.flushing = this.handle.datasync().then(
      () => {
        this.flushing = undefined;
      },
      (err: unknown) => {
        this.flushError ??= err;
      },
    );
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Make the written bytes the file. Preconditions are checked again, under the path's lock. */
  commit(): Promise<WriteResult> {
    this.sealed = true;
    return this.serially(() => this.commitNow());
  }

  private async commitNow(): Promise<WriteResult> {
    if (this.finished) throw errors.invalidState('this write is already committed or aborted');
    this.finished = true;
    try {
      try {
        await this.flushing;
        if (this.flushError) throw this.flushError;
        await this.handle.sync();
      } finally {
        await this.handle.close();
      }
      const mode = this.options.mode ?? (this.existing ? this.existing.mode & 0o7777 : DEFAULT_MODE);
      await chmod(this.temp, mode);
      if (this.existing && process.getuid?.() === 0)
        await chown(this.temp, this.existing.uid, this.existing.gid);
      const checksum = this.running?.digest() ?? (await checksumFile(this.temp, this.checksum));
      await withPathLock(this.target, async () => {
        await checkPreconditions(this.target, this.options, this.base);
        await rename(this.temp, this.target);
      });
      await syncDirectory(dirname(this.target));
      const stats = await stat(this.target);
      return { path: this.target, size: stats.size, checksum, mtime: Math.floor(stats.mtimeMs) };
    } catch (err) {
      await unlink(this.temp).catch(() => {});
      throw err;
    } finally {
      await this.forget();
    }
  }

  /** Drop the temp file; the target was never touched. */
  abort(): Promise<void> {
    this.sealed = true;
    return this.serially(() => this.abortNow());
  }

  private async abortNow(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.flushing;
    await this.handle.close().catch(() => {});
    await unlink(this.temp).catch(() => {});
    await this.forget();
  }
}

/** A failure on the temp file is the caller's failure to write the target: name the target. */
function blameTarget(err: unknown, temp: string, target: string): unknown {
  if (err instanceof Error && (err as { path?: string }).path === temp)
    (err as { path?: string }).path = target;
  return err;
}

/** The rename is durable only once the directory entry is on disk. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write a whole buffer atomically (fs.writeFile); reports the new content's sha256 as `hash`. */
export async function writeFileAtomically(
  path: string,
  bytes: Uint8Array,
  options: Omit<WriteOptions, 'checksum'>,
  journal?: TempFileJournal,
): Promise<Omit<WriteResult, 'checksum'> & { hash: string }> {
  const write = await AtomicWrite.begin(path, options, journal);
  try {
    await write.write(bytes);
  } catch (err) {
    await write.abort();
    throw err;
  }
  const { checksum, ...committed } = await write.commit();
  return { ...committed, hash: checksum };
}
