import { z } from 'zod';
import { defineMethod } from './define.js';

const bytes = z.number().int().nonnegative();
const encoding = z.enum(['utf8', 'base64']);
const signalName = z.string().regex(/^SIG[A-Z0-9]+$/, 'signal must be a name like SIGTERM');

/** execve(2) takes C strings: a NUL byte would cut an argument short, so it is refused up front. */
const cString = z.string().refine((v) => !v.includes('\0'), { message: 'must not contain NUL bytes' });
/** An environment variable name: no `=` and not empty (execve could not pass it). */
const envName = cString.refine((v) => v.length > 0 && !v.includes('='), {
  message: 'environment variable names must be non-empty and contain no "="',
});

/** What to run and where; shared by exec.run and exec.start. */
const command = {
  /** Run through `/bin/sh -c` (no ~/.bashrc). */
  command: cString.min(1).optional(),
  /** Run directly, no shell: argv[0] is looked up in PATH. */
  argv: z.array(cString).min(1).optional(),
  /** Working directory: absolute or relative to home (default: home). */
  cwd: cString.min(1).optional(),
  /** Added to (or, with clearEnv, replacing) Klient's environment. */
  env: z.record(envName, cString).optional(),
  clearEnv: z.boolean().default(false),
};
const exactlyOne = (p: { command?: string; argv?: string[] }) =>
  (p.command === undefined) !== (p.argv === undefined);
const exactlyOneMessage = {
  message: 'give exactly one of command (shell string) or argv',
  path: ['command'],
};

const exit = {
  /** Null when the process was ended by a signal. */
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
};

/** exec.*: run processes on the machine as the Klient user. */
export const execMethods = {
  'exec.run': defineMethod({
    summary: 'Run a command to completion and answer with its output (capped), exit code and signal.',
    access: 'write',
    params: z
      .object({
        ...command,
        stdin: z.string().optional(),
        stdinEncoding: encoding.default('utf8'),
        /** Kill the process group after this long (answer has timedOut: true). */
        timeoutMs: z.number().int().min(1).max(86_400_000).default(60_000),
        /** Per stream; output beyond it is dropped and flagged truncated. */
        maxOutputBytes: z
          .number()
          .int()
          .min(0)
          .max(8 * 1024 * 1024)
          .default(1024 * 1024),
        /** base64 for binary output. */
        encoding: encoding.default('utf8'),
      })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({
      ...exit,
      stdout: z.string(),
      stderr: z.string(),
      encoding,
      stdoutTruncated: z.boolean(),
      stderrTruncated: z.boolean(),
      timedOut: z.boolean(),
    }),
  }),
  'exec.start': defineMethod({
    summary:
      'Start a process; stdout and stderr arrive as binary frames on two streams, each ending with the exit.',
    access: 'write',
    streams: true,
    params: z
      .object({ ...command, timeoutMs: z.number().int().min(1).max(604_800_000).optional() })
      .strict()
      .refine(exactlyOne, exactlyOneMessage),
    result: z.object({
      id: z.string(),
      pid: z.number().int(),
      /** Stream ids; both end with `{ exitCode, signal, timedOut }`. */
      stdout: z.number().int(),
      stderr: z.number().int(),
    }),
  }),
  'exec.write': defineMethod({
    summary: 'Write to a started process’s stdin, and/or close it (EOF).',
    access: 'write',
    params: z
      .object({
        id: z.string(),
        data: z.string().optional(),
        encoding: encoding.default('utf8'),
        close: z.boolean().default(false),
      })
      .strict(),
    result: z.object({ written: bytes, closed: z.boolean() }),
  }),
  'exec.kill': defineMethod({
    summary: 'Signal a started process’s whole process group (default SIGTERM).',
    access: 'write',
    params: z.object({ id: z.string(), signal: signalName.default('SIGTERM') }).strict(),
    result: z.object({ signalled: z.boolean() }),
  }),
  'exec.list': defineMethod({
    summary: 'Processes started with exec.start that are still running.',
    // Command lines can carry secrets (`mysql -p…`): only those who may run commands see them.
    access: 'write',
    params: z.object({}).strict().optional(),
    result: z.object({
      processes: z.array(
        z.object({
          id: z.string(),
          pid: z.number().int(),
          command: z.string().optional(),
          argv: z.array(z.string()).optional(),
          cwd: z.string(),
          startedAt: z.number().int(),
        }),
      ),
    }),
  }),
} satisfies Record<string, ReturnType<typeof defineMethod>>;
