/**
 * The temp files of writes a crash interrupted are removed at the next start. A write puts its
 * bytes in a temp file beside the target (atomic-write.ts); a Klient killed mid-write would leave
 * that file there for good. So each write first records the temp file's path in the crash journal
 * (crash-journal.ts, kind `pending-writes`) and drops the record once the temp file is renamed or
 * removed, and Klient, when it starts, removes the temp files whose records outlived their
 * process. Only paths named like Klient's temp files are removed.
 */
import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { CrashJournal, type Journal, unrecorded } from '../crash-journal.js';

/** Where a write records its temp file; `record` resolves with the call that drops the record. */
export type TempFileJournal = Journal;
export { unrecorded };

/** `.<name>.klient-<12 hex>.tmp`, as atomic-write.ts names them. */
const TEMP_FILE = /^\..+\.klient-[0-9a-f]{12}\.tmp$/;

/** The temp file name for a write to `name`. */
export function tempFileName(name: string): string {
  return `.${name}.klient-${randomBytes(6).toString('hex')}.tmp`;
}

/** Removes a recorded temp file; gone already (the crash came after the rename) is not an error. */
async function removeTempFile(temp: string): Promise<string | undefined> {
  if (!TEMP_FILE.test(basename(temp))) return undefined;
  return unlink(temp).then(
    () => temp,
    () => undefined,
  );
}

export const PendingWrites = {
  /**
   * Opens this process's records under `stateDir`, first removing the temp files of processes
   * that are gone. Resolves with the journal and the temp files removed; rejects when
   * `stateDir` is not a private directory of this account.
   */
  async open(
    stateDir: string,
    onRecordFailure: (error: unknown) => void = () => {},
  ): Promise<{ journal: TempFileJournal; removed: string[] }> {
    const { journal, cleaned } = await CrashJournal.open(
      stateDir,
      'pending-writes',
      removeTempFile,
      onRecordFailure,
    );
    return { journal, removed: cleaned };
  },
};
