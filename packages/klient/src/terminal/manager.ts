import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { errors } from '../errors.js';
import { type SessionInfo, TerminalSession } from './session.js';
import { loginShell, resolveCwd, resolveProgram, sessionEnv, shellArgs } from './shell.js';
import type { Viewer, ViewerLimits, ViewerSink } from './viewer.js';

export interface TerminalManagerOptions {
  /** A session nobody watches and nothing happens in for this long is ended. */
  idleReapMs: number;
  /** Sessions one user (`sub`) may have at once. */
  maxSessionsPerUser: number;
  /** Lines of scrollback kept per session (and sent on attach). */
  scrollback: number;
  /** Program for sessions that do not name one (default: the user's login shell). */
  shell: string;
  /** Default working directory, and the base of relative ones (default: the user's home). */
  home: string;
  /** Resize requests within this window are applied once, with the last size. */
  resizeCoalesceMs: number;
  /** Output waiting for the screen model beyond this pauses the PTY. */
  modelBacklogChars: number;
  /** After a hangup, a shell still alive this long later gets SIGKILL. */
  killGraceMs: number;
  viewer: ViewerLimits;
  /** Called on every input (Klient marks user activity for klient.usage). */
  onInput?: () => void;
  log?: Logger;
}

/** The defaults, written once; Klient's config module overrides them from flags and environment. */
export const terminalDefaults: Omit<TerminalManagerOptions, 'shell' | 'home' | 'onInput' | 'log'> = {
  idleReapMs: 12 * 60 * 60 * 1000,
  maxSessionsPerUser: 16,
  // tmux's default history; a 120-column line costs ~1.4 KB in the model and is sent on attach.
  scrollback: 2000,
  resizeCoalesceMs: 30,
  modelBacklogChars: 256 * 1024,
  killGraceMs: 5000,
  viewer: { batchChars: 64 * 1024, pauseChars: 128 * 1024, dropChars: 1024 * 1024 },
};

export interface CreateSessionParams {
  owner: string;
  shell?: string;
  args?: string[];
  login?: boolean;
  cwd?: string;
  env?: Record<string, string>;
  cols: number;
  rows: number;
  name?: string;
}

/**
 * Owns every PTY session of this Klient. Sessions outlive the connections that created or watch
 * them; they end when their shell exits, when killed, when idle past `idleReapMs`, or with
 * `close()` (Klient shutting down).
 */
export class TerminalManager {
  private readonly options: TerminalManagerOptions;
  private readonly sessions = new Map<string, TerminalSession>();
  private readonly reaper: NodeJS.Timeout;

  constructor(options: Partial<TerminalManagerOptions> = {}) {
    this.options = { ...terminalDefaults, shell: loginShell(), home: homedir(), ...options };
    validate(this.options);
    const every = Math.min(60_000, Math.max(10, Math.floor(this.options.idleReapMs / 4)));
    this.reaper = setInterval(() => this.reapIdle(), every);
    this.reaper.unref();
  }

  /** Start a session. Bad shell or cwd, or the owner at the cap: a clear error and nothing started. */
  create(params: CreateSessionParams): SessionInfo {
    const file = resolveProgram(params.shell ?? this.options.shell);
    const cwd = resolveCwd(params.cwd, this.options.home);
    const owned = [...this.sessions.values()].filter((s) => s.owner === params.owner).length;
    if (owned >= this.options.maxSessionsPerUser) {
      throw errors.rateLimited(
        `${params.owner} already has ${owned} terminal sessions, the most allowed; kill one with terminal.kill`,
        { limit: this.options.maxSessionsPerUser },
      );
    }
    const id = randomBytes(9).toString('base64url');
    const session = new TerminalSession({
      id,
      name: params.name ?? basename(file),
      owner: params.owner,
      spawn: {
        file,
        args: params.args ?? shellArgs(file, params.login ?? false),
        cwd,
        env: sessionEnv(params.env),
        cols: params.cols,
        rows: params.rows,
      },
      scrollback: this.options.scrollback,
      resizeCoalesceMs: this.options.resizeCoalesceMs,
      modelBacklogChars: this.options.modelBacklogChars,
      killGraceMs: this.options.killGraceMs,
      viewerLimits: this.options.viewer,
      onEnded: (s) => {
        this.sessions.delete(s.id);
        this.options.log?.info({ session: s.id, owner: s.owner }, 'terminal session ended');
      },
    });
    this.sessions.set(id, session);
    this.options.log?.info(
      { session: id, owner: params.owner, pid: session.pid, shell: file },
      'terminal session started',
    );
    return session.info();
  }

  /** Every live session, oldest first. */
  list(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  /** The session, or NotFound naming the id. */
  get(id: string): TerminalSession {
    const session = this.sessions.get(id);
    if (!session || session.isEnded) {
      throw errors.notFound(`no terminal session ${id}; terminal.list shows the live ones`, {
        sessionId: id,
      });
    }
    return session;
  }

  attach(id: string, sink: ViewerSink, readOnly: boolean): Viewer {
    return this.get(id).attach(sink, readOnly);
  }

  /** Type into a session through one of its writer viewers; read-only viewers are refused. */
  input(id: string, viewer: Viewer | undefined, data: string): void {
    this.get(id).input(viewer, data);
    this.options.onInput?.();
  }

  /** Resize a session through one of its writer viewers (coalesced; the last size wins). */
  resize(id: string, viewer: Viewer | undefined, cols: number, rows: number): void {
    this.get(id).requestResize(viewer, cols, rows);
  }

  /** End every session (Klient is shutting down); viewers are told so. */
  close(): void {
    clearInterval(this.reaper);
    for (const session of [...this.sessions.values()]) session.terminate({ reason: 'shutdown' });
  }

  private reapIdle(): void {
    const now = Date.now();
    for (const session of [...this.sessions.values()]) {
      const since = session.idleSince;
      if (since !== null && now - since >= this.options.idleReapMs) {
        this.options.log?.info({ session: session.id, idleMs: now - since }, 'reaping idle terminal session');
        session.terminate({ reason: 'shutdown' });
      }
    }
  }
}

function validate(o: TerminalManagerOptions): void {
  const positive: Array<[string, number]> = [
    ['idleReapMs', o.idleReapMs],
    ['maxSessionsPerUser', o.maxSessionsPerUser],
    ['resizeCoalesceMs', o.resizeCoalesceMs],
    ['modelBacklogChars', o.modelBacklogChars],
    ['killGraceMs', o.killGraceMs],
    ['viewer.batchChars', o.viewer.batchChars],
    ['viewer.pauseChars', o.viewer.pauseChars],
  ];
  for (const [name, value] of positive) {
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`terminal option ${name} must be a positive number`);
  }
  if (!Number.isInteger(o.scrollback) || o.scrollback < 0) {
    throw new Error('terminal option scrollback must be a whole number of lines, 0 or more');
  }
  if (o.viewer.dropChars <= o.viewer.pauseChars) {
    throw new Error('terminal option viewer.dropChars must be larger than viewer.pauseChars');
  }
}
