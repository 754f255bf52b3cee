import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { markActivity } from '../activity.js';
import { type Journal, startTimeOfSync, unrecorded } from '../crash-journal.js';
import { errors } from '../errors.js';
import {
  type CommandSpec,
  type PreparedCommand,
  prepareCommand,
  signalGroup,
  spawnFailure,
} from './command.js';
import { groupRecord } from './left-groups.js';

export interface Exit {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
}

export interface StartedProcess {
  id: string;
  pid: number;
  child: ChildProcess;
  display: { command?: string; argv?: string[]; cwd: string };
  startedAt: number;
  /** Settles when the process has exited and its output pipes have closed. */
  exited: Promise<Exit>;
}

/** How long a process asked to stop (SIGTERM) gets before its group is SIGKILLed. */
const KILL_GRACE_MS = 3000;

/**
 * The processes started with exec.start, by id, and the process groups of every command Klient
 * runs (exec.run's too). Every command leads its own process group, so exec.kill and Klient's
 * own exit reach its children too; none outlives Klient: each group is in `journal` while it
 * runs, so one that a killed Klient could not kill is killed at the next start (left-groups.ts).
 */
export class ProcessTable {
  private readonly processes = new Map<string, StartedProcess>();
  /** Leader pid → how many tracked commands it stands for (a pid may be reused before a 'close'). */
  private readonly groups = new Map<number, number>();

  constructor(private readonly journal: Journal = unrecorded) {}

  /**
   * Starts a prepared command and keeps the group it leads (and, by its tag, what it starts)
   * until the returned `untrack`: killed on Klient's exit, and recorded for the next start. The
   * leader's start time is read right after spawn() (see startTimeOfSync), so every command
   * Klient runs is started here.
   */
  spawn(prepared: PreparedCommand): { child: ChildProcess; untrack: () => void } {
    const child = spawn(prepared.file, prepared.args, prepared.options);
    const pid = child.pid;
    const started = pid === undefined ? undefined : startTimeOfSync(pid);
    if (pid === undefined || started === undefined) return { child, untrack: () => {} };
    this.groups.set(pid, (this.groups.get(pid) ?? 0) + 1);
    // Not awaited: a command does not wait for its record; a crash before it is written (well
    // under a millisecond) leaks that one command.
    const recorded = this.journal.record(groupRecord(pid, started, prepared.tag));
    let done = false;
    const untrack = () => {
      if (done) return;
      done = true;
      const left = (this.groups.get(pid) ?? 1) - 1;
      if (left > 0) this.groups.set(pid, left);
      else this.groups.delete(pid);
      void recorded.then((drop) => drop());
    };
    return { child, untrack };
  }

  async start(spec: CommandSpec & { timeoutMs?: number }, home: string): Promise<StartedProcess> {
    markActivity();
    const prepared = await prepareCommand(spec, home);
    const { child, untrack } = this.spawn(prepared);
    child.stdin!.on('error', () => {}); // EPIPE when the process stops reading: exec.write reports it
    try {
      await once(child, 'spawn');
    } catch (err) {
      untrack();
      throw spawnFailure(err, prepared.file);
    }
    const pid = child.pid!;
    let timedOut = false;
    const timer =
      spec.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            signalGroup(pid, 'SIGKILL');
          }, spec.timeoutMs);
    const id = randomUUID();
    const exited = new Promise<Exit>((resolve) => {
      child.once('close', (exitCode, signal) => {
        if (timer) clearTimeout(timer);
        this.processes.delete(id);
        untrack();
        resolve({ exitCode, signal, timedOut });
      });
    });
    const started: StartedProcess = {
      id,
      pid,
      child,
      display: prepared.display,
      startedAt: Date.now(),
      exited,
    };
    this.processes.set(id, started);
    return started;
  }

  get(id: string): StartedProcess {
    const started = this.processes.get(id);
    if (!started) throw errors.notFound(`no running process with id ${id} (it may have exited)`, { id });
    return started;
  }

  list(): StartedProcess[] {
    return [...this.processes.values()];
  }

  /** SIGTERM the group, SIGKILL it if it is still there after a grace period. */
  terminate(id: string): void {
    const started = this.processes.get(id);
    if (!started) return;
    signalGroup(started.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(started.pid, 'SIGKILL'), KILL_GRACE_MS);
    timer.unref();
    void started.exited.then(() => clearTimeout(timer));
  }

  /** Kill every group now (Klient is exiting); synchronous so it works in an 'exit' handler. */
  killAll(): void {
    for (const pid of this.groups.keys()) {
      try {
        signalGroup(pid, 'SIGKILL');
      } catch {
        // Not ours to signal any more (every member changed its uid): the others still go.
      }
    }
  }
}
