import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { markActivity } from '../activity.js';
import { errors } from '../errors.js';
import { type CommandSpec, prepareCommand, signalGroup, spawnFailure } from './command.js';

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
 * The processes started with exec.start, by id. Every one leads its own process group, so
 * exec.kill and Klient's own exit reach its children too; none outlives Klient.
 */
export class ProcessTable {
  private readonly processes = new Map<string, StartedProcess>();

  async start(spec: CommandSpec & { timeoutMs?: number }, home: string): Promise<StartedProcess> {
    markActivity();
    const prepared = await prepareCommand(spec, home);
    const child = spawn(prepared.file, prepared.args, prepared.options);
    child.stdin!.on('error', () => {}); // EPIPE when the process stops reading: exec.write reports it
    try {
      await once(child, 'spawn');
    } catch (err) {
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
    for (const started of this.processes.values()) signalGroup(started.pid, 'SIGKILL');
  }
}
