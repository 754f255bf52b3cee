/**
 * The process groups a killed Klient left running are killed at the next start. Klient kills
 * the groups it started when it exits, but a SIGKILL (or the OOM killer) gives it no chance, and
 * a group that does not write to its closed pipes (a server, a `sleep`) would run on with no
 * one able to see or stop it. So each group is recorded in the crash journal
 * (crash-journal.ts, kind `exec-groups`) from its start until it is done, as `<pid> <start time>`
 * of its leader, and a record that outlived its Klient is a group to SIGKILL.
 */
import { readdir, readFile } from 'node:fs/promises';
import { startTimeOf } from '../crash-journal.js';
import { signalGroup } from './command.js';

export function groupRecord(leader: number, startTime: string): string {
  return `${leader} ${startTime}`;
}

/**
 * SIGKILLs the recorded group if it is still the one recorded. With its leader alive, the
 * leader's start time tells: another one means the pid was reused and the recorded group is long
 * gone. With its leader gone, the members tell: each of Klient's commands starts a session of its
 * own (sid = pgid = the leader's pid), and everything in it started after the leader; a group
 * of that number whose members are not all such is another's (its number reused after ours
 * ended), and is left alone.
 */
export async function killLeftGroup(record: string): Promise<string | undefined> {
  const m = /^(\d+) (\d+)$/.exec(record);
  if (!m) return undefined;
  const leader = Number(m[1]);
  const recordedStart = Number(m[2]);
  if (leader <= 1) return undefined;
  const started = await startTimeOf(leader);
  if (started !== undefined && started !== m[2]) return undefined;
  if (started === undefined) {
    const members = (await processes()).filter((p) => p.pgid === leader);
    if (members.length === 0) return undefined;
    if (members.some((p) => p.sid !== leader || p.start < recordedStart)) return undefined;
  }
  return signalGroup(leader, 'SIGKILL') ? `process group ${leader}` : undefined;
}

interface ProcessStat {
  pgid: number;
  sid: number;
  start: number;
}

/** Every process this pid namespace shows: its group, session and start time (see startTimeOf). */
async function processes(): Promise<ProcessStat[]> {
  const found: ProcessStat[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue; // exited meanwhile
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    found.push({ pgid: Number(fields[2]), sid: Number(fields[3]), start: Number(fields[19]) });
  }
  return found;
}
