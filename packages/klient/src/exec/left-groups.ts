/**
 * What a killed Klient's commands left running is killed at the next start. Klient kills the
 * groups it started when it exits, but a SIGKILL (or the OOM killer) gives it no chance, and a
 * command that does not write to its closed pipes (a server, a `sleep`) would run on with no one
 * able to see or stop it. So each command is recorded in the crash journal (crash-journal.ts,
 * kind `exec-groups`) from its start until its output closes, as `<leader pid> <leader start
 * time> [<tag>]`, the tag being the value of KLIENT_COMMAND in its environment (command.ts),
 * which everything it starts inherits.
 */
import { readdir, readFile } from 'node:fs/promises';
import { type Cleanup, startTimeOf } from '../crash-journal.js';
import { COMMAND_TAG, signalGroup } from './command.js';

export function groupRecord(leader: number, startTime: string, tag?: string): string {
  return tag ? `${leader} ${startTime} ${tag}` : `${leader} ${startTime}`;
}

/** Processes of this account by the tag in their environment (others' environments are unreadable). */
type TaggedProcesses = () => Promise<Map<string, number[]>>;

/**
 * The cleanup for one start's sweep: /proc is scanned for tags once, at the first tagged record,
 * not once per record.
 */
export function killLeftGroups(): Cleanup {
  let index: Promise<Map<string, number[]>> | undefined;
  return (record, from) => killLeftGroup(record, from, () => (index ??= processesByTag()));
}

/**
 * SIGKILLs what a recorded command left: its process group, if its leader is still the recorded
 * one (alive with the recorded start time; another start time means the pid was reused), and
 * every process still carrying its tag (those that left the group or outlived the leader too).
 * A group whose leader is gone is not killed by number: that number may since lead another's
 * group, and nothing tells them apart. Records of another boot name nothing running now.
 */
export async function killLeftGroup(
  record: string,
  from: { sameBoot: boolean },
  tagged: TaggedProcesses = processesByTag,
): Promise<string | undefined> {
  const m = /^(\d+) (\d+)(?: ([0-9a-f]{16}))?$/.exec(record);
  if (!m || !from.sameBoot) return undefined;
  const leader = Number(m[1]);
  if (leader <= 1) return undefined;
  const killed: string[] = [];
  if ((await startTimeOf(leader)) === m[2] && signalGroup(leader, 'SIGKILL')) killed.push(`group ${leader}`);
  const tag = m[3];
  for (const pid of (tag && (await tagged()).get(tag)) || []) {
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(`pid ${pid}`);
    } catch {
      // Exited meanwhile.
    }
  }
  return killed.length ? `${record}: ${killed.join(', ')}` : undefined;
}

const TAG_IN_ENVIRON = new RegExp(`(?:^|\0)${COMMAND_TAG}=([0-9a-f]{16})(?:\0|$)`);

async function processesByTag(): Promise<Map<string, number[]>> {
  const byTag = new Map<string, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const environ = await readFile(`/proc/${name}/environ`, 'latin1').catch(() => '');
    const tag = TAG_IN_ENVIRON.exec(environ)?.[1];
    if (tag) byTag.set(tag, [...(byTag.get(tag) ?? []), Number(name)]);
  }
  return byTag;
}
