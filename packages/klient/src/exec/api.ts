import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import type { HandlerMap } from '@kk/protocol/peer.js';
import type { StreamSender } from '@kk/protocol/streams/sender.js';
import { markActivity } from '../activity.js';
import type { KlientContext } from '../context.js';
import { errors } from '../errors.js';
import { decodeContent, encodeContent } from '../fs/content.js';
import { signalGroup } from './command.js';
import type { Exit } from './process-table.js';
import { runCommand } from './run.js';

/** Output is text unless asked otherwise; bytes that are not UTF-8 become U+FFFD, never an error. */
function encodeOutput(bytes: Buffer, encoding: 'utf8' | 'base64'): string {
  return encoding === 'utf8' ? bytes.toString('utf8') : encodeContent(bytes, 'base64');
}

/**
 * Forward one pipe to one stream. Reading pauses while the socket is above its high-water mark,
 * so a process that writes faster than the caller reads is slowed by its full pipe rather than
 * by Klient's memory. After the reader cancels, output is still drained (and dropped) so the
 * process does not block.
 */
async function forward(pipe: Readable, stream: StreamSender): Promise<void> {
  for await (const chunk of pipe) {
    if (stream.finished) continue;
    await stream.ready();
    stream.write(chunk as Buffer);
  }
}

/** exec.*: the wire to processes. */
export function execHandlers({ config, log, processes }: KlientContext): HandlerMap {
  return {
    'exec.run': async (p, call) => {
      const stdin = p.stdin === undefined ? undefined : decodeContent(p.stdin, p.stdinEncoding, 'stdin');
      const result = await runCommand({ ...p, stdin }, config.home, processes, call.signal);
      return {
        ...result,
        stdout: encodeOutput(result.stdout, p.encoding),
        stderr: encodeOutput(result.stderr, p.encoding),
        encoding: p.encoding,
      };
    },
    'exec.start': async (p, call) => {
      const started = await processes.start(p, config.home);
      // A process belongs to the connection that started it, like a command over ssh.
      call.peer.onClose(() => processes.terminate(started.id));
      const stdout = call.openStream();
      const stderr = call.openStream();
      void Promise.all([forward(started.child.stdout!, stdout), forward(started.child.stderr!, stderr)])
        .then(() => started.exited)
        .then(
          (exit: Exit) => {
            stdout.end(exit);
            stderr.end(exit);
          },
          (err: unknown) => {
            log.error({ err, id: started.id }, 'exec output forwarding failed');
            processes.terminate(started.id);
            stdout.fail(errors.internal());
            stderr.fail(errors.internal());
          },
        );
      return { id: started.id, pid: started.pid, stdout: stdout.id, stderr: stderr.id };
    },
    'exec.write': async (p) => {
      const { child } = processes.get(p.id);
      const stdin = child.stdin!;
      const bytes = p.data === undefined ? undefined : decodeContent(p.data, p.encoding, 'data');
      if (bytes && bytes.length > 0) {
        if (stdin.writableEnded || stdin.destroyed)
          throw errors.invalidState(`stdin of process ${p.id} is already closed`);
        markActivity();
        await new Promise<void>((resolve, reject) =>
          stdin.write(bytes, (err) =>
            err ? reject(errors.invalidState(`process ${p.id} is no longer reading its stdin`)) : resolve(),
          ),
        );
      }
      if (p.close && !stdin.writableEnded) stdin.end();
      return { written: bytes?.length ?? 0, closed: stdin.writableEnded };
    },
    'exec.kill': async (p) => {
      if (!(p.signal in constants.signals)) throw errors.invalidParams(`unknown signal ${p.signal}`);
      const started = processes.get(p.id);
      markActivity();
      return { signalled: signalGroup(started.pid, p.signal as NodeJS.Signals) };
    },
    'exec.list': () => ({
      processes: processes
        .list()
        .map(({ id, pid, display, startedAt }) => ({ id, pid, startedAt, ...display })),
    }),
  };
}
