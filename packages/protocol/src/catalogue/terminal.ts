import { z } from 'zod';
import { defineMethod } from './define.js';

const sessionId = z.string().min(1).max(64);
const cols = z.number().int().min(2).max(1000);
const rows = z.number().int().min(1).max(1000);
const name = z.string().trim().min(1).max(128);
const signalName = z.string().regex(/^SIG[A-Z0-9]+$/, 'signal must be a name like SIGHUP');
/** Text handed to the OS as a C string (program, argument, path, environment). */
const osString = z.string().refine((v) => !v.includes('\0'), 'must not contain NUL characters');

/** One PTY session as `terminal.list` and `terminal.create` describe it. */
export const terminalSessionSchema = z.object({
  id: sessionId,
  name: z.string(),
  /** The shell's process id on the machine. */
  pid: z.number().int(),
  /** `sub` of the principal that created it; the per-user session cap counts these. */
  owner: z.string(),
  cols: z.number().int(),
  rows: z.number().int(),
  /** Viewers attached now (read-only ones included). */
  viewers: z.number().int().nonnegative(),
  /** Epoch milliseconds. */
  createdAt: z.number().int(),
  /** Epoch milliseconds of the last input or output. */
  lastActivityAt: z.number().int(),
});

/**
 * What a viewer's stream carries, in order, as `stream.data` values. The first value is always a
 * `screen`; another `screen` comes whenever the viewer fell so far behind that Klient dropped its
 * backlog (the viewer resets its terminal and continues from the new screen).
 */
export const terminalStreamEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('screen'),
    /**
     * Escape sequences that rebuild the screen on a reset terminal of `cols` x `rows`: scrollback,
     * the alternate screen if active, cursor position and style, and terminal modes.
     */
    screen: z.string(),
    cols: z.number().int(),
    rows: z.number().int(),
  }),
  /** Terminal output; always whole UTF-8 characters. */
  z.object({ type: z.literal('output'), data: z.string() }),
  /** The PTY's size changed here, between the output before and after it. */
  z.object({ type: z.literal('resize'), cols: z.number().int(), rows: z.number().int() }),
]);

/** The `final` value of a viewer's `stream.end`: why the stream ended. */
export const terminalStreamEndSchema = z.discriminatedUnion('reason', [
  /** The shell ended; sent after all of its output. `exitCode` is null when a signal ended it. */
  z.object({
    reason: z.literal('exit'),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
  }),
  z.object({ reason: z.literal('detached') }),
  /** Klient is shutting down; its sessions end with it. */
  z.object({ reason: z.literal('shutdown') }),
]);

const sessionRef = z.object({ sessionId }).strict();

/** terminal.*: PTY sessions that outlive the connection, with screens rebuilt on attach. */
export const terminalMethods = {
  'terminal.create': defineMethod({
    summary: 'Start a shell on a new PTY session; it runs until it exits or is killed, attached or not.',
    access: 'write',
    params: z
      .object({
        /** Program to run (default: the user's login shell). */
        shell: osString.pipe(z.string().min(1)).optional(),
        /**
         * Arguments, verbatim. Without them a known shell starts interactive but skips its rc files
         * (`bash --norc`, `zsh -f`, `fish --no-config`); with `login: true` it starts as a login shell.
         */
        args: z.array(osString).max(1024).optional(),
        login: z.boolean().default(false),
        /** Absolute, or relative to the home directory (default: home). */
        cwd: osString.pipe(z.string().min(1)).optional(),
        /** Added to the session's environment (TERM=xterm-256color unless given here). */
        env: z
          .record(z.string().regex(/^[^=\0]+$/, 'variable names must not contain = or NUL'), osString)
          .optional(),
        cols: cols.default(80),
        rows: rows.default(24),
        name: name.optional(),
      })
      .strict(),
    result: terminalSessionSchema,
  }),
  'terminal.attach': defineMethod({
    summary:
      'Watch a session: a stream that starts with the current screen and continues with live output. ' +
      'Tokens with the readonly scope must pass readOnly: true.',
    // Read-only attaching is a read; the handler refuses readOnly: false to readonly tokens.
    access: 'read',
    streams: true,
    params: z
      .object({
        sessionId,
        readOnly: z.boolean().default(false),
        /** The viewer's size; a writer's size is applied to the PTY (the latest writer wins). */
        cols: cols.optional(),
        rows: rows.optional(),
      })
      .strict(),
    result: z.object({
      streamId: z.number().int(),
      readOnly: z.boolean(),
      session: terminalSessionSchema,
    }),
  }),
  'terminal.input': defineMethod({
    summary: 'Type into a session this connection is attached to as a writer.',
    access: 'write',
    params: z
      .object({
        sessionId,
        data: z
          .string()
          .min(1)
          .max(1024 * 1024),
      })
      .strict(),
    result: z.object({}),
  }),
  'terminal.resize': defineMethod({
    summary:
      'Resize a session this connection is attached to as a writer; bursts are coalesced, the last size wins.',
    access: 'write',
    params: z.object({ sessionId, cols, rows }).strict(),
    result: z.object({}),
  }),
  'terminal.detach': defineMethod({
    summary: 'Stop watching a session; it keeps running. Read-only viewers may detach too.',
    access: 'read',
    params: sessionRef,
    result: z.object({ detached: z.boolean() }),
  }),
  'terminal.kill': defineMethod({
    summary:
      'Signal a session’s shell (default SIGHUP); viewers get its exit after its last output. ' +
      'Only the session’s creator or an owner-scope token may.',
    access: 'write',
    params: z.object({ sessionId, signal: signalName.default('SIGHUP') }).strict(),
    result: z.object({ signalled: z.boolean() }),
  }),
  'terminal.list': defineMethod({
    summary: 'Every session on the machine, oldest first.',
    access: 'read',
    params: z.object({}).strict().optional(),
    result: z.object({ sessions: z.array(terminalSessionSchema) }),
  }),
  'terminal.rename': defineMethod({
    summary: 'Rename a session. Only its creator or an owner-scope token may.',
    access: 'write',
    params: z.object({ sessionId, name }).strict(),
    result: terminalSessionSchema,
  }),
} satisfies Record<string, ReturnType<typeof defineMethod>>;
